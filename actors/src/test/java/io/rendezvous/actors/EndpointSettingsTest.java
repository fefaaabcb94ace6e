package io.rendezvous.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.rendezvous.actors.schedule.DeadlinePriority;
import io.rendezvous.actors.schedule.HighestConfidence;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EndpointSettingsTest {
  static Config with(String endpoint) {
    return ConfigFactory.parseString("rendezvous.endpoints { " + endpoint + " }")
        .withFallback(ConfigFactory.parseString("rendezvous.endpoints = null"))
        .withFallback(ConfigFactory.load())
        .resolve();
  }

  static String error(String endpoint) {
    return assertThrows(
            IllegalArgumentException.class, () -> EndpointSettings.allFromConfig(with(endpoint)))
        .getMessage();
  }

  @Test
  void defaultScheduleIsM3ThenM2ThenM1() {
    EndpointSettings e = EndpointSettings.allFromConfig(ConfigFactory.load()).get("rendezvous");
    assertEquals("m3", e.schedule().get(0).model());
    assertEquals(Duration.ofMillis(15), e.schedule().get(1).after());
    assertEquals(Duration.ofMillis(30), e.schedule().get(2).after());
    assertEquals(Duration.ofMillis(50), e.sla());
    assertEquals(Duration.ofMillis(45), e.decisionDeadline());
  }

  @Test
  void aShorterClientDeadlineIsTheSlaAndOpensLaterStagesBeforeIt() {
    EndpointSettings e = EndpointSettings.allFromConfig(ConfigFactory.load()).get("rendezvous");
    assertEquals(e, e.within(Duration.ofSeconds(1)), "a longer deadline changes nothing");
    EndpointSettings in20 = e.within(Duration.ofMillis(20));
    assertEquals(Duration.ofMillis(20), in20.sla());
    assertEquals(Duration.ofMillis(15), in20.decisionDeadline());
    assertEquals(Duration.ZERO, in20.schedule().get(0).after());
    // m2 (15 ms) and m1 (30 ms) open just before the decision deadline, so the best answer in by
    // then is taken
    Duration justBefore = Duration.ofMillis(15).minusNanos(1_000);
    assertEquals(justBefore, in20.schedule().get(1).after());
    assertEquals(justBefore, in20.schedule().get(2).after());
    assertEquals(
        e.shortestDeadline(),
        e.within(Duration.ofMillis(1)).sla(),
        "never below what a record needs");
  }

  @Test
  void invalidSchedulesAreRejectedAtStart() {
    String base = "x = ${rendezvous.endpoint-defaults} { models = [a, b], sla = 50ms, schedule = ";
    assertTrue(error(base + "[] }").contains("schedule must not be empty"));
    assertTrue(error(base + "[{model = c}] }").contains("not in models"));
    assertTrue(error(base + "[{model = a}, {model = a, after = 5ms}] }").contains("twice"));
    assertTrue(
        error(base + "[{model = a, after = 10ms}, {model = b, after = 5ms}] }")
            .contains("must not decrease"));
    assertTrue(
        error(base + "[{model = a}, {model = b, after = 48ms}] }").contains("not before sla"));
    assertTrue(
        error(
                "x = ${rendezvous.endpoint-defaults} { models = [a], sla = 4ms, schedule = [{model = a}] }")
            .contains("must exceed journal-margin"));
    assertTrue(
        error(
                "x = ${rendezvous.endpoint-defaults} { models = [], sla = 40ms, schedule = [{model = a}] }")
            .contains("models must not be empty"));
    assertTrue(
        error("x = ${rendezvous.endpoint-defaults} { models = [a], schedule = [{model = a}] }")
            .contains("sla"));
  }

  @Test
  void theDecisionPolicyIsDeadlinePriorityUnlessAnEndpointNamesAnother() {
    EndpointSettings e = EndpointSettings.allFromConfig(ConfigFactory.load()).get("rendezvous");
    assertEquals(DeadlinePriority.INSTANCE, e.policy());
    String named =
        error(
            "x = ${rendezvous.endpoint-defaults} { models = [a], sla = 50ms, schedule = [{model = a}],"
                + " policy = coin-toss }");
    assertTrue(named.startsWith("rendezvous.endpoints.x: policy"), named);
    assertTrue(named.contains("'coin-toss'"), named);
    assertTrue(
        named.contains(
            "[deadline-priority, ensemble-average, highest-confidence, thompson-sampling]"),
        named);
    assertEquals(
        HighestConfidence.INSTANCE,
        EndpointSettings.allFromConfig(
                with(
                    "x = ${rendezvous.endpoint-defaults} { models = [a], sla = 50ms, schedule ="
                        + " [{model = a}], policy = highest-confidence }"))
            .get("x")
            .policy());
    assertTrue(
        error(
                "x = ${rendezvous.endpoint-defaults} { models = [a], sla = 50ms, schedule = [{model = a}],"
                    + " policy = null }")
            .contains("policy"));
  }

  @Test
  void aScoreDecidesUntilALaterStageOpens() {
    Map<String, EndpointSettings> all =
        EndpointSettings.allFromConfig(
            with(
                "x = ${rendezvous.endpoint-defaults} { models = [a, b, c, d, shadow], sla = 100ms, schedule = ["
                    + "{model = a}, {model = b}, {model = c, after = 20ms}, {model = d, after = 40ms}] }"));
    EndpointSettings x = all.get("x");
    // b opens with a, so a still decides until c's stage: the first later one with a greater offset
    assertEquals(Duration.ofMillis(20), x.decisiveUntil("a"));
    assertEquals(Duration.ofMillis(20), x.decisiveUntil("b"));
    assertEquals(Duration.ofMillis(40), x.decisiveUntil("c"));
    assertEquals(Duration.ofMillis(95), x.decisiveUntil("d"));
    assertEquals(Duration.ZERO, x.decisiveUntil("shadow"));
  }

  @Test
  void anyNumberOfStagesIsAccepted() {
    Map<String, EndpointSettings> all =
        EndpointSettings.allFromConfig(
            with(
                "five = ${rendezvous.endpoint-defaults} { models = [a, b, c, d, e], sla = 100ms, schedule = ["
                    + "{model = a}, {model = b, after = 10ms}, {model = c, after = 20ms}, {model = d, after = 30ms}, {model = e, after = 40ms}] }"));
    assertEquals(5, all.get("five").schedule().size());
    assertEquals(3, all.get("five").stageOf("d"));
  }
}
