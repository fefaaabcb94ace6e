package io.rendezvous.actors;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;

/**
 * Decided answers delivered after their endpoint's SLA because the journal confirmed them late, per
 * endpoint: how many, and by how much at most. A decided answer is delivered late, and counted,
 * rather than replaced by a 503 (the SLA bounds the decision, not the journal's hand-off). One per
 * node, shared by its entities. Also how late the entities' timers fire ({@link #timers()}): a
 * decision taken late is a timer that fired late, on a machine whose cores were busy elsewhere.
 */
public final class LateDeliveries {
  private final io.rendezvous.journal.Lateness timers = new io.rendezvous.journal.Lateness();

  /** How long after it was due each entity timer was handled (stage offsets, deadlines, linger). */
  public io.rendezvous.journal.Lateness timers() {
    return timers;
  }

  /** One endpoint's count and worst lateness. */
  private record Tally(LongAdder count, LongAccumulator maxMicros) {}

  private final Map<String, Tally> byEndpoint = new ConcurrentHashMap<>();

  void record(String endpoint, long lateMicros) {
    Tally t =
        byEndpoint.computeIfAbsent(
            endpoint, e -> new Tally(new LongAdder(), new LongAccumulator(Math::max, 0)));
    t.count().increment();
    t.maxMicros().accumulate(lateMicros);
  }

  /** Answers to {@code endpoint} delivered after its SLA so far. */
  public long count(String endpoint) {
    Tally t = byEndpoint.get(endpoint);
    return t == null ? 0 : t.count().sum();
  }

  /** The latest of them, in microseconds past the SLA. */
  public long maxMicros(String endpoint) {
    Tally t = byEndpoint.get(endpoint);
    return t == null ? 0 : t.maxMicros().get();
  }
}
