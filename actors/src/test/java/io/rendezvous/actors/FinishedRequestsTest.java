package io.rendezvous.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.ActorPath;
import org.apache.pekko.actor.ActorPaths;
import org.junit.jupiter.api.Test;

class FinishedRequestsTest {
  private final AtomicLong clock = new AtomicLong(1_000);
  private final ActorPath client = ActorPaths.fromString("pekko://test/user/client");

  @Test
  void aRequestIsRememberedForAtLeastOneWindowAndAtMostTwo() {
    FinishedRequests f = new FinishedRequests(Duration.ofNanos(100), clock::get);
    f.add("a", client);
    f.add("refused-early", null);
    assertEquals(client, f.lookup("a").client());
    assertNotNull(f.lookup("refused-early"));
    assertNull(f.lookup("b"));
    clock.addAndGet(99);
    assertNotNull(f.lookup("a"));
    // a window on: swapped into the previous generation, still there
    clock.addAndGet(1);
    assertNotNull(f.lookup("a"));
    f.add("b", client);
    clock.addAndGet(99);
    assertNotNull(f.lookup("a"));
    // two windows on: gone; the one added a window later is still there
    clock.addAndGet(1);
    assertNull(f.lookup("a"));
    assertNotNull(f.lookup("b"));
    // generations keep to whole windows even when nobody looks at a boundary: "c" comes late in the
    // third window and goes with it, at the latest when the fifth begins
    clock.addAndGet(90);
    f.add("c", client);
    clock.addAndGet(15);
    assertNotNull(f.lookup("c"));
    clock.addAndGet(94);
    assertNotNull(f.lookup("c"));
    clock.addAndGet(1);
    assertNull(f.lookup("c"));
    // long quiet: everything is stale
    clock.addAndGet(1_000);
    assertNull(f.lookup("b"));
    assertEquals(0, f.size());
  }

  @Test
  void aZeroWindowRemembersNothing() {
    FinishedRequests f = new FinishedRequests(Duration.ZERO, clock::get);
    f.add("a", client);
    assertNull(f.lookup("a"));
    assertEquals(0, f.size());
  }

  @Test
  void entitiesOnManyThreadsLoseNoEntryWithinTheWindow() throws Exception {
    // a real clock and a window far longer than the test: every entry must be found
    FinishedRequests f = new FinishedRequests(Duration.ofMinutes(1), System::nanoTime);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      int base = t * 10_000;
      Thread th =
          new Thread(
              () -> {
                for (int i = 0; i < 10_000; i++) {
                  f.add("r" + (base + i), client);
                }
              });
      threads.add(th);
      th.start();
    }
    for (Thread th : threads) {
      th.join();
    }
    for (int i = 0; i < 40_000; i++) {
      assertNotNull(f.lookup("r" + i), "r" + i);
    }
  }
}
