package io.rendezvous.node;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * When membership or reachability last changed, and which nodes are out. For a while after a node
 * joins, leaves, becomes unreachable or is removed, shards are being handed off and reallocated
 * (the coordinator may need seconds to write its state), so the edge treats the cluster as in flux
 * for {@code settleTime}. A node is out from when it is unreachable, downed or removed until it is
 * reachable again or (restarted at the same address) joins again: the shards last seen there cannot
 * accept requests meanwhile.
 */
final class MembershipChanges {
  private final AtomicLong lastChangeNanos = new AtomicLong(System.nanoTime());
  private final Duration settleTime;

  /**
   * Addresses (as {@code Address.toString()}) of the nodes that are out; written by the listener.
   */
  private volatile Set<String> out = Set.of();

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
                  trackOut(event);
                  return Behaviors.same();
                }),
            "membership-changes");
    Cluster.get(ctx.getSystem())
        .subscriptions()
        .tell(Subscribe.create(listener, ClusterEvent.ClusterDomainEvent.class));
  }

  private void trackOut(ClusterEvent.ClusterDomainEvent event) {
    if (event instanceof ClusterEvent.UnreachableMember e) {
      out = with(out, e.member().address().toString(), true);
    } else if (event instanceof ClusterEvent.MemberDowned e) {
      out = with(out, e.member().address().toString(), true);
    } else if (event instanceof ClusterEvent.MemberRemoved e) {
      out = with(out, e.member().address().toString(), true);
    } else if (event instanceof ClusterEvent.ReachableMember e) {
      out = with(out, e.member().address().toString(), false);
    } else if (event instanceof ClusterEvent.MemberUp e) {
      out = with(out, e.member().address().toString(), false);
    }
  }

  private static Set<String> with(Set<String> set, String address, boolean in) {
    Set<String> next = new HashSet<>(set);
    if (in) {
      next.add(address);
    } else {
      next.remove(address);
    }
    return Set.copyOf(next);
  }

  /** The node at {@code address} is unreachable, downed or removed (see the class comment). */
  boolean isOut(String address) {
    return out.contains(address);
  }

  boolean recentlyChanged() {
    return System.nanoTime() - lastChangeNanos.get() < settleTime.toNanos();
  }
}
