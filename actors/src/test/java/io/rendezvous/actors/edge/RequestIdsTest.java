package io.rendezvous.actors.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class RequestIdsTest {
  @Test
  void idsAreUuidV7TimeOrderedUniqueAndCarryTheNode() {
    RequestIds ids = new RequestIds("node-a:25520");
    List<String> issued = new ArrayList<>();
    long before = System.currentTimeMillis();
    for (int i = 0; i < 20_000; i++) {
      issued.add(ids.next());
    }
    assertEquals(issued.size(), new HashSet<>(issued).size());
    List<String> sorted = new ArrayList<>(issued);
    sorted.sort(null);
    assertEquals(issued, sorted, "string order is issue order");
    UUID u = UUID.fromString(issued.get(0));
    assertEquals(7, u.version());
    assertEquals(2, u.variant());
    assertTrue(RequestIds.millisOf(issued.get(0)) >= before);
    assertEquals(RequestIds.nodeHash("node-a:25520"), RequestIds.nodeHashOf(issued.get(123)));
    assertTrue(RequestIds.nodeHash("node-a:25520") != RequestIds.nodeHash("node-b:25520"));
  }

  @Test
  void idsArePlacedInTheShardsThisNodeHosts() {
    RequestIds ids = new RequestIds("node-a:25520");
    LocalShards local =
        new LocalShards(
            new org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor<>(100));
    assertFalse(local.known());
    // this node hosts a third of the shards, as one of three equal nodes would
    java.util.Set<String> hosted = new java.util.HashSet<>();
    for (int s = 0; s < 100; s += 3) {
      hosted.add(Integer.toString(s));
    }
    local.update(hosted);
    assertTrue(local.known());
    var shards = new org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor<>(100);
    int placed = 0;
    for (int i = 0; i < 1000; i++) {
      String id = ids.next(local::isLocal, 32);
      assertEquals(7, id.charAt(14) - '0', "still a UUIDv7: " + id);
      if (hosted.contains(shards.shardId(id))) {
        placed++;
      }
    }
    // a miss needs 32 draws in a row outside the hosted third: (2/3)^32, about 2 in a million
    assertTrue(placed >= 999, placed + " of 1000 placed");
    // the node's warm-up is placed the same way, and stays warm-up's
    int warmPlaced = 0;
    for (int i = 0; i < 1000; i++) {
      String id = ids.nextWarmUp(local::isLocal, 32);
      assertTrue(RequestIds.isWarmUp(id), id);
      if (hosted.contains(shards.shardId(id))) {
        warmPlaced++;
      }
    }
    assertTrue(warmPlaced >= 999, warmPlaced + " of 1000 warm-up ids placed");
    // one attempt: no placement, the id as drawn
    int asDrawn = 0;
    for (int i = 0; i < 1000; i++) {
      if (hosted.contains(shards.shardId(ids.next(local::isLocal, 1)))) {
        asDrawn++;
      }
    }
    assertTrue(asDrawn < 600, asDrawn + " of 1000 in the hosted third by chance");
  }
}
