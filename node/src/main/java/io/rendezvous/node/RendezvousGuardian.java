package io.rendezvous.node;

import io.rendezvous.actors.EndpointRegistry;
import io.rendezvous.actors.RendezvousEntity;
import io.rendezvous.actors.RendezvousRuntime;
import io.rendezvous.actors.RequestRouter;
import io.rendezvous.actors.edge.LocalShards;
import io.rendezvous.workers.InferenceThreads;
import io.rendezvous.workers.LoadedModel;
import io.rendezvous.workers.ModelDirectory;
import io.rendezvous.workers.ModelManager;
import io.rendezvous.workers.PoolHealth;
import io.rendezvous.workers.WorkerDirectory;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/**
 * A node's guardian: a pool per loaded model and the directory that finds every node's pools, the
 * node in its cluster (alone, it joins itself), request entities sharded, and the edge's router,
 * which {@code router} hears of once it runs.
 */
final class RendezvousGuardian {
  private RendezvousGuardian() {}

  /** What the node waits on the guardian for: its router, model manager and endpoint owner. */
  record Handles(
      CompletableFuture<ActorRef<RequestRouter.Command>> router,
      CompletableFuture<ActorRef<ModelManager.Command>> manager,
      CompletableFuture<ActorRef<EndpointRegistry.Command>> endpoints) {
    Handles() {
      this(new CompletableFuture<>(), new CompletableFuture<>(), new CompletableFuture<>());
    }

    /** The guardian could not start: whoever waits hears why, not after a timeout. */
    void failed(Throwable e) {
      router.completeExceptionally(e);
      manager.completeExceptionally(e);
      endpoints.completeExceptionally(e);
    }
  }

  static Behavior<Void> create(
      NodeSettings settings,
      List<LoadedModel> models,
      WorkerDirectory directory,
      InferenceThreads inferenceThreads,
      PoolHealth poolHealth,
      RendezvousRuntime runtime,
      LocalShards localShards,
      Handles handles) {
    return Behaviors.setup(
        ctx -> {
          try {
            return start(
                ctx,
                settings,
                models,
                directory,
                inferenceThreads,
                poolHealth,
                runtime,
                localShards,
                handles);
          } catch (RuntimeException e) {
            // the node waits on the router: tell it why there is none, not after its timeout
            handles.failed(e);
            throw e;
          }
        });
  }

  private static Behavior<Void> start(
      ActorContext<Void> ctx,
      NodeSettings settings,
      List<LoadedModel> models,
      WorkerDirectory directory,
      InferenceThreads inferenceThreads,
      PoolHealth poolHealth,
      RendezvousRuntime runtime,
      LocalShards localShards,
      Handles handles) {
    // the models of the endpoints the node starts with, and under their names the versions it
    // serves
    java.util.Set<String> watched = new java.util.TreeSet<>();
    models.forEach(m -> watched.add(m.name()));
    // and each version by itself, for the versioned routes (/v2/models/m3/versions/1)
    models.forEach(m -> watched.add(m.name() + "@" + m.version()));
    runtime.endpoints().all().values().forEach(e -> watched.addAll(e.models()));
    ActorRef<ModelDirectory.Command> modelDirectory =
        ctx.spawn(ModelDirectory.create(directory, watched), "model-directory");
    handles
        .manager()
        .complete(
            ctx.spawn(
                ModelManager.create(
                    models,
                    settings.modelDefaults(),
                    ModelManager.Settings.fromConfig(settings.config()),
                    inferenceThreads,
                    poolHealth,
                    (event, model, version, detail) -> {
                      if ("version-ready".equals(event)) {
                        modelDirectory.tell(
                            new ModelDirectory.Watch(java.util.List.of(model + "@" + version)));
                      }
                      runtime
                          .journal()
                          .offerLazily(
                              new io.rendezvous.journal.JournalRecord.Lifecycle(
                                  "lifecycle-"
                                      + runtime.node()
                                      + "-"
                                      + model
                                      + "@"
                                      + version
                                      + "-"
                                      + event
                                      + "-"
                                      + java.util.UUID.randomUUID(),
                                  runtime.node(),
                                  null,
                                  io.rendezvous.journal.JournalRecord.nowMicros(),
                                  event,
                                  model,
                                  version,
                                  0,
                                  detail),
                              null);
                    }),
                "models"));
    java.util.Map<String, String> served = new java.util.HashMap<>();
    models.forEach(m -> served.put(m.name(), m.version()));
    handles
        .endpoints()
        .complete(
            ctx.spawn(
                EndpointRegistry.create(
                    runtime.endpoints(),
                    directory,
                    modelDirectory,
                    served,
                    settings.config().getDuration("rendezvous.lifecycle.member-timeout"),
                    runtime.journal(),
                    runtime.node(),
                    runtime.canaries()),
                "endpoints"));
    Cluster cluster = Cluster.get(ctx.getSystem());
    if (!settings.clustered()) {
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
    }
    MembershipChanges changes = new MembershipChanges(ctx, settings.settleTime());
    RequestRouter.Settings edge = settings.edge();
    ActorRef<ShardingEnvelope<RendezvousEntity.Command>> region =
        RendezvousEntity.init(ctx.getSystem(), runtime);
    if (settings.placesRequestsLocally()) {
      ctx.spawn(
          LocalShardsPoller.create(localShards, settings.placement().refresh()), "local-shards");
    }
    handles
        .router()
        .complete(
            ctx.spawn(
                RequestRouter.create(
                    region,
                    runtime,
                    edge,
                    new RequestRouter.FallbackPolicy() {
                      @Override
                      public Optional<Duration> waitBeforeFallback() {
                        return !settings.clustered()
                            ? Optional.empty()
                            : Optional.of(
                                inFlux(cluster) || changes.recentlyChanged()
                                    ? edge.fallbackAfter()
                                    : edge.stalledAfter());
                      }

                      @Override
                      public boolean isOut(String address) {
                        return settings.clustered() && changes.isOut(address);
                      }
                    }),
                "request-router"));
    return Behaviors.empty();
  }

  /**
   * Some member unreachable, leaving, exiting or down: shards may be out of reach or on the move.
   */
  static boolean inFlux(Cluster cluster) {
    ClusterEvent.CurrentClusterState state = cluster.state();
    if (!state.getUnreachable().isEmpty()) {
      return true;
    }
    for (Member m : state.getMembers()) {
      MemberStatus s = m.status();
      if (s == MemberStatus.leaving() || s == MemberStatus.exiting() || s == MemberStatus.down()) {
        return true;
      }
    }
    return false;
  }
}
