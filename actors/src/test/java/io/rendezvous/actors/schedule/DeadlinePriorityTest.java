package io.rendezvous.actors.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.EndpointSettings.Stage;
import io.rendezvous.model.TensorSpec;
import io.rendezvous.workers.ModelPool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The deadline schedule's rules as tables: results so far and a time in, a decision (or none) and
 * what is due next out. No actors, no journal, no clock. Default endpoint: models [m1, m2, m3]
 * scheduled m3 at 0, m2 from 15 ms, m1 from 30 ms; SLA 50 ms, journal margin 5 ms (so the decision
 * deadline is 45 ms).
 */
class DeadlinePriorityTest {

  static final EndpointSettings STANDARD =
      endpoint(List.of("m1", "m2", "m3"), 50, stage("m3", 0), stage("m2", 15), stage("m1", 30));

  /** A first stage that waits 5 ms; shadow is scored but not scheduled. */
  static final EndpointSettings OFFSET_AND_SHADOW =
      endpoint(List.of("m1", "m2", "shadow"), 40, stage("m2", 5), stage("m1", 10));

  /** STANDARD with a delivery grace of 100 ms: a first score up to 145 ms is still the answer. */
  static final EndpointSettings WITH_GRACE = STANDARD.withDeliveryGrace(Duration.ofMillis(100));

  static final String EVERY_FAILED = "every scheduled model failed:";

  // ---- the decision

  static Stream<Arguments> decisions() {
    return Stream.of(
        // stages open by time: at their offset, not a microsecond before
        row("nothing yet", STANDARD, 0, none()),
        row("the first stage answers at once", STANDARD, 0, answer(0, "m3"), ok("m3")),
        row("m2 waits for 15 ms", STANDARD, 14_999, none(), ok("m2"), ok("m1")),
        row("m2 at 15 ms", STANDARD, 15_000, answer(1, "m2"), ok("m2"), ok("m1")),
        row("m1 waits for 30 ms", STANDARD, 29_999, none(), ok("m1")),
        row("m1 at 30 ms", STANDARD, 30_000, answer(2, "m1"), ok("m1")),
        // the answer is the highest-priority model that answered and whose stage is open
        row("m3 beats m2 and m1", STANDARD, 40_000, answer(0, "m3"), ok("m1"), ok("m2"), ok("m3")),
        row("m2 beats m1", STANDARD, 31_000, answer(1, "m2"), ok("m1"), ok("m2")),
        row("a late m3 still wins", STANDARD, 20_000, answer(0, "m3"), ok("m3")),
        // early opening: every stage above will not answer
        row("m3 failed: m2 at once", STANDARD, 0, answer(1, "m2"), failed("m3"), ok("m2")),
        row("m3 overloaded: m2 at once", STANDARD, 0, answer(1, "m2"), overloaded("m3"), ok("m2")),
        row("m2 still expected", STANDARD, 0, none(), overloaded("m3"), ok("m1")),
        row("m3 still expected", STANDARD, 0, none(), failed("m2"), ok("m1")),
        row("m3 and m2 out", STANDARD, 0, answer(2, "m1"), failed("m3"), failed("m2"), ok("m1")),
        row("the first stage waits", OFFSET_AND_SHADOW, 4_999, none(), ok("m2")),
        row("... for its offset", OFFSET_AND_SHADOW, 5_000, answer(0, "m2"), ok("m2")),
        row("its failure opens m1", OFFSET_AND_SHADOW, 0, answer(1, "m1"), failed("m2"), ok("m1")),
        // a model outside the schedule is never chosen, and does not stop a 503
        row("shadow alone", OFFSET_AND_SHADOW, 30_000, none(), ok("shadow"), failed("m2")),
        row(
            "shadow and the schedule failed",
            OFFSET_AND_SHADOW,
            0,
            new Decision.AllFailed(EVERY_FAILED + " m2 (boom) m1 (overloaded)"),
            ok("shadow"),
            failed("m2"),
            overloaded("m1")),
        row(
            "shadow by the deadline",
            OFFSET_AND_SHADOW,
            35_000,
            new Decision.NoAnswerByDeadline("no scheduled model answered within the SLA of 40 ms"),
            ok("shadow")),
        // every scheduled model will not answer: at once, in schedule order, with the reasons
        row(
            "all failed",
            STANDARD,
            0,
            new Decision.AllFailed(EVERY_FAILED + " m3 (boom) m2 (overloaded) m1 (boom)"),
            failed("m1"),
            overloaded("m2"),
            failed("m3")),
        row("two of three failed", STANDARD, 44_999, none(), failed("m1"), failed("m3")),
        // nothing by the decision deadline (sla - journal-margin)
        row("not before 45 ms", STANDARD, 44_999, none()),
        row(
            "at 45 ms",
            STANDARD,
            45_000,
            new Decision.NoAnswerByDeadline("no scheduled model answered within the SLA of 50 ms"),
            failed("m3")),
        // with a delivery grace, the first scheduled score within it after the deadline
        row("grace: none at 45 ms", WITH_GRACE, 45_000, none(), failed("m3")),
        row("grace: m1 first at 120 ms", WITH_GRACE, 120_000, answer(2, "m1"), ok("m1")),
        row("grace: m3 beats m1", WITH_GRACE, 120_000, answer(0, "m3"), ok("m1"), ok("m3")),
        row("grace: not before 145 ms", WITH_GRACE, 144_999, none()),
        row(
            "grace: at 145 ms",
            WITH_GRACE,
            145_000,
            new Decision.NoAnswerByDeadline(
                "no scheduled model answered within the SLA of 50 ms and the delivery grace of"
                    + " 100 ms"),
            failed("m2")),
        row(
            "grace: all failed within it",
            WITH_GRACE,
            90_000,
            new Decision.AllFailed(EVERY_FAILED + " m3 (boom) m2 (boom) m1 (boom)"),
            failed("m1"),
            failed("m2"),
            failed("m3")),
        // when several hold at once: an answer, then all failed, then the deadline
        row("an answer beats the deadline", STANDARD, 46_000, answer(2, "m1"), ok("m1")),
        row(
            "all failed beats the deadline",
            STANDARD,
            46_000,
            new Decision.AllFailed(EVERY_FAILED + " m3 (boom) m2 (boom) m1 (boom)"),
            failed("m1"),
            failed("m2"),
            failed("m3")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("decisions")
  void decides(
      String name,
      EndpointSettings endpoint,
      long elapsedMicros,
      Decision expected,
      List<ModelPool.ScoreResult> results) {
    Decider d = DeadlinePriority.INSTANCE.start(endpoint);
    for (ModelPool.ScoreResult r : results) {
      d.record(endpoint.models().indexOf(r.model()), r);
    }
    assertEquals(expected, d.decide(elapsedMicros));
  }

  // ---- what is due next

  static Stream<Arguments> nextDue() {
    EndpointSettings sameOffsets =
        endpoint(List.of("a", "b", "c"), 50, stage("a", 0), stage("b", 0), stage("c", 20));
    return Stream.of(
        Arguments.of("at the start, m2's stage", STANDARD, 0L, 15_000L),
        Arguments.of("just before it", STANDARD, 14_999L, 15_000L),
        Arguments.of("at it, m1's stage", STANDARD, 15_000L, 30_000L),
        Arguments.of("a fallback 20 ms late", STANDARD, 20_000L, 30_000L),
        Arguments.of("after the last stage, the deadline", STANDARD, 30_000L, 45_000L),
        // a fallback that starts after the deadline is decided at once, by the first tick
        Arguments.of("past the deadline, still the deadline", STANDARD, 50_000L, 45_000L),
        // with a grace: the decision deadline, then the grace's end
        Arguments.of("grace: before the deadline", WITH_GRACE, 30_000L, 45_000L),
        Arguments.of("grace: at the deadline, its end", WITH_GRACE, 45_000L, 145_000L),
        Arguments.of("grace: past its end, its end", WITH_GRACE, 200_000L, 145_000L),
        Arguments.of("the first stage's own offset", OFFSET_AND_SHADOW, 0L, 5_000L),
        Arguments.of("stages sharing an offset", sameOffsets, 0L, 20_000L));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("nextDue")
  void nextDueIsTheNextStageOrTheDeadline(
      String name, EndpointSettings endpoint, long elapsedMicros, long expected) {
    assertEquals(expected, DeadlinePriority.INSTANCE.start(endpoint).nextDueMicros(elapsedMicros));
  }

  @Test
  void aScoreDecidesUntilALaterStageOpens() {
    Decider d = DeadlinePriority.INSTANCE.start(STANDARD);
    // by the endpoint's models' order: m1, m2, m3
    assertEquals(45_000, d.decisiveUntilMicros(0));
    assertEquals(30_000, d.decisiveUntilMicros(1));
    assertEquals(15_000, d.decisiveUntilMicros(2));
    assertEquals(0, DeadlinePriority.INSTANCE.start(OFFSET_AND_SHADOW).decisiveUntilMicros(2));
  }

  @Test
  void eachRequestHasItsOwnResults() {
    Decider first = DeadlinePriority.INSTANCE.start(STANDARD);
    Decider second = DeadlinePriority.INSTANCE.start(STANDARD);
    first.record(2, ok("m3"));
    assertEquals(answer(0, "m3"), first.decide(0));
    assertNull(second.decide(0));
  }

  @Test
  void theAnswerKeepsItsOwnCopyOfTheProbabilities() {
    float[] p = {0.1f, 0.9f};
    Decision.Answer a = new Decision.Answer(0, "m", "1", p);
    p[0] = 1f;
    a.probabilities()[1] = 0f;
    assertEquals(new Decision.Answer(0, "m", "1", new float[] {0.1f, 0.9f}), a);
  }

  @Test
  void policiesAreFoundByName() {
    assertEquals(DeadlinePriority.INSTANCE, DecisionPolicies.find("deadline-priority").get());
    assertEquals("deadline-priority", DecisionPolicies.find("deadline-priority").get().name());
    assertEquals(
        List.of("deadline-priority", "ensemble-average", "highest-confidence", "thompson-sampling"),
        DecisionPolicies.names());
    assertEquals(true, DecisionPolicies.find("coin-toss").isEmpty());
  }

  // ---- helpers

  static Arguments row(
      String name,
      EndpointSettings endpoint,
      long elapsedMicros,
      Decision expected,
      ModelPool.ScoreResult... results) {
    return Arguments.of(name, endpoint, elapsedMicros, expected, List.of(results));
  }

  static Decision none() {
    return null;
  }

  /** Each model scores its own distribution, so that the table shows whose answer was taken. */
  static float[] probabilitiesOf(String model) {
    return switch (model) {
      case "m1" -> new float[] {0.7f, 0.2f, 0.1f};
      case "m2" -> new float[] {0.1f, 0.8f, 0.1f};
      case "m3" -> new float[] {0.1f, 0.1f, 0.8f};
      default -> new float[] {0.3f, 0.3f, 0.4f};
    };
  }

  static ModelPool.ScoreResult ok(String model) {
    return new ModelPool.Scored(
        "r", model, "v-" + model, new float[][] {probabilitiesOf(model)}, 1);
  }

  static ModelPool.ScoreResult failed(String model) {
    return new ModelPool.Failed("r", model, "v-" + model, "boom");
  }

  static ModelPool.ScoreResult overloaded(String model) {
    return new ModelPool.Overloaded("r", model, "v-" + model);
  }

  static Decision answer(int stage, String model) {
    return new Decision.Answer(stage, model, "v-" + model, probabilitiesOf(model));
  }

  static Stage stage(String model, long afterMs) {
    return new Stage(model, Duration.ofMillis(afterMs));
  }

  static EndpointSettings endpoint(List<String> models, long slaMs, Stage... schedule) {
    return new EndpointSettings(
        "ep",
        models,
        new TensorSpec("input", "float32", List.of(-1L, 4L)),
        new ArrayList<>(List.of(schedule)),
        DeadlinePriority.INSTANCE,
        Duration.ofMillis(slaMs),
        Duration.ofMillis(5),
        Duration.ofMillis(200),
        List.of("a", "b", "c"));
  }
}
