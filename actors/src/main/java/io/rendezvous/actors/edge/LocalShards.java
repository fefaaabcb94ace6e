package io.rendezvous.actors.edge;

import io.rendezvous.actors.RendezvousEntity;
import java.util.Set;
import org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor;

/**
 * The request shards this node hosts, as its shard region last reported them. The edge gives a new
 * request an id in one of them ({@link RequestIds#next(java.util.function.Predicate, int)}), so
 * that a request is served on the node it entered: no serialization of its input to another node
 * and back, and a request entering one node never waits on another, alive or dead. Sharding still
 * owns the id: anything sent to the request later (a resend, feedback) finds its entity through the
 * region, and a shard that moves (a node joins, leaves or dies) is found where it went.
 *
 * <p>Written by one poller actor (an immutable snapshot swapped in whole), read by the edge's
 * threads. Empty until the first report, and on a node that prefers no shards: then ids are drawn
 * as they come and requests spread over the cluster by hash.
 */
public final class LocalShards {
  private final HashCodeMessageExtractor<RendezvousEntity.Command> shards;
  private volatile Set<String> local = Set.of();

  /** {@code shards}: how request ids map to shards ({@link RendezvousEntity#shards}). */
  public LocalShards(HashCodeMessageExtractor<RendezvousEntity.Command> shards) {
    this.shards = shards;
  }

  /** Replaces the set of shard ids hosted here. */
  public void update(Set<String> shardIds) {
    local = Set.copyOf(shardIds);
  }

  /** Whether the entity of request {@code id} would live on this node now. */
  public boolean isLocal(String id) {
    return local.contains(shards.shardId(id));
  }

  /** Whether the node hosts any shard yet (until then no id can be placed). */
  public boolean known() {
    return !local.isEmpty();
  }

  public int size() {
    return local.size();
  }
}
