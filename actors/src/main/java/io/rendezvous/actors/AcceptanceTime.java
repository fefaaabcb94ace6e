package io.rendezvous.actors;

import java.time.Duration;

/**
 * How long entities have recently taken to accept this edge's requests: a moving average over about
 * the last ten acceptances. Requests that are never accepted (a dead node's shards) do not count,
 * so it says how loaded the live path is. Owned by the router actor.
 */
final class AcceptanceTime {
  /** Weight of the newest acceptance. */
  private static final double NEWEST_WEIGHT = 0.1;

  private double meanNanos;
  private boolean measured;

  void record(long nanos) {
    if (nanos < 0) {
      return;
    }
    meanNanos = measured ? meanNanos + NEWEST_WEIGHT * (nanos - meanNanos) : nanos;
    measured = true;
  }

  long meanNanos() {
    return (long) meanNanos;
  }

  /**
   * How long to wait for an acceptance before serving a request here: the policy's wait, or {@code
   * loadFactor} times the recent acceptance time if that is longer (every acceptance is slow under
   * load, and serving requests twice would add to it), but that no longer than {@code capNanos} (a
   * fallback must leave its models time to answer).
   */
  long fallbackWaitNanos(Duration policyWait, double loadFactor, long capNanos) {
    long underLoad = Math.min((long) (loadFactor * meanNanos), capNanos);
    return Math.max(policyWait.toNanos(), underLoad);
  }
}
