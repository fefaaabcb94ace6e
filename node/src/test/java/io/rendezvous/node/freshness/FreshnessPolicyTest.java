package io.rendezvous.node.freshness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

/**
 * The trainer's rules as tables, with the shipped defaults: hold-out floor 0.70, at most 2 points
 * below live, at least 20 held-out corrections and better than live on them; promoted after 20
 * shadow corrections when right more often than live; rolled back after 30 when the canary was
 * right more often by more than 5 points; stable after 300.
 */
class FreshnessPolicyTest {
  static final FreshnessSettings S = FreshnessSettings.fromConfig(ConfigFactory.load());

  @Test
  void aCandidateBelowTheFloorOrWorseOnHeldOutCorrectionsIsNotUploaded() {
    FreshnessPolicy.Verdict good =
        FreshnessPolicy.check(new FreshnessPolicy.Evaluation(0.85, 0.86, 100, 80, 55), S);
    assertTrue(good.passed(), good.toString());

    FreshnessPolicy.Verdict shuffled =
        FreshnessPolicy.check(new FreshnessPolicy.Evaluation(0.11, 0.86, 100, 12, 55), S);
    assertFalse(shuffled.passed());
    assertTrue(shuffled.reasons().get(0).contains("below the floor 0.7000"), shuffled.toString());

    FreshnessPolicy.Verdict dropped =
        FreshnessPolicy.check(new FreshnessPolicy.Evaluation(0.83, 0.86, 100, 80, 55), S);
    assertFalse(dropped.passed());
    assertTrue(dropped.reasons().get(0).contains("below live's"), dropped.toString());

    FreshnessPolicy.Verdict notBetter =
        FreshnessPolicy.check(new FreshnessPolicy.Evaluation(0.86, 0.86, 100, 55, 55), S);
    assertFalse(notBetter.passed());
    assertTrue(notBetter.reasons().get(0).contains("not better"), notBetter.toString());

    FreshnessPolicy.Verdict tooFew =
        FreshnessPolicy.check(new FreshnessPolicy.Evaluation(0.86, 0.86, 5, 5, 0), S);
    assertFalse(tooFew.passed());
    assertTrue(tooFew.reasons().get(0).contains("only 5 held-out"), tooFew.toString());
  }

  @Test
  void aShadowIsPromotedOnlyWhenItBeatsLiveOnEnoughNewCorrections() {
    assertEquals(step(19, 19, 0, false), FreshnessPolicy.ShadowStep.WAIT, "too few yet");
    assertEquals(step(20, 15, 10, false), FreshnessPolicy.ShadowStep.PROMOTE);
    assertEquals(step(20, 10, 10, false), FreshnessPolicy.ShadowStep.WAIT, "a tie is not a win");
    assertEquals(step(100, 40, 60, false), FreshnessPolicy.ShadowStep.WAIT, "behind: keep looking");
    assertEquals(step(500, 200, 300, false), FreshnessPolicy.ShadowStep.WITHDRAW, "never won");
    assertEquals(step(5, 5, 0, true), FreshnessPolicy.ShadowStep.WITHDRAW, "out of time");
  }

  @Test
  void aPromotedVersionIsRolledBackWhenItDoesWorseThanTheCanaryOnNewCorrections() {
    assertEquals(live(29, 0, 29), FreshnessPolicy.LiveStep.WAIT, "too few yet");
    assertEquals(live(30, 10, 25), FreshnessPolicy.LiveStep.ROLL_BACK);
    assertEquals(live(100, 60, 64), FreshnessPolicy.LiveStep.WAIT, "within the margin");
    assertEquals(live(100, 60, 66), FreshnessPolicy.LiveStep.ROLL_BACK, "6 points worse");
    // it answers differently from the canary on most of them, and is right: no reason to roll back
    assertEquals(live(100, 90, 30), FreshnessPolicy.LiveStep.WAIT);
    assertEquals(live(300, 200, 190), FreshnessPolicy.LiveStep.STABLE);
  }

  private static FreshnessPolicy.ShadowStep step(long n, long cand, long live, boolean timedOut) {
    return FreshnessPolicy.judgeShadow(n, cand, live, timedOut, S);
  }

  private static FreshnessPolicy.LiveStep live(long n, long mine, long canary) {
    return FreshnessPolicy.judgeLive(n, mine, canary, S);
  }
}
