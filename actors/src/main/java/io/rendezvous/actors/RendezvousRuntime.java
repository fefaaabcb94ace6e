package io.rendezvous.actors;

import io.rendezvous.journal.Journal;
import io.rendezvous.workers.WorkerDirectory;
import java.time.Duration;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * What a rendezvous entity needs from the node it runs on. One per node, shared by all its
 * entities. {@code clock} (nanoseconds, like {@link System#nanoTime()}) measures the schedule's
 * offsets; tests move it together with manual time. {@code finished}: the requests finished here
 * within the dedup window, so that a copy of a request the edge resent is not served again (a zero
 * window keeps none).
 */
public record RendezvousRuntime(
    String node,
    Map<String, EndpointSettings> endpoints,
    WorkerDirectory directory,
    Journal journal,
    LongSupplier clock,
    FinishedRequests finished) {
  public RendezvousRuntime {
    endpoints = Map.copyOf(endpoints);
  }

  public RendezvousRuntime(
      String node,
      Map<String, EndpointSettings> endpoints,
      WorkerDirectory directory,
      Journal journal,
      LongSupplier clock,
      Duration dedupWindow) {
    this(node, endpoints, directory, journal, clock, new FinishedRequests(dedupWindow, clock));
  }

  public RendezvousRuntime(
      String node,
      Map<String, EndpointSettings> endpoints,
      WorkerDirectory directory,
      Journal journal) {
    this(node, endpoints, directory, journal, System::nanoTime, Duration.ZERO);
  }

  public RendezvousRuntime withDedupWindow(Duration window) {
    return new RendezvousRuntime(node, endpoints, directory, journal, clock, window);
  }

  public Duration dedupWindow() {
    return finished.window();
  }
}
