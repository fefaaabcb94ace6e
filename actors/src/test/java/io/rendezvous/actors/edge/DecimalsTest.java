package io.rendezvous.actors.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DecimalsTest {
  static double parse(String s) {
    return Decimals.parse(s.toCharArray(), 0, s.length());
  }

  @Test
  void plainDecimalsGiveExactlyWhatTheFullParserGives() {
    SplittableRandom random = new SplittableRandom(42);
    for (int i = 0; i < 200_000; i++) {
      // pixels as clients send them (k/255 printed as float), and arbitrary short decimals
      String s =
          i % 2 == 0
              ? Float.toString(random.nextInt(256) / 255f)
              : (random.nextBoolean() ? "-" : "")
                  + random.nextLong(1_000_000_000L)
                  + "."
                  + random.nextInt(1_000_000);
      if (s.contains("E")) {
        continue;
      }
      double expected = Double.parseDouble(s);
      assertEquals(expected, parse(s), s);
      assertEquals((float) expected, (float) parse(s), s);
    }
    for (String s :
        new String[] {
          "0",
          "-0",
          "0.0",
          "1",
          "255",
          "0.5294118",
          "3.4028235",
          "9007199254740992",
          "0.0000000000000000000001",
          "-17.25"
        }) {
      assertEquals(Double.parseDouble(s), parse(s), s);
    }
    assertEquals(Double.doubleToLongBits(-0.0), Double.doubleToLongBits(parse("-0.0")));
  }

  @Test
  void anythingElseIsLeftToTheFullParser() {
    for (String s :
        new String[] {
          "1e5",
          "1.5E-3",
          "9007199254740993",
          "1234567890123456789",
          "",
          "-",
          ".",
          "0.00000000000000000000001",
          "1.2.3",
          "nan"
        }) {
      assertTrue(Double.isNaN(parse(s)), s);
    }
  }
}
