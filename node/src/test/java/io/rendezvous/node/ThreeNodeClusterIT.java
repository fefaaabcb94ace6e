package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real nodes in one JVM, each behind a TCP relay on its Artery port so its transport can be
 * cut. They form a cluster from seed nodes; requests entering node-1 (which draws request ids as
 * they come) are served by entities on others, requests entering node-3 (which places them in its
 * own shards, the default) on node-3; a node whose transport is cut (no leave) is downed by the
 * Split Brain Resolver and its shards move; a node leaving gracefully loses no request. Test-only
 * failure-detector and SBR timings keep it short.
 */
@Tag("integration")
class ThreeNodeClusterIT {
  static final ActorTestKit kit = ActorTestKit.create();
  static final List<FashionMnist.Sample> holdout = FashionMnist.load().holdout();
  @TempDir static Path dir;
  static final List<TcpProxy> proxies = new ArrayList<>();
  static final List<TestNode> nodes = new ArrayList<>();

  @AfterAll
  static void stopAll() throws Exception {
    for (TestNode n : nodes) {
      try {
        n.close();
      } catch (Exception e) {
        // a node downed by the test has already stopped
      }
    }
    proxies.forEach(TcpProxy::close);
    kit.shutdownTestKit();
  }

  static TestNode startNode(int i, int seedPort) throws Exception {
    int bindPort = TcpProxy.freePort();
    TcpProxy proxy = new TcpProxy(bindPort);
    proxies.add(proxy);
    int canonical = seedPort < 0 ? proxy.port() : seedPort;
    TestNode node =
        TestNode.start(
            dir.resolve("node-" + i),
            String.join(
                "\n",
                "rendezvous.node-name = \"node-" + i + "\"",
                "pekko.remote.artery.canonical.port = " + proxy.port(),
                "pekko.remote.artery.bind.port = " + bindPort,
                "pekko.remote.artery.bind.hostname = \"127.0.0.1\"",
                "rendezvous.seed-nodes = \"127.0.0.1:" + canonical + "\"",
                "pekko.cluster.seed-node-timeout = 2s",
                "pekko.cluster.retry-unsuccessful-join-after = 1s",
                "pekko.cluster.failure-detector.heartbeat-interval = 200ms",
                "pekko.cluster.failure-detector.acceptable-heartbeat-pause = 1s",
                "pekko.cluster.split-brain-resolver.stable-after = 2s",
                "pekko.cluster.sharding.rebalance-interval = 2s",
                // three nodes, three sets of models and a load generator share 2 cores: this test
                // is about where requests go and that they are answered, not about the 50 ms SLA
                "rendezvous.endpoints.rendezvous.sla = 2s",
                // the edge serves a request itself only when its entity is really out of reach, not
                // when a loaded test JVM is slow to accept it
                "rendezvous.edge.fallback-after = 300ms",
                "rendezvous.edge.stalled-after = 1s",
                // node-1 spreads its requests over the cluster by hash; the others keep theirs
                "rendezvous.edge.prefer-local-shards = " + (i == 1 ? "off" : "on")));
    nodes.add(node);
    return node;
  }

  static long upMembers(TestNode n) {
    int count = 0;
    for (org.apache.pekko.cluster.Member m : Cluster.get(n.node.system()).state().getMembers()) {
      if (m.status() == MemberStatus.up()) {
        count++;
      }
    }
    return count;
  }

  static HttpResponse<String> predict(TestNode n, int i) throws Exception {
    return n.post(
        "/predict",
        "application/json",
        HoldoutBodies.json(holdout.get(i % holdout.size())).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void formsSpreadsSurvivesAFailureAndAGracefulLeave() throws Exception {
    TestProbe<Object> wait = kit.createTestProbe();
    TestNode a = startNode(1, -1);
    int seed = proxies.get(0).port();
    TestNode b = startNode(2, seed);
    TestNode c = startNode(3, seed);
    for (TestNode n : List.of(a, b, c)) {
      wait.awaitAssert(
          Duration.ofSeconds(40),
          Duration.ofMillis(250),
          () -> {
            assertEquals(3, upMembers(n));
            return null;
          });
    }
    JsonNode members =
        Json.MAPPER.readTree(
            a.http
                .send(
                    HttpRequest.newBuilder(URI.create(a.node.managementUri() + "/cluster/members"))
                        .GET()
                        .build(),
                    HttpResponse.BodyHandlers.ofString())
                .body());
    assertEquals(3, members.get("members").size());
    wait.awaitAssert(
        Duration.ofSeconds(20),
        Duration.ofMillis(250),
        () -> {
          assertEquals(200, a.get("/v2/health/ready").statusCode());
          assertEquals(200, c.get("/v2/health/ready").statusCode());
          return null;
        });

    // requests entering node-1 are served by entities spread over the cluster
    Map<String, String> entityNodeById = new HashMap<>();
    for (int i = 0; i < 60; i++) {
      HttpResponse<String> r = predict(a, i);
      assertEquals(200, r.statusCode(), r.body());
      JsonNode p = Json.MAPPER.readTree(r.body()).get("predictions").get(0);
      assertTrue(Set.of("m1", "m2", "m3").contains(p.get("model").asText()));
      entityNodeById.put(p.get("request_id").asText(), p.get("node").asText());
    }
    Set<String> entityNodes = new HashSet<>(entityNodeById.values());
    assertTrue(entityNodes.size() > 1, "entities on " + entityNodes);
    String remoteId =
        entityNodeById.entrySet().stream()
            .filter(e -> !e.getValue().equals("node-1"))
            .findFirst()
            .orElseThrow()
            .getKey();
    TestNode owner = entityNodeById.get(remoteId).equals("node-2") ? b : c;
    wait.awaitAssert(
        Duration.ofSeconds(10),
        () -> {
          List<JournalRecord> story =
              owner.journal().stream().filter(r -> r.requestId().equals(remoteId)).toList();
          assertEquals(5, story.size(), "the owner's journal holds the whole story of " + remoteId);
          return null;
        });
    assertTrue(a.journal().stream().noneMatch(r -> r.requestId().equals(remoteId)));
    JsonNode shards =
        Json.MAPPER.readTree(
            a.http
                .send(
                    HttpRequest.newBuilder(
                            URI.create(
                                a.node.managementUri() + "/cluster/shards/rendezvous-request"))
                        .GET()
                        .build(),
                    HttpResponse.BodyHandlers.ofString())
                .body());
    assertTrue(shards.get("regions").size() > 1, shards.toString());

    // requests entering node-3 get ids in shards node-3 hosts (once its region has reported them)
    wait.awaitAssert(
        Duration.ofSeconds(20),
        Duration.ofMillis(250),
        () -> {
          for (int i = 0; i < 30; i++) {
            HttpResponse<String> r = predict(c, i);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(
                "node-3",
                Json.MAPPER.readTree(r.body()).get("predictions").get(0).get("node").asText());
          }
          return null;
        });

    // node-2's transport is cut without a leave: SBR downs it, its shards move, requests succeed
    // again
    proxies.get(1).cut();
    wait.awaitAssert(
        Duration.ofSeconds(40),
        Duration.ofMillis(500),
        () -> {
          assertEquals(2, upMembers(a));
          int all = 0;
          for (org.apache.pekko.cluster.Member m :
              Cluster.get(a.node.system()).state().getMembers()) {
            all++;
          }
          assertEquals(2, all, "node-2 removed");
          return null;
        });
    wait.awaitAssert(
        Duration.ofSeconds(40),
        Duration.ofMillis(500),
        () -> {
          for (int i = 0; i < 20; i++) {
            assertEquals(200, predict(i % 2 == 0 ? a : c, 100 + i).statusCode());
          }
          return null;
        });
    // node-2 saw itself in the minority and stopped
    wait.awaitAssert(
        Duration.ofSeconds(30),
        () -> {
          assertTrue(b.node.system().whenTerminated().isCompleted());
          return null;
        });

    // node-3 leaves gracefully under load: no request sent to node-1 meanwhile fails
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger sent = new AtomicInteger();
    Map<Integer, Integer> statuses = new ConcurrentHashMap<>();
    List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    ExecutorService load = Executors.newFixedThreadPool(2);
    for (int t = 0; t < 2; t++) {
      load.submit(
          () -> {
            while (running.get()) {
              HttpResponse<String> r = predict(a, 200 + sent.incrementAndGet());
              statuses.merge(r.statusCode(), 1, Integer::sum);
              if (r.statusCode() != 200) {
                failures.add(r.body());
              }
            }
            return null;
          });
    }
    wait.awaitAssert(
        Duration.ofSeconds(10),
        () -> {
          assertTrue(sent.get() > 20);
          return null;
        });
    c.node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
    int atLeave = sent.get();
    wait.awaitAssert(
        Duration.ofSeconds(20),
        () -> {
          assertTrue(sent.get() > atLeave + 20);
          return null;
        });
    running.set(false);
    load.shutdown();
    assertTrue(load.awaitTermination(30, TimeUnit.SECONDS));
    StringBuilder stories = new StringBuilder();
    for (String f : failures) {
      String id = Json.MAPPER.readTree(f).get("predictions").get(0).get("request_id").asText();
      for (TestNode n : List.of(a, c)) {
        n.journal().stream()
            .filter(r -> r.requestId().equals(id))
            .forEach(r -> stories.append('\n').append(n.node.name()).append(": ").append(r));
      }
    }
    assertEquals(
        Map.of(200, statuses.values().stream().mapToInt(Integer::intValue).sum()),
        statuses,
        "every request during the graceful leave answered 200: " + failures + stories);
    assertEquals(1, upMembers(a));
    assertFalse(a.node.system().whenTerminated().isCompleted());
  }
}
