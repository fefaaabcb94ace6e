package io.rendezvous.actors.schedule;

import static io.rendezvous.actors.schedule.DeadlinePriorityTest.answer;
import static io.rendezvous.actors.schedule.DeadlinePriorityTest.endpoint;
import static io.rendezvous.actors.schedule.DeadlinePriorityTest.failed;
import static io.rendezvous.actors.schedule.DeadlinePriorityTest.ok;
import static io.rendezvous.actors.schedule.DeadlinePriorityTest.overloaded;
import static io.rendezvous.actors.schedule.DeadlinePriorityTest.stage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rendezvous.actors.EndpointSettings;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Thompson sampling: how often each live model is chosen follows what feedback said of it (a seeded
 * table of rewards against the exact probability that a model's posterior draw is the highest), and
 * one request's rules once the draws are made.
 */
class ThompsonSamplingTest {

  static final EndpointSettings THREE =
      endpoint(
          List.of("m1", "m2", "m3", "shadow"),
          50,
          stage("m3", 0),
          stage("m2", 15),
          stage("m1", 30));

  static final List<String> MODELS = List.of("m3", "m2", "m1");

  static Stream<Arguments> tables() {
    return Stream.of(
        // {successes, failures} of m3, m2, m1
        Arguments.of("no feedback: each as likely", new long[][] {{0, 0}, {0, 0}, {0, 0}}),
        Arguments.of("a clear winner", new long[][] {{90, 10}, {50, 50}, {10, 90}}),
        Arguments.of("close, little feedback", new long[][] {{6, 4}, {4, 6}, {5, 5}}),
        Arguments.of(
            "a new version with no feedback beside a good one is still tried",
            new long[][] {{0, 0}, {45, 5}, {20, 30}}),
        Arguments.of("a bad one fades", new long[][] {{2, 40}, {30, 12}, {28, 14}}));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("tables")
  void choiceFrequenciesFollowTheRewards(String name, long[][] table) {
    Rewards rewards = seeded(table, 7);
    int requests = 20_000;
    int[] chosen = new int[3];
    for (int i = 0; i < requests; i++) {
      Decider d = ThompsonSampling.INSTANCE.start(THREE, rewards);
      // every live model answers at once: the draws alone choose
      d.record(0, ok("m1"));
      d.record(1, ok("m2"));
      d.record(2, ok("m3"));
      Decision.Answer a = assertInstanceOf(Decision.Answer.class, d.decide(1_000));
      chosen[MODELS.indexOf(a.model())]++;
    }
    double[] expected = probabilityOfHighestDraw(table, 1, 1);
    for (int k = 0; k < 3; k++) {
      double share = (double) chosen[k] / requests;
      // 20,000 draws: the standard error of a share is at most 0.0036
      assertEquals(
          expected[k],
          share,
          0.015,
          MODELS.get(k) + " chosen " + share + " of requests, expected " + expected[k]);
    }
  }

  @Test
  void sameSeedSameChoices() {
    long[][] table = {{6, 4}, {4, 6}, {5, 5}};
    assertEquals(choices(seeded(table, 11), 200), choices(seeded(table, 11), 200));
  }

  @Test
  void feedbackOnOneVersionCountsForTheMemberNamingIt() {
    Rewards r = Rewards.uniform();
    r.record("ep", "m3", "1", true);
    r.record("ep", "m3", "2", false);
    r.record("ep", "m3", "2", false);
    r.record("other", "m3", "2", true);
    assertEquals(new Rewards.Tally(1, 0), r.of("ep", "m3@1"));
    assertEquals(new Rewards.Tally(0, 2), r.of("ep", "m3@2"));
    assertEquals(new Rewards.Tally(1, 2), r.of("ep", "m3"), "a name alone: all its versions");
    assertEquals(Rewards.Tally.NONE, r.of("ep", "m2"));
    assertEquals(
        Map.of("m3@1", new Rewards.Tally(1, 0), "m3@2", new Rewards.Tally(0, 2)), r.of("ep"));
  }

  /** A preference order fixed by hand: m1 first, then m3, then m2 (stage indices 2, 0, 1). */
  static Stream<Arguments> rules() {
    int[] m1ThenM3ThenM2 = {2, 0, 1};
    return Stream.of(
        Arguments.of(
            "the preferred model has not answered: wait",
            m1ThenM3ThenM2,
            10_000,
            null,
            new Object[] {"m3", ok("m3"), "m2", ok("m2")}),
        Arguments.of(
            "the preferred model answers",
            m1ThenM3ThenM2,
            10_000,
            answer(2, "m1"),
            new Object[] {"m3", ok("m3"), "m1", ok("m1")}),
        Arguments.of(
            "the preferred failed: the next one's score",
            m1ThenM3ThenM2,
            10_000,
            answer(0, "m3"),
            new Object[] {"m1", failed("m1"), "m3", ok("m3")}),
        Arguments.of(
            "the preferred failed, the next not in yet: wait",
            m1ThenM3ThenM2,
            10_000,
            null,
            new Object[] {"m1", overloaded("m1"), "m2", ok("m2")}),
        Arguments.of(
            "at the deadline the most preferred score in",
            m1ThenM3ThenM2,
            45_000,
            answer(1, "m2"),
            new Object[] {"m2", ok("m2")}),
        Arguments.of(
            "a shadow is never chosen",
            m1ThenM3ThenM2,
            45_000,
            null,
            new Object[] {"shadow", ok("shadow")}));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rules")
  void oneRequestsRules(
      String name, int[] preference, long at, Decision expected, Object[] arrivals) {
    ThompsonSampling.Sampled d = new ThompsonSampling.Sampled(THREE, preference);
    for (int i = 0; i < arrivals.length; i += 2) {
      d.record(
          THREE.models().indexOf((String) arrivals[i]),
          (io.rendezvous.workers.ModelPool.ScoreResult) arrivals[i + 1]);
    }
    Decision got = d.decide(at);
    if (expected == null && at >= 45_000) {
      assertInstanceOf(Decision.NoAnswerByDeadline.class, got, name);
    } else if (expected == null) {
      assertNull(got, name);
    } else {
      assertEquals(expected, got, name);
    }
  }

  @org.junit.jupiter.api.Test
  void everyLiveModelFailedAtOnce() {
    ThompsonSampling.Sampled d = new ThompsonSampling.Sampled(THREE, new int[] {0, 1, 2});
    d.record(0, failed("m1"));
    d.record(1, overloaded("m2"));
    d.record(2, failed("m3"));
    Decision got = d.decide(1_000);
    assertInstanceOf(Decision.AllFailed.class, got);
    assertTrue(((Decision.AllFailed) got).why().contains("m2 (overloaded)"));
  }

  private static List<String> choices(Rewards rewards, int n) {
    List<String> out = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      Decider d = ThompsonSampling.INSTANCE.start(THREE, rewards);
      d.record(0, ok("m1"));
      d.record(1, ok("m2"));
      d.record(2, ok("m3"));
      out.add(((Decision.Answer) d.decide(1_000)).model());
    }
    return out;
  }

  /** Rewards from {@code table} (rows m3, m2, m1) with a seeded random source. */
  static Rewards seeded(long[][] table, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    Rewards r = new Rewards(1, 1, () -> rng);
    for (int k = 0; k < 3; k++) {
      for (long i = 0; i < table[k][0]; i++) {
        r.record("ep", MODELS.get(k), "1", true);
      }
      for (long i = 0; i < table[k][1]; i++) {
        r.record("ep", MODELS.get(k), "1", false);
      }
    }
    return r;
  }

  /**
   * P(model k's draw is the highest) = ∫ f_k(x) Π_{j≠k} F_j(x) dx for the posteriors Beta(prior +
   * s, prior + f), by the midpoint rule on a fine grid: the exact figure the sampled frequencies
   * must approach.
   */
  static double[] probabilityOfHighestDraw(long[][] table, int priorS, int priorF) {
    int n = 200_000;
    double[][] pdf = new double[3][n];
    double[][] cdf = new double[3][n];
    for (int k = 0; k < 3; k++) {
      double a = priorS + table[k][0];
      double b = priorF + table[k][1];
      double logNorm = logGamma(a + b) - logGamma(a) - logGamma(b);
      double acc = 0;
      for (int i = 0; i < n; i++) {
        double x = (i + 0.5) / n;
        pdf[k][i] = Math.exp(logNorm + (a - 1) * Math.log(x) + (b - 1) * Math.log1p(-x));
        acc += pdf[k][i] / n;
        cdf[k][i] = acc - pdf[k][i] / (2.0 * n);
      }
    }
    double[] p = new double[3];
    for (int k = 0; k < 3; k++) {
      for (int i = 0; i < n; i++) {
        double others = 1;
        for (int j = 0; j < 3; j++) {
          if (j != k) {
            others *= cdf[j][i];
          }
        }
        p[k] += pdf[k][i] * others / n;
      }
    }
    return p;
  }

  /** ln Γ(x) for the integer shapes above: ln((x-1)!). */
  private static double logGamma(double x) {
    double r = 0;
    for (double t = x - 1; t >= 1; t--) {
      r += Math.log(t);
    }
    return r;
  }
}
