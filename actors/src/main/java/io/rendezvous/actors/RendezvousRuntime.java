package io.rendezvous.actors;

import io.rendezvous.actors.journal.JournalWriter;
import io.rendezvous.workers.WorkerDirectory;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * What a rendezvous entity needs from the node it runs on. One per node, shared by all its entities.
 * {@code clock} (nanoseconds, like {@link System#nanoTime()}) measures the schedule's offsets; tests
 * move it together with manual time.
 */
public record RendezvousRuntime(
    String node,
    Map<String, EndpointSettings> endpoints,
    WorkerDirectory directory,
    JournalWriter journal,
    LongSupplier clock) {
  public RendezvousRuntime {
    endpoints = Map.copyOf(endpoints);
  }

  public RendezvousRuntime(
      String node, Map<String, EndpointSettings> endpoints, WorkerDirectory directory, JournalWriter journal) {
    this(node, endpoints, directory, journal, System::nanoTime);
  }
}
