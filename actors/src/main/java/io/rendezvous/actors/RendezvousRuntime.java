package io.rendezvous.actors;

import io.rendezvous.actors.journal.Journal;
import io.rendezvous.workers.WorkerDirectory;
import java.time.Duration;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * What a rendezvous entity needs from the node it runs on. One per node, shared by all its entities.
 * {@code clock} (nanoseconds, like {@link System#nanoTime()}) measures the schedule's offsets; tests
 * move it together with manual time. {@code dedupWindow}: how long a finished entity stays to ignore a
 * copy of its request that the edge resent (zero: it stops at once).
 */
public record RendezvousRuntime(
    String node,
    Map<String, EndpointSettings> endpoints,
    WorkerDirectory directory,
    Journal journal,
    LongSupplier clock,
    Duration dedupWindow) {
  public RendezvousRuntime {
    endpoints = Map.copyOf(endpoints);
  }

  public RendezvousRuntime(
      String node, Map<String, EndpointSettings> endpoints, WorkerDirectory directory, Journal journal) {
    this(node, endpoints, directory, journal, System::nanoTime, Duration.ZERO);
  }

  public RendezvousRuntime withDedupWindow(Duration window) {
    return new RendezvousRuntime(node, endpoints, directory, journal, clock, window);
  }
}
