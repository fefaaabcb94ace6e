package io.rendezvous.node.freshness;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The freshness trainer's rules, as plain functions of counts: what a candidate must show before
 * users see it ({@link #check}), when a shadow is promoted ({@link #judgeShadow}) and when a
 * promoted version is rolled back ({@link #judgeLive}). Divergence from the canary is not among
 * them: a model retrained on a class is meant to answer that class differently; only the labels
 * users gave count.
 */
public final class FreshnessPolicy {
  private FreshnessPolicy() {}

  /**
   * What training reported: the candidate's and live's accuracy on the hold-out set and on the
   * held-out corrections.
   */
  public record Evaluation(
      double candidateHoldout,
      double liveHoldout,
      long heldOut,
      long candidateRightOnHeldOut,
      long liveRightOnHeldOut) {}

  /** Whether a candidate may be uploaded as a shadow, and why not. */
  public record Verdict(boolean passed, List<String> reasons, String summary) {}

  public static Verdict check(Evaluation e, FreshnessSettings s) {
    List<String> why = new ArrayList<>();
    if (e.candidateHoldout() < s.holdoutFloor()) {
      why.add(
          String.format(
              Locale.ROOT,
              "hold-out accuracy %.4f is below the floor %.4f",
              e.candidateHoldout(),
              s.holdoutFloor()));
    }
    if (e.candidateHoldout() < e.liveHoldout() - s.maxHoldoutDrop()) {
      why.add(
          String.format(
              Locale.ROOT,
              "hold-out accuracy %.4f is more than %.1f points below live's %.4f",
              e.candidateHoldout(),
              100 * s.maxHoldoutDrop(),
              e.liveHoldout()));
    }
    if (e.heldOut() < s.minHeldOut()) {
      why.add(
          "only "
              + e.heldOut()
              + " held-out corrections (at least "
              + s.minHeldOut()
              + " are needed to judge it)");
    } else if (e.candidateRightOnHeldOut() <= e.liveRightOnHeldOut()) {
      why.add(
          "on the "
              + e.heldOut()
              + " held-out corrections it is right "
              + e.candidateRightOnHeldOut()
              + " times, live "
              + e.liveRightOnHeldOut()
              + ": not better");
    }
    String summary =
        String.format(
            Locale.ROOT,
            "hold-out %.4f (live %.4f); held-out corrections %d/%d right (live %d)",
            e.candidateHoldout(),
            e.liveHoldout(),
            e.candidateRightOnHeldOut(),
            e.heldOut(),
            e.liveRightOnHeldOut());
    return new Verdict(why.isEmpty(), List.copyOf(why), summary);
  }

  /** The shadow against live on the corrections that came while it was a shadow. */
  public enum ShadowStep {
    WAIT,
    PROMOTE,
    WITHDRAW
  }

  public static ShadowStep judgeShadow(
      long corrections,
      long candidateRight,
      long liveRight,
      boolean timedOut,
      FreshnessSettings s) {
    boolean better =
        corrections > 0
            && (candidateRight - liveRight) / (double) corrections > s.promoteMargin()
            && candidateRight > liveRight;
    if (corrections >= s.promoteMinCorrections() && better) {
      return ShadowStep.PROMOTE;
    }
    if (corrections >= s.promoteMaxCorrections() || timedOut) {
      return ShadowStep.WITHDRAW;
    }
    return ShadowStep.WAIT;
  }

  /** The promoted version against the canary on the corrections that came after promotion. */
  public enum LiveStep {
    WAIT,
    ROLL_BACK,
    STABLE
  }

  public static LiveStep judgeLive(
      long corrections, long liveRight, long canaryRight, FreshnessSettings s) {
    if (corrections >= s.rollbackMinCorrections()
        && (canaryRight - liveRight) / (double) corrections > s.rollbackMargin()) {
      return LiveStep.ROLL_BACK;
    }
    if (corrections >= s.watchCorrections()) {
      return LiveStep.STABLE;
    }
    return LiveStep.WAIT;
  }
}
