package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The edge's adaptive limit, on a test clock. */
class ConcurrencyLimitTest {
  static final long MS = 1_000_000L;

  @Test
  void answersInTimeRaiseTheLimitByAboutOnePerRound() {
    ConcurrencyLimit l = new ConcurrencyLimit(8, 32, 256, 25 * MS, 0.1);
    long now = 0;
    // a round and a bit: 40 requests answered in 10 ms each add 1/limit
    for (int i = 0; i < 40; i++) {
      l.completed(10 * MS, now += MS);
    }
    assertEquals(33, l.current());
    for (int i = 0; i < 100_000; i++) {
      l.completed(10 * MS, now += MS);
    }
    assertEquals(256, l.current(), "never past max-in-flight");
  }

  @Test
  void aSlowAnswerTakesATenthOffAtMostOncePerTargetLatency() {
    ConcurrencyLimit l = new ConcurrencyLimit(8, 100, 256, 25 * MS, 0.1);
    l.completed(40 * MS, 1_000 * MS);
    assertEquals(90, l.current());
    // the rest of that slow round does not collapse it
    for (int i = 0; i < 50; i++) {
      l.completed(40 * MS, 1_000 * MS + i * 100_000L);
    }
    assertEquals(90, l.current());
    // a target latency later, another slow answer counts again
    l.completed(40 * MS, 1_026 * MS);
    assertEquals(81, l.current());
    for (int i = 0; i < 100; i++) {
      l.completed(40 * MS, (1_100 + 30 * i) * MS);
    }
    assertEquals(8, l.current(), "never under min-in-flight");
  }

  @Test
  void boundsAreKeptWhateverIsConfigured() {
    // a fixed limit of 2, as a test or a tiny node sets it
    ConcurrencyLimit fixed = new ConcurrencyLimit(8, 32, 2, 25 * MS, 0.1);
    assertEquals(2, fixed.current());
    fixed.completed(MS, MS);
    fixed.completed(100 * MS, 200 * MS);
    assertEquals(2, fixed.current());
    assertTrue(new ConcurrencyLimit(0, 0, 0, 25 * MS, 0.1).current() >= 1);
  }
}
