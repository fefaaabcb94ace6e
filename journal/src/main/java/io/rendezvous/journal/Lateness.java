package io.rendezvous.journal;

import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;

/**
 * How long something waited beyond when it was due, summed over many: count, total and worst, in
 * microseconds. Lock-free, for figures read now and then while many threads record.
 */
public final class Lateness {
  private final LongAdder count = new LongAdder();
  private final LongAdder totalMicros = new LongAdder();
  private final LongAccumulator maxMicros = new LongAccumulator(Math::max, 0);

  public void record(long micros) {
    long m = Math.max(0, micros);
    count.increment();
    totalMicros.add(m);
    maxMicros.accumulate(m);
  }

  public long count() {
    return count.sum();
  }

  public long totalMicros() {
    return totalMicros.sum();
  }

  public long maxMicros() {
    return maxMicros.get();
  }

  /**
   * Starts again from nothing (what came before, a node's warm-up say, is not what the figures are
   * about). Records made during the reset may land on either side of it.
   */
  public void reset() {
    count.reset();
    totalMicros.reset();
    maxMicros.reset();
  }

  /** The mean, or 0 before anything was recorded. */
  public long meanMicros() {
    long n = count();
    return n == 0 ? 0 : totalMicros() / n;
  }
}
