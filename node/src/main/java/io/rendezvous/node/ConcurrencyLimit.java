package io.rendezvous.node;

/**
 * How many requests the HTTP edge lets into the rendezvous at once, adapted to what the node can
 * answer in time (additive increase, multiplicative decrease on latency, as TCP Vegas and Netflix's
 * concurrency limits do). Every request that came back within {@code targetNanos} of its admission
 * raises the limit by 1/limit (about one per round of requests); one that took longer lowers it by
 * {@code decrease}, at most once per {@code targetNanos} so that one slow round does not collapse
 * it. More concurrency gives the models bigger batches and more throughput, up to where requests
 * queue inside the node and miss their deadline; this finds that point on the machine at hand and
 * moves with the load. Thread-safe: completions come from many threads.
 */
final class ConcurrencyLimit {
  private final int min;
  private final int max;
  private final long targetNanos;
  private final double decrease;

  /** Written under the lock, read without it on every admission. */
  private volatile double limit;

  private long lastDecreaseNanos = Long.MIN_VALUE / 2;

  ConcurrencyLimit(int min, int initial, int max, long targetNanos, double decrease) {
    this.max = Math.max(1, max);
    this.min = Math.max(1, Math.min(min, this.max));
    this.limit = Math.max(this.min, Math.min(initial, this.max));
    this.targetNanos = targetNanos;
    this.decrease = decrease;
  }

  /** The current limit, whole requests. */
  int current() {
    return (int) limit;
  }

  /** A request admitted {@code tookNanos} ago has its response; {@code nowNanos} is the clock. */
  synchronized void completed(long tookNanos, long nowNanos) {
    if (tookNanos <= targetNanos) {
      limit = Math.min(max, limit + 1.0 / limit);
    } else if (nowNanos - lastDecreaseNanos >= targetNanos) {
      limit = Math.max(min, limit * (1 - decrease));
      lastDecreaseNanos = nowNanos;
    }
  }
}
