package io.rendezvous.actors.schedule;

import static io.rendezvous.actors.schedule.DeadlinePriorityTest.endpoint;
import static io.rendezvous.actors.schedule.DeadlinePriorityTest.failed;
import static io.rendezvous.actors.schedule.DeadlinePriorityTest.ok;
import static io.rendezvous.actors.schedule.DeadlinePriorityTest.overloaded;
import static io.rendezvous.actors.schedule.DeadlinePriorityTest.stage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.workers.ModelPool;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each selection policy as a table of arrival times and scores: what it picks, and when. The
 * endpoint: m1, m2, m3 live (m3 at 0, m2 from 15 ms, m1 from 30 ms), "shadow" scored but never
 * chosen, SLA 50 ms, decision deadline 45 ms. The scores (see {@link
 * DeadlinePriorityTest#probabilitiesOf}): m1 0.7 sure of label 0, m2 0.8 of label 1, m3 0.8 of
 * label 2, shadow 0.4 of label 2; plus "sure" below, 0.95 of label 0, as a shadow.
 */
class SelectionPoliciesTest {

  static final EndpointSettings LIVE_AND_SHADOW =
      endpoint(
          List.of("m1", "m2", "m3", "shadow"),
          50,
          stage("m3", 0),
          stage("m2", 15),
          stage("m1", 30));

  /** A scored result at {@code arrivalMicros}: the rows replay arrivals in time order. */
  record At(long micros, ModelPool.ScoreResult result) {}

  static At at(long micros, ModelPool.ScoreResult r) {
    return new At(micros, r);
  }

  static ModelPool.ScoreResult sure(String model) {
    return new ModelPool.Scored("r", model, "v-" + model, new float[][] {{0.95f, 0.03f, 0.02f}}, 1);
  }

  static Stream<Arguments> highestConfidence() {
    return Stream.of(
        // waits for every live model (or the deadline), then takes the surest
        row("one of three in: waits", 10_000, null, at(1_000, ok("m3"))),
        row(
            "all in: m2 and m3 tie at 0.8, the earlier stage wins",
            20_000,
            new Decision.Answer(0, "m3", "v-m3", DeadlinePriorityTest.probabilitiesOf("m3")),
            at(1_000, ok("m1")),
            at(2_000, ok("m2")),
            at(3_000, ok("m3"))),
        row(
            "m3 failed: m2 (0.8) beats m1 (0.7), decided when the last comes",
            3_000,
            new Decision.Answer(1, "m2", "v-m2", DeadlinePriorityTest.probabilitiesOf("m2")),
            at(1_000, ok("m1")),
            at(2_000, ok("m2")),
            at(3_000, failed("m3"))),
        row(
            "a surer shadow is never chosen",
            3_000,
            new Decision.Answer(2, "m1", "v-m1", DeadlinePriorityTest.probabilitiesOf("m1")),
            at(500, sure("shadow")),
            at(1_000, ok("m1")),
            at(2_000, failed("m2")),
            at(3_000, overloaded("m3"))),
        row(
            "at the deadline, the surest of those in",
            45_000,
            new Decision.Answer(2, "m1", "v-m1", DeadlinePriorityTest.probabilitiesOf("m1")),
            at(1_000, ok("m1"))),
        row("before the deadline with one missing: waits", 44_999, null, at(1_000, ok("m1"))),
        row(
            "every live model failed",
            3_000,
            new Decision.AllFailed("every live model failed: m3 (boom) m2 (boom) m1 (overloaded)"),
            at(500, ok("shadow")),
            at(1_000, overloaded("m1")),
            at(2_000, failed("m2")),
            at(3_000, failed("m3"))),
        row(
            "nothing live by the deadline",
            45_000,
            new Decision.NoAnswerByDeadline("no live model answered within the SLA of 50 ms"),
            at(500, ok("shadow"))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("highestConfidence")
  void highestConfidencePicks(String name, long decideAt, Decision expected, List<At> arrivals) {
    assertEquals(expected, replay(HighestConfidence.INSTANCE, decideAt, arrivals));
  }

  static Stream<Arguments> ensemble() {
    float[] m1m2m3 = {0.3f, 0.36666667f, 0.33333334f};
    float[] m1m2 = {0.4f, 0.5f, 0.1f};
    return Stream.of(
        row("two of three in: waits", 20_000, null, at(1_000, ok("m1")), at(2_000, ok("m2"))),
        row(
            "all in: the mean of the three",
            3_000,
            new Decision.Answer(-1, "ensemble", "m3@v-m3+m2@v-m2+m1@v-m1", m1m2m3),
            at(1_000, ok("m1")),
            at(2_000, ok("m2")),
            at(3_000, ok("m3"))),
        row(
            "a failed model and the shadow are left out of the mean",
            3_000,
            new Decision.Answer(-1, "ensemble", "m2@v-m2+m1@v-m1", m1m2),
            at(500, sure("shadow")),
            at(1_000, ok("m1")),
            at(2_000, ok("m2")),
            at(3_000, failed("m3"))),
        row(
            "at the deadline, the mean of those in",
            45_000,
            new Decision.Answer(-1, "ensemble", "m2@v-m2+m1@v-m1", m1m2),
            at(1_000, ok("m1")),
            at(2_000, ok("m2"))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("ensemble")
  void ensembleAverages(String name, long decideAt, Decision expected, List<At> arrivals) {
    Decision d = replay(EnsembleAverage.INSTANCE, decideAt, arrivals);
    if (expected == null) {
      assertNull(d);
      return;
    }
    Decision.Answer want = (Decision.Answer) expected;
    Decision.Answer got = (Decision.Answer) d;
    assertEquals(want.stage(), got.stage());
    assertEquals(want.model(), got.model());
    assertEquals(want.version(), got.version());
    for (int i = 0; i < want.probabilities().length; i++) {
      assertEquals(want.probabilities()[i], got.probabilities()[i], 1e-6, "label " + i);
    }
  }

  @Test
  void livePoliciesAreDueAtTheDecisionDeadlineAndEveryLiveScoreDecidesUntilThen() {
    for (DecisionPolicy p : List.of(HighestConfidence.INSTANCE, EnsembleAverage.INSTANCE)) {
      Decider d = p.start(LIVE_AND_SHADOW);
      assertEquals(45_000, d.nextDueMicros(0), p.name());
      assertEquals(45_000, d.decisiveUntilMicros(0), p.name());
      assertEquals(0, d.decisiveUntilMicros(3), p.name() + ": a shadow never decides");
    }
  }

  /** Under every policy, a shadow alone never makes an answer, however sure it is. */
  @Test
  void everyPolicyTakesTheFirstLiveScoreWithinTheDeliveryGrace() {
    EndpointSettings withGrace = LIVE_AND_SHADOW.withDeliveryGrace(Duration.ofMillis(100));
    for (String name : DecisionPolicies.names()) {
      Decider d = DecisionPolicies.find(name).get().start(withGrace);
      d.record(3, sure("shadow"));
      assertNull(d.decide(45_000), name + ": waits past the deadline for a live score");
      assertEquals(145_000, d.nextDueMicros(45_000), name);
      d.record(0, ok("m1"));
      // m1's alone (the ensemble's average of one is m1's score)
      Decision.Answer a = (Decision.Answer) d.decide(90_000);
      assertArrayEquals(DeadlinePriorityTest.probabilitiesOf("m1"), a.probabilities(), name);
      Decider none = DecisionPolicies.find(name).get().start(withGrace);
      assertTrue(
          none.decide(145_000) instanceof Decision.NoAnswerByDeadline,
          name + ": none by the grace's end");
    }
  }

  @Test
  void aShadowIsNeverChosenByAnyPolicy() {
    for (String name : DecisionPolicies.names()) {
      DecisionPolicy p = DecisionPolicies.find(name).get();
      Decider d = p.start(LIVE_AND_SHADOW);
      d.record(3, sure("shadow"));
      d.record(0, failed("m1"));
      d.record(1, failed("m2"));
      d.record(2, failed("m3"));
      Decision decision = d.decide(1_000);
      assertTrue(decision instanceof Decision.AllFailed, name + ": " + decision);
      Decider late = p.start(LIVE_AND_SHADOW);
      late.record(3, sure("shadow"));
      Decision byDeadline = late.decide(45_000);
      assertTrue(byDeadline instanceof Decision.NoAnswerByDeadline, name + ": " + byDeadline);
      Decider mixed = p.start(LIVE_AND_SHADOW);
      mixed.record(3, sure("shadow"));
      mixed.record(2, ok("m3"));
      mixed.record(1, ok("m2"));
      mixed.record(0, ok("m1"));
      Decision.Answer a = (Decision.Answer) mixed.decide(40_000);
      assertNotEquals("shadow", a.model(), name);
    }
  }

  /** Feeds the arrivals in time order, asking for a decision at each as an entity would. */
  static Decision replay(DecisionPolicy policy, long decideAt, List<At> arrivals) {
    Decider d = policy.start(LIVE_AND_SHADOW);
    for (At a : arrivals) {
      d.record(LIVE_AND_SHADOW.models().indexOf(a.result().model()), a.result());
      Decision early = d.decide(a.micros());
      if (early != null) {
        assertTrue(a.micros() <= decideAt, "decided at " + a.micros() + " before " + decideAt);
        return early;
      }
    }
    return d.decide(decideAt);
  }

  static Arguments row(String name, long decideAt, Decision expected, At... arrivals) {
    return Arguments.of(name, decideAt, expected, List.of(arrivals));
  }
}
