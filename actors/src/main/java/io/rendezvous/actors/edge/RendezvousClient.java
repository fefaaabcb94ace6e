package io.rendezvous.actors.edge;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.RendezvousEntity;
import io.rendezvous.actors.Reply;
import io.rendezvous.actors.Reply.Rejected;
import io.rendezvous.actors.RequestRouter;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.model.TensorData;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * The edge's way into the sharded rendezvous: one entity per instance, keyed by a fresh request id,
 * reached through this node's {@link RequestRouter}. Used by every transport (HTTP, Kafka), so they
 * all get the same ids, journal and answers.
 */
public final class RendezvousClient {
  private final ActorSystem<?> system;
  private final ActorRef<RequestRouter.Command> router;
  private final RequestIds ids;
  private final Duration grace;
  private final LocalShards localShards;
  private final int placementAttempts;

  /** Ids drawn as they come: requests spread over the cluster's shards by hash. */
  public RendezvousClient(
      ActorSystem<?> system,
      ActorRef<RequestRouter.Command> router,
      RequestIds ids,
      Duration grace) {
    this(system, router, ids, grace, null, 1);
  }

  /**
   * Ids placed in a shard this node hosts ({@code localShards}), trying at most {@code
   * placementAttempts} ids per request; {@code localShards} null: drawn as they come.
   */
  public RendezvousClient(
      ActorSystem<?> system,
      ActorRef<RequestRouter.Command> router,
      RequestIds ids,
      Duration grace,
      LocalShards localShards,
      int placementAttempts) {
    this.system = system;
    this.router = router;
    this.ids = ids;
    this.grace = grace;
    this.localShards = localShards;
    this.placementAttempts = placementAttempts;
  }

  private String nextId() {
    LocalShards local = localShards;
    if (local == null || !local.known()) {
      return ids.next();
    }
    return ids.next(local::isLocal, placementAttempts);
  }

  private String nextWarmUpId() {
    LocalShards local = localShards;
    if (local == null || !local.known()) {
      return ids.nextWarmUp();
    }
    return ids.nextWarmUp(local::isLocal, placementAttempts);
  }

  /** One rendezvous per instance, run at once; replies in instance order. */
  public CompletionStage<List<Reply>> predict(
      EndpointSettings endpoint,
      List<TensorData> instances,
      String clientId,
      String source,
      String sourceSha256) {
    return predict(endpoint, instances, clientId, source, sourceSha256, null, null, this::nextId);
  }

  /**
   * As {@link #predict}, in the trace {@code traceparent} (this node's span of the request, see
   * {@link TraceContext}): every instance's records keep it.
   */
  public CompletionStage<List<Reply>> predict(
      EndpointSettings endpoint,
      List<TensorData> instances,
      String clientId,
      String source,
      String sourceSha256,
      String traceparent) {
    return predict(
        endpoint, instances, clientId, source, sourceSha256, traceparent, null, this::nextId);
  }

  /**
   * As {@link #predict}, decided within the client's own {@code deadline} (from now) where it is
   * shorter than the endpoint's SLA ({@link EndpointSettings#within}); null: the SLA.
   */
  public CompletionStage<List<Reply>> predict(
      EndpointSettings endpoint,
      List<TensorData> instances,
      String clientId,
      String source,
      String sourceSha256,
      String traceparent,
      Duration deadline) {
    return predict(
        endpoint, instances, clientId, source, sourceSha256, traceparent, deadline, this::nextId);
  }

  /**
   * As {@link #predict}, for the node's own warm-up: its request ids say so ({@link
   * RequestIds#isWarmUp}), and its source is {@value #WARM_UP_SOURCE}.
   */
  public CompletionStage<List<Reply>> warmUp(
      EndpointSettings endpoint, List<TensorData> instances) {
    return predict(endpoint, instances, null, WARM_UP_SOURCE, null, null, null, this::nextWarmUpId);
  }

  public static final String WARM_UP_SOURCE = "warm-up";

  private CompletionStage<List<Reply>> predict(
      EndpointSettings endpoint,
      List<TensorData> instances,
      String clientId,
      String source,
      String sourceSha256,
      String traceparent,
      Duration deadline,
      Supplier<String> nextId) {
    long accepted = JournalRecord.nowMicros();
    long deadlineMicros =
        deadline == null || deadline.compareTo(endpoint.sla()) >= 0
            ? 0
            : Math.max(1, deadline.toNanos() / 1_000);
    Duration timeout =
        (deadlineMicros == 0 ? endpoint : endpoint.within(deadline)).sla().plus(grace);
    List<CompletableFuture<Reply>> replies = new ArrayList<>(instances.size());
    for (TensorData input : instances) {
      String id = nextId.get();
      CompletableFuture<Reply> reply =
          Futures.here(
                  AskPattern.<RequestRouter.Command, Reply>ask(
                      router,
                      replyTo ->
                          new RequestRouter.Submit(
                              new RendezvousEntity.Request(
                                  id,
                                  clientId,
                                  endpoint.name(),
                                  input,
                                  source,
                                  sourceSha256,
                                  accepted,
                                  traceparent,
                                  deadlineMicros),
                              replyTo),
                      timeout,
                      system.scheduler()))
              // a timed-out ask completes on the scheduler's one thread, which every timer of the
              // node waits on: the 504 and its rendering go to the dispatcher. Answers stay where
              // they land (exceptionallyAsync would send every answer through the dispatcher too)
              .exceptionallyCompose(
                  e ->
                      CompletableFuture.supplyAsync(
                          () ->
                              new Rejected(
                                  id,
                                  504,
                                  "no answer from the request entity within "
                                      + timeout.toMillis()
                                      + " ms: "
                                      + e.getMessage(),
                                  true),
                          system.executionContext()));
      replies.add(reply);
    }
    return CompletableFuture.allOf(replies.toArray(new CompletableFuture<?>[0]))
        .thenApply(v -> replies.stream().map(CompletableFuture::join).toList());
  }
}
