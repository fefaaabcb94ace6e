package io.rendezvous.actors;

import io.rendezvous.journal.Lateness;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Answers delivered after their endpoint's SLA, per endpoint: how many, and by how much at most.
 * Either the journal confirmed them late, or no live model had answered by the decision deadline
 * and the first to answer within the delivery grace was taken. Such an answer is delivered late,
 * and counted, rather than replaced by a 503 or a 504 (an answer is worth more than none). One per
 * node, shared by its entities. Also how late the entities' timers fire ({@link #timers()}): a
 * decision taken late is a timer that fired late, on a machine whose cores were busy elsewhere.
 */
public final class LateDeliveries {
  private final Lateness timers = new Lateness();
  private final Map<String, Lateness> byEndpoint = new ConcurrentHashMap<>();

  /** How long after it was due each entity timer was handled (stage offsets, deadlines, linger). */
  public Lateness timers() {
    return timers;
  }

  void record(String endpoint, long lateMicros) {
    byEndpoint.computeIfAbsent(endpoint, e -> new Lateness()).record(lateMicros);
  }

  /** The endpoints that have had a late delivery. */
  public java.util.Set<String> endpoints() {
    return java.util.Set.copyOf(byEndpoint.keySet());
  }

  /** Answers to {@code endpoint} delivered after its SLA so far. */
  public long count(String endpoint) {
    Lateness l = byEndpoint.get(endpoint);
    return l == null ? 0 : l.count();
  }

  /** The latest of them, in microseconds past the SLA. */
  public long maxMicros(String endpoint) {
    Lateness l = byEndpoint.get(endpoint);
    return l == null ? 0 : l.maxMicros();
  }
}
