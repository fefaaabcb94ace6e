package io.rendezvous.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rendezvous.actors.EndpointSettings.Role;
import io.rendezvous.actors.EndpointSettings.Stage;
import io.rendezvous.actors.schedule.DeadlinePriority;
import io.rendezvous.actors.schedule.HighestConfidence;
import io.rendezvous.model.TensorSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Endpoint changes as the admin API makes them, on their own: roles, promotion and rollback, the
 * policy, and what is refused. The endpoint: m3 at 0, m2 from 15 ms, m1 from 30 ms, all named by
 * model (this node serves version 1 of each under its name).
 */
class EndpointEditTest {
  static final Map<String, String> SERVED = Map.of("m1", "1", "m2", "1", "m3", "1");

  static final EndpointSettings STANDARD =
      new EndpointSettings(
          "rendezvous",
          List.of("m1", "m2", "m3"),
          new TensorSpec("input", "float32", List.of(-1L, 4L)),
          List.of(stage("m3", 0), stage("m2", 15), stage("m1", 30)),
          DeadlinePriority.INSTANCE,
          Duration.ofMillis(50),
          Duration.ofMillis(5),
          Duration.ofMillis(200),
          List.of("a", "b"));

  static Stage stage(String m, long ms) {
    return new Stage(m, Duration.ofMillis(ms));
  }

  static EndpointSettings apply(EndpointEdit e, EndpointSettings on) {
    return e.apply(on, SERVED);
  }

  @Test
  void aShadowJoinsAndTheModelItShadowsIsNamedExactly() {
    EndpointSettings e = apply(EndpointEdit.role("m3@2", Role.SHADOW, null), STANDARD);
    assertEquals(List.of("m1", "m2", "m3@1", "m3@2"), e.models());
    assertEquals(Role.SHADOW, e.role("m3@2"));
    assertEquals(Role.LIVE, e.role("m3@1"));
    assertEquals(List.of(stage("m3@1", 0), stage("m2", 15), stage("m1", 30)), e.schedule());
    // a score of m3 version 2 is the shadow's, of version 1 the live one's
    assertEquals(3, e.memberIndex("m3", "2"));
    assertEquals(2, e.memberIndex("m3", "1"));
    assertEquals(-1, e.memberIndex("m3", "7"));
  }

  @Test
  void promotionPutsTheNewVersionInTheOldOnesStageAndKeepsTheOldOneAsCanary() {
    EndpointSettings shadowed = apply(EndpointEdit.role("m3@2", Role.SHADOW, null), STANDARD);
    EndpointSettings promoted = apply(EndpointEdit.promote("m3@2"), shadowed);
    assertEquals(List.of(stage("m3@2", 0), stage("m2", 15), stage("m1", 30)), promoted.schedule());
    assertEquals(Role.CANARY, promoted.role("m3@1"));
    assertEquals(List.of("m3@1"), promoted.canaries());
    // a third version promoted over the second: the second is the canary, the first a shadow
    EndpointSettings third =
        apply(
            EndpointEdit.promote("m3@3"),
            apply(EndpointEdit.role("m3@3", Role.SHADOW, null), promoted));
    assertEquals(Role.LIVE, third.role("m3@3"));
    assertEquals(Role.CANARY, third.role("m3@2"));
    assertEquals(Role.SHADOW, third.role("m3@1"));
    // rolled back: the canary is live again in the same stage, the demoted one a shadow
    EndpointSettings rolledBack = apply(EndpointEdit.demote("m3@3"), third);
    assertEquals(stage("m3@2", 0), rolledBack.schedule().get(0));
    assertEquals(Role.SHADOW, rolledBack.role("m3@3"));
    assertTrue(rolledBack.canaries().isEmpty());
  }

  @Test
  void aLiveMemberTakesItsPlaceByOffset() {
    EndpointSettings e =
        apply(EndpointEdit.role("m4@1", Role.LIVE, Duration.ofMillis(15)), STANDARD);
    assertEquals(
        List.of(stage("m3", 0), stage("m2", 15), stage("m4@1", 15), stage("m1", 30)), e.schedule());
    EndpointSettings canary = apply(EndpointEdit.role("m4@1", Role.CANARY, null), e);
    assertEquals(Role.CANARY, canary.role("m4@1"));
    assertEquals(3, canary.schedule().size());
    assertNull(apply(EndpointEdit.removeMember("m4@1"), canary).role("m4@1"));
  }

  @Test
  void whatCannotBeDoneIsRefusedWithItsStatus() {
    assertEquals(404, refused(EndpointEdit.promote("m3@2"), STANDARD), "not a member");
    assertEquals(404, refused(EndpointEdit.remove(), null), "no endpoint");
    assertEquals(
        409,
        refused(
            EndpointEdit.promote("m4@1"),
            apply(EndpointEdit.role("m4@1", Role.SHADOW, null), STANDARD)),
        "nothing of m4 live to take over from");
    assertEquals(
        409,
        refused(
            EndpointEdit.demote("m2"),
            STANDARD.withMembers(List.of("m2"), List.of(stage("m2", 0)), List.of())),
        "the only live model");
    assertEquals(400, refused(EndpointEdit.policy("coin-toss"), STANDARD));
    assertEquals(
        400,
        refused(
            EndpointEdit.role("m3", Role.CANARY, null),
            STANDARD.withMembers(List.of("m3"), List.of(stage("m3", 0)), List.of())),
        "its only live model made canary leaves no schedule");
    IllegalArgumentException mixed =
        assertThrows(
            IllegalArgumentException.class,
            () -> STANDARD.withMembers(List.of("m3", "m3@2"), List.of(stage("m3", 0)), List.of()));
    assertTrue(mixed.getMessage().contains("with and without a version"), mixed.getMessage());
  }

  @Test
  void thePolicyIsSwitchedAndTheSameChangeTwiceIsNoChange() {
    EndpointSettings e = apply(EndpointEdit.policy("highest-confidence"), STANDARD);
    assertEquals(HighestConfidence.INSTANCE, e.policy());
    assertTrue(e == apply(EndpointEdit.policy("highest-confidence"), e));
  }

  static int refused(EndpointEdit edit, EndpointSettings on) {
    return assertThrows(EndpointEdit.Refused.class, () -> apply(edit, on)).status();
  }
}
