package io.rendezvous.node;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * When membership or reachability last changed. For a while after a node joins, leaves, becomes
 * unreachable or is removed, shards are being handed off and reallocated (the coordinator may need
 * seconds to write its state), so the edge treats the cluster as in flux for {@code settleTime}.
 */
final class MembershipChanges {
  private final AtomicLong lastChangeNanos = new AtomicLong(System.nanoTime());
  private final Duration settleTime;

  MembershipChanges(ActorContext<?> ctx, Duration settleTime) {
    this.settleTime = settleTime;
    ActorRef<ClusterEvent.ClusterDomainEvent> listener =
        ctx.spawn(
            Behaviors.receiveMessage(
                event -> {
                  if (event instanceof ClusterEvent.MemberEvent
                      || event instanceof ClusterEvent.ReachabilityEvent) {
                    lastChangeNanos.set(System.nanoTime());
                  }
                  return Behaviors.same();
                }),
            "membership-changes");
    Cluster.get(ctx.getSystem())
        .subscriptions()
        .tell(Subscribe.create(listener, ClusterEvent.ClusterDomainEvent.class));
  }

  boolean recentlyChanged() {
    return System.nanoTime() - lastChangeNanos.get() < settleTime.toNanos();
  }
}
