package io.rendezvous.actors;

import io.rendezvous.actors.journal.JournalWriter;
import io.rendezvous.workers.WorkerDirectory;
import java.util.Map;

/** What a rendezvous entity needs from the node it runs on. One per node, shared by all its entities. */
public record RendezvousRuntime(
    String node, Map<String, EndpointSettings> endpoints, WorkerDirectory directory, JournalWriter journal) {
  public RendezvousRuntime {
    endpoints = Map.copyOf(endpoints);
  }
}
