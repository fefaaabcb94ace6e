package io.rendezvous.actors;

import io.rendezvous.actors.schedule.Decider;
import io.rendezvous.actors.schedule.Rewards;
import io.rendezvous.journal.Journal;
import io.rendezvous.model.ModelRef;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.ModelPool;
import io.rendezvous.workers.WorkerDirectory;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * What a rendezvous entity needs from the node it runs on. One per node, shared by all its
 * entities. {@code clock} (nanoseconds, like {@link System#nanoTime()}) measures the schedule's
 * offsets; tests move it together with manual time. {@code finished}: the requests finished here
 * within the dedup window, so that a copy of a request the edge resent is not served again (a zero
 * window keeps none). {@code lateDeliveries}: the answers this node delivered after their SLA.
 */
public record RendezvousRuntime(
    String node,
    Endpoints endpoints,
    WorkerDirectory directory,
    Journal journal,
    LongSupplier clock,
    FinishedRequests finished,
    LateDeliveries lateDeliveries,
    CanaryComparison canaries,
    Rewards rewards) {

  public RendezvousRuntime(
      String node,
      Endpoints endpoints,
      WorkerDirectory directory,
      Journal journal,
      LongSupplier clock,
      FinishedRequests finished,
      LateDeliveries lateDeliveries,
      CanaryComparison canaries) {
    this(
        node,
        endpoints,
        directory,
        journal,
        clock,
        finished,
        lateDeliveries,
        canaries,
        Rewards.uniform());
  }

  public RendezvousRuntime(
      String node,
      Map<String, EndpointSettings> endpoints,
      WorkerDirectory directory,
      Journal journal,
      LongSupplier clock,
      FinishedRequests finished,
      LateDeliveries lateDeliveries) {
    this(
        node,
        new Endpoints(endpoints),
        directory,
        journal,
        clock,
        finished,
        lateDeliveries,
        new CanaryComparison(CanaryComparison.DEFAULT_WINDOW));
  }

  public RendezvousRuntime(
      String node,
      Map<String, EndpointSettings> endpoints,
      WorkerDirectory directory,
      Journal journal,
      LongSupplier clock,
      FinishedRequests finished) {
    this(node, endpoints, directory, journal, clock, finished, new LateDeliveries());
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
    return new RendezvousRuntime(
        node,
        endpoints,
        directory,
        journal,
        clock,
        new FinishedRequests(window, clock),
        lateDeliveries,
        canaries,
        rewards);
  }

  /** The same, comparing canaries over the last {@code window} requests. */
  public RendezvousRuntime withCanaryWindow(int window) {
    return new RendezvousRuntime(
        node,
        endpoints,
        directory,
        journal,
        clock,
        finished,
        lateDeliveries,
        new CanaryComparison(window),
        rewards);
  }

  /** The same, with {@code rewards} as what feedback said of the models (Thompson sampling's). */
  public RendezvousRuntime withRewards(Rewards r) {
    return new RendezvousRuntime(
        node, endpoints, directory, journal, clock, finished, lateDeliveries, canaries, r);
  }

  public Duration dedupWindow() {
    return finished.window();
  }

  /**
   * Gives a request's input to a pool of each of the endpoint's models, wherever one runs, telling
   * it how long the score can still decide the answer ({@code decider}) and how long it is wanted
   * at all; {@code waitedMicros} of both are already gone. A model with no worker on any node
   * answers {@code replyTo} as failed at once: recorded like any failure, it unblocks the next
   * stage.
   */
  void scoreEverywhere(
      String requestId,
      EndpointSettings endpoint,
      TensorData input,
      Decider decider,
      long waitedMicros,
      ActorRef<ModelPool.ScoreResult> replyTo) {
    // the reply goes out by the SLA, and late scores are recorded for the linger after it at most
    long wantedFor =
        Math.max(
            0,
            endpoint.sla().toNanos() / 1_000 + endpoint.linger().toNanos() / 1_000 - waitedMicros);
    for (int i = 0; i < endpoint.models().size(); i++) {
      String member = endpoint.models().get(i);
      Optional<ActorRef<ModelPool.Command>> pool = directory.pick(member);
      if (pool.isPresent()) {
        long decisiveFor = Math.max(0, decider.decisiveUntilMicros(i) - waitedMicros);
        pool.get().tell(new ModelPool.Score(requestId, input, decisiveFor, wantedFor, replyTo));
      } else {
        ModelRef ref = ModelRef.parse(member);
        String why = "no worker for model " + member + " on any node";
        replyTo.tell(ModelPool.Failed.noWorker(requestId, ref.name(), ref.version(), why));
      }
    }
  }
}
