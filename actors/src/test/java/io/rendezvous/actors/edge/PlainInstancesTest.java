package io.rendezvous.actors.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.rendezvous.model.TensorData;
import io.rendezvous.model.TensorSpec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The byte-level reader must never disagree with the full JSON parser: whatever it accepts, the
 * full parser accepts with bit-identical floats; whatever it does not, falls through to the full
 * parser.
 */
class PlainInstancesTest {
  private static final int FEATURES = 6;
  private static final int MAX_INSTANCES = 3;
  private static final TensorSpec SPEC =
      new TensorSpec("input", TensorData.FLOAT32, List.of(-1L, (long) FEATURES));
  private static final InputDecoder DECODER =
      new InputDecoder(Json.MAPPER, new InputLimits(MAX_INSTANCES, 4096, 16_777_216));
  private static final String[] SPACE = {"", "", "", " ", "\n", "\t", "\r\n  "};
  private static final String MUTATIONS = "0123456789-+.eE,[]{}\" :xn";

  @Test
  void plainBodiesAreReadWithExactlyTheFullParsersValues() throws Exception {
    SplittableRandom random = new SplittableRandom(7);
    for (int round = 0; round < 20_000; round++) {
      String body = plainBody(random, 1 + random.nextInt(MAX_INSTANCES));
      List<float[]> fast = read(body);
      assertNotNull(fast, body);
      assertSame(DECODER.instancesByFullParser(bytes(body), SPEC), fast, body);
    }
  }

  @Test
  void numbersAreTheFloatsTheJdkParses() {
    // an independent reference: both readers share the fast decimal conversion, the JDK does not
    SplittableRandom random = new SplittableRandom(5);
    for (int round = 0; round < 20_000; round++) {
      String[] numbers = new String[FEATURES];
      for (int k = 0; k < FEATURES; k++) {
        numbers[k] = number(random);
      }
      List<float[]> fast = read("{\"instances\":[[" + String.join(",", numbers) + "]]}");
      assertNotNull(fast, String.join(",", numbers));
      for (int k = 0; k < FEATURES; k++) {
        assertEquals(
            Float.floatToRawIntBits(Float.parseFloat(numbers[k])),
            Float.floatToRawIntBits(fast.get(0)[k]),
            numbers[k]);
      }
    }
  }

  @Test
  void mutatedBodiesAreEitherReadAlikeOrLeftToTheFullParser() {
    SplittableRandom random = new SplittableRandom(11);
    int acceptedByBoth = 0;
    int leftToFullParser = 0;
    for (int round = 0; round < 50_000; round++) {
      StringBuilder b = new StringBuilder(plainBody(random, 1 + random.nextInt(MAX_INSTANCES)));
      for (int m = 1 + random.nextInt(2); m > 0; m--) {
        int at = random.nextInt(b.length() + 1);
        char c = MUTATIONS.charAt(random.nextInt(MUTATIONS.length()));
        switch (random.nextInt(4)) {
          case 0 -> b.insert(at, c);
          case 1 -> b.setLength(at);
          default -> {
            if (at < b.length()) {
              b.setCharAt(at, c);
            }
          }
        }
      }
      String body = b.toString();
      List<float[]> fast = read(body);
      List<TensorData> full;
      try {
        full = DECODER.instancesByFullParser(bytes(body), SPEC);
      } catch (InvalidInput e) {
        assertNull(fast, "accepted what the full parser refuses (" + e.getMessage() + "): " + body);
        leftToFullParser++;
        continue;
      }
      if (fast == null) {
        leftToFullParser++;
      } else {
        assertSame(full, fast, body);
        acceptedByBoth++;
      }
    }
    // both sides of the property were exercised
    assertTrue(acceptedByBoth > 1_000, "accepted by both: " + acceptedByBoth);
    assertTrue(leftToFullParser > 1_000, "left to the full parser: " + leftToFullParser);
  }

  @Test
  void numbersBeyondTheFastPathAreReadFromTheirTextExactly() {
    for (String last :
        new String[] {
          "1e0", // exponent
          "-2.5E-3",
          "0.12345678901234567891", // more digits than a long holds exactly
          "0.52941176470588236", // 17 significant digits, as Python and numpy write them
          "9007199254740993", // beyond 2^53
          "0.00000000000000000000001", // power of ten beyond the exact path
          "-0.0",
          "-0"
        }) {
      List<float[]> fast = read("{\"instances\":[[1,2,3,4,5," + last + "]]}");
      assertNotNull(fast, last);
      assertEquals(
          Float.floatToRawIntBits(Float.parseFloat(last)),
          Float.floatToRawIntBits(fast.get(0)[5]),
          last);
    }
  }

  @Test
  void whatItDoesNotTakeTheFullParserStillReads() throws Exception {
    String six = "1,2,3,4,5,6";
    for (String body :
        new String[] {
          "{\"instances\":[[[1,2,3],[4,5,6]]]}", // nested
          "{\"id\":\"a\",\"instances\":[[" + six + "]]}", // another field
          "\uFEFF{\"instances\":[[" + six + "]]}", // byte-order mark
          "{\"instances\" : [ [ " + six + " ] ] , \"x\":1}"
        }) {
      assertNull(read(body), body);
      assertEquals(
          FEATURES * Float.BYTES, DECODER.instances(bytes(body), SPEC).get(0).data().length, body);
    }
  }

  @Test
  void wrongBodiesGetTheFullParsersErrors() {
    for (String body :
        new String[] {
          "{\"instances\":[[1,2,3]]}",
          "{\"instances\":[[1,2,3,4,5,3.5e38]]}", // beyond float32
          "{\"instances\":[]}",
          "{\"instances\":[[01,2,3,4,5,6]]}",
          "{\"instances\":[[1,2,3,4,5,6],[1,2,3,4,5,6],[1,2,3,4,5,6],[1,2,3,4,5,6]]}",
          "{\"instances\":[[1,2,3,4,5,6]]} x",
          "{\"instances\":[[1,2,3,4,5,-]]}",
          "{\"instances\":[[1.,2,3,4,5,6]]}"
        }) {
      assertNull(read(body), body);
      try {
        DECODER.instances(bytes(body), SPEC);
        fail("accepted " + body);
      } catch (InvalidInput e) {
        assertTrue(
            e.kind() == InvalidInput.Kind.MALFORMED || e.kind() == InvalidInput.Kind.TOO_LARGE,
            body + ": " + e.kind());
      }
    }
  }

  private static List<float[]> read(String body) {
    return PlainInstances.read(bytes(body), FEATURES, MAX_INSTANCES);
  }

  private static void assertSame(List<TensorData> full, List<float[]> fast, String body) {
    assertEquals(full.size(), fast.size(), body);
    for (int i = 0; i < full.size(); i++) {
      float[] expected = full.get(i).asFloats();
      int[] expectedBits = new int[expected.length];
      int[] actualBits = new int[expected.length];
      for (int k = 0; k < expected.length; k++) {
        expectedBits[k] = Float.floatToRawIntBits(expected[k]);
        actualBits[k] = Float.floatToRawIntBits(fast.get(i)[k]);
      }
      assertArrayEquals(expectedBits, actualBits, body);
    }
  }

  /** A body of {@code n} instances, numbers as clients print them, with random JSON whitespace. */
  private static String plainBody(SplittableRandom random, int n) {
    StringBuilder b =
        new StringBuilder(space(random))
            .append('{')
            .append(space(random))
            .append("\"instances\"")
            .append(space(random))
            .append(':')
            .append(space(random))
            .append('[');
    for (int i = 0; i < n; i++) {
      b.append(i > 0 ? "," : "").append(space(random)).append('[');
      for (int k = 0; k < FEATURES; k++) {
        b.append(k > 0 ? "," : "")
            .append(space(random))
            .append(number(random))
            .append(space(random));
      }
      b.append(']').append(space(random));
    }
    return b.append(']').append(space(random)).append('}').append(space(random)).toString();
  }

  private static String number(SplittableRandom random) {
    return switch (random.nextInt(6)) {
      case 0 -> Float.toString(random.nextInt(256) / 255f).replace("E", "e");
      case 1 -> Integer.toString(random.nextInt(-1000, 1000));
      case 2 ->
          (random.nextBoolean() ? "-" : "")
              + random.nextInt(1000)
              + "."
              + random.nextInt(1_000_000);
      case 3 -> "0." + "0".repeat(random.nextInt(21)) + random.nextInt(1, 10);
      case 4 -> random.nextBoolean() ? "-0" : "0.0";
      default -> Long.toString(random.nextLong((1L << 53) + 1));
    };
  }

  private static String space(SplittableRandom random) {
    return SPACE[random.nextInt(SPACE.length)];
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
