package io.rendezvous.node;

import io.rendezvous.actors.RendezvousEntity;
import io.rendezvous.actors.edge.LocalShards;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * Asks this node's shard region which request shards it hosts, every {@code every}, and keeps
 * {@link LocalShards} up to date for the edge.
 */
final class LocalShardsPoller {
  private LocalShardsPoller() {}

  sealed interface Command {}

  private enum Tick implements Command {
    INSTANCE
  }

  private record Hosted(ShardRegion.CurrentShardRegionState state) implements Command {}

  static Behavior<Command> create(LocalShards local, Duration every) {
    return Behaviors.<Command>setup(
        ctx -> {
          ActorRef<ShardRegion.CurrentShardRegionState> adapter =
              ctx.messageAdapter(ShardRegion.CurrentShardRegionState.class, Hosted::new);
          ClusterSharding sharding = ClusterSharding.get(ctx.getSystem());
          return Behaviors.withTimers(
              timers -> {
                timers.startTimerWithFixedDelay(Tick.INSTANCE, Duration.ZERO, every);
                return Behaviors.receive(Command.class)
                    .onMessageEquals(
                        Tick.INSTANCE,
                        () -> {
                          sharding
                              .shardState()
                              .tell(new GetShardRegionState(RendezvousEntity.ENTITY_KEY, adapter));
                          return Behaviors.same();
                        })
                    .onMessage(
                        Hosted.class,
                        h -> {
                          Set<String> ids = new HashSet<>();
                          h.state().getShards().forEach(s -> ids.add(s.shardId()));
                          if (ids.size() != local.size()) {
                            ctx.getLog().debug("this node hosts {} request shards", ids.size());
                          }
                          local.update(ids);
                          return Behaviors.same();
                        })
                    .build();
              });
        });
  }
}
