package io.rendezvous.actors.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rendezvous.model.TensorData;
import io.rendezvous.model.TensorSpec;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Every way a number reaches a model (the plain-body reader, the full JSON parser, the conversion
 * both share) gives exactly the float {@link Float#parseFloat} gives for the same text: no double
 * rounding through a double, for the decimals clients write (Python's and numpy's 17 significant
 * digits, exponents, negative zero) and for the texts that sit on or next to a tie between floats.
 */
class FloatParsingTest {
  private static final TensorSpec ONE =
      new TensorSpec("input", TensorData.FLOAT32, List.of(-1L, 1L));
  private static final InputDecoder DECODER =
      new InputDecoder(Json.MAPPER, new InputLimits(1, 1, 1));

  @Test
  void randomDecimalTextsReadExactlyAsFloatParseFloat() throws Exception {
    SplittableRandom random = new SplittableRandom(2026);
    int fromText = 0;
    for (int round = 0; round < 300_000; round++) {
      String text = text(random);
      float expected = Float.parseFloat(text);
      if (!Float.isFinite(expected)) {
        continue;
      }
      assertBits(expected, Decimals.parseFloat(text.toCharArray(), 0, text.length()), text);
      List<float[]> plain = PlainInstances.read(body(text), 1, 1);
      assertNotNull(plain, text);
      assertBits(expected, plain.get(0)[0], text);
      if (round % 10 == 0) {
        // the full parser, here through a nested body the plain reader leaves to it
        byte[] nested = ("{\"instances\":[[[" + text + "]]]}").getBytes(StandardCharsets.UTF_8);
        assertBits(expected, DECODER.instances(nested, ONE).get(0).asFloats()[0], text);
      }
      double d = Decimals.parse(text.toCharArray(), 0, text.length());
      if (Double.isNaN(d) || Decimals.isFloatMidpoint(d)) {
        fromText++;
      }
    }
    // both paths were taken: the fast one and the one from the text
    assertTrue(fromText > 10_000, "read from their text: " + fromText);
  }

  @Test
  void textsOnAndNextToATieBetweenTwoFloatsRoundAsTheJdkDoes() throws Exception {
    SplittableRandom random = new SplittableRandom(17);
    int ties = 0;
    for (int round = 0; round < 20_000; round++) {
      float f = Float.intBitsToFloat(random.nextInt(0x0080_0000, 0x7f00_0000));
      // halfway between f and the next float: exact as a double, and as a decimal
      BigDecimal tie = new BigDecimal(((double) f + (double) Math.nextUp(f)) / 2);
      BigDecimal nudge = tie.ulp().movePointLeft(3);
      for (BigDecimal x : new BigDecimal[] {tie, tie.add(nudge), tie.subtract(nudge)}) {
        String text = x.toPlainString();
        if (text.length() > 400) {
          continue;
        }
        float expected = Float.parseFloat(text);
        assertBits(expected, Decimals.parseFloat(text.toCharArray(), 0, text.length()), text);
        List<float[]> plain = PlainInstances.read(body(text), 1, 1);
        assertNotNull(plain, text);
        assertBits(expected, plain.get(0)[0], text);
        ties++;
      }
      // the same tie written short enough for the fast path, as a client could print it
      String shortText = String.format(Locale.ROOT, "%.16g", tie.doubleValue()).trim();
      assertBits(
          Float.parseFloat(shortText),
          Decimals.parseFloat(shortText.toCharArray(), 0, shortText.length()),
          shortText);
    }
    assertTrue(ties > 10_000, "ties: " + ties);
  }

  @Test
  void aFastPathResultOnATieIsNotTrusted() {
    // 1 + 2^-24 is halfway between 1 and the next float: as a double it is exact, and so it is a
    // tie
    assertTrue(Decimals.isFloatMidpoint(1 + Math.scalb(1.0, -24)));
    assertTrue(!Decimals.isFloatMidpoint(1.0) && !Decimals.isFloatMidpoint(Math.nextUp(1.0)));
    // a 16-digit decimal whose nearest double is a tie between two floats, though the decimal is
    // not: through the double it rounds to even, one float off what Float.parseFloat gives
    String text = "0.004672345006838441";
    double viaDouble = Decimals.parse(text.toCharArray(), 0, text.length());
    assertTrue(Decimals.isFloatMidpoint(viaDouble));
    assertTrue((float) viaDouble != Float.parseFloat(text));
    assertBits(
        Float.parseFloat(text), Decimals.parseFloat(text.toCharArray(), 0, text.length()), text);
    assertBits(Float.parseFloat(text), PlainInstances.read(body(text), 1, 1).get(0)[0], text);
  }

  @Test
  void negativeZeroAndOutOfRangeNumbers() {
    for (String zero : new String[] {"-0", "-0.0", "-0e5", "-0.000"}) {
      assertBits(-0.0f, Decimals.parseFloat(zero.toCharArray(), 0, zero.length()), zero);
      assertBits(-0.0f, PlainInstances.read(body(zero), 1, 1).get(0)[0], zero);
    }
    // beyond float32: the plain reader leaves it to the full parser, which refuses it
    byte[] huge = body("3.5e38");
    assertEquals(null, PlainInstances.read(huge, 1, 1));
    assertThrows(InvalidInput.class, () -> DECODER.instances(huge, ONE));
  }

  /** A decimal text in one of the forms clients write, or a random one. */
  private static String text(SplittableRandom random) {
    return switch (random.nextInt(7)) {
      // a float64 printed whole, as Python's json.dumps and numpy's tolist() write it
      case 0 -> Double.toString(random.nextDouble() * Math.pow(10, random.nextInt(-8, 8)));
      // 17 significant digits
      case 1 -> String.format(Locale.ROOT, "%.17g", random.nextDouble(-1e6, 1e6)).trim();
      // a float32 printed shortest, as Java and JavaScript write it
      case 2 -> Float.toString(Float.intBitsToFloat(random.nextInt(0x0080_0000, 0x7f00_0000)));
      // a pixel scaled to 0..1
      case 3 -> Float.toString(random.nextInt(256) / 255f);
      // an exponent
      case 4 ->
          (random.nextBoolean() ? "-" : "")
              + random.nextInt(1, 10)
              + "."
              + random.nextLong(1_000_000_000_000L)
              + (random.nextBoolean() ? "e" : "E")
              + random.nextInt(-44, 38);
      // random digits with the point anywhere
      case 5 -> {
        StringBuilder b = new StringBuilder(random.nextBoolean() ? "-" : "");
        int length = random.nextInt(1, 26);
        b.append(random.nextInt(1, 10));
        for (int i = 1; i < length; i++) {
          b.append(random.nextInt(10));
        }
        int point = random.nextInt(1, b.length() + 1);
        if (point < b.length() && b.charAt(point - 1) != '-') {
          b.insert(point, '.');
        }
        yield b.toString();
      }
      default -> "0." + "0".repeat(random.nextInt(12)) + random.nextLong(1, Long.MAX_VALUE);
    };
  }

  private static byte[] body(String number) {
    return ("{\"instances\":[[" + number + "]]}").getBytes(StandardCharsets.UTF_8);
  }

  private static void assertBits(float expected, float actual, String text) {
    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual), text);
  }
}
