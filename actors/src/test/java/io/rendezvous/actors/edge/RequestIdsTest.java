package io.rendezvous.actors.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
