package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.model.ModelStore;
import io.rendezvous.workers.data.FashionMnist;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model lifecycle across a cluster of real nodes in one JVM, each with a model store of its
 * own: a version uploaded to one node reaches the others (fetched over HTTP with the inter-node
 * token, its hash checked); a role change holds on every node before the admin API reports it
 * applied; a node that joins later serves the current versions and roles before it says it is
 * ready; the internal route refuses a fetch without the token.
 */
@Tag("integration")
class ClusterLifecycleIT {
  @TempDir static Path dir;
  static final List<TestNode> nodes = new ArrayList<>();
  static final HttpClient http = HttpClient.newHttpClient();
  static final String ADMIN = "cluster-admin-4b1e";
  static final String INTERNAL = "inter-node-7d02";
  static final List<FashionMnist.Sample> SAMPLES = FashionMnist.load().holdout().subList(0, 20);

  @AfterAll
  static void stopAll() {
    for (TestNode n : nodes) {
      try {
        n.close();
      } catch (Exception e) {
        // stopping the others matters more
      }
    }
  }

  static TestNode startNode(int i, int seedPort, int ownPort) throws Exception {
    ModelStore built = new ModelStore(Path.of(System.getProperty("rendezvous.model-store.dir")));
    ModelStore store = new ModelStore(dir.resolve("store-" + i));
    for (String m : List.of("m1", "m2", "m3")) {
      ModelVersionsTest.copy(built.resolve(m, "1"), store.versionDir(m, "1"), "1");
    }
    ModelVersionsTest.copyTextModels(built, store);
    TestNode node =
        TestNode.start(
            dir.resolve("node-" + i),
            String.join(
                "\n",
                "rendezvous.node-name = \"node-" + i + "\"",
                "pekko.remote.artery.canonical.port = " + ownPort,
                "rendezvous.seed-nodes = \"127.0.0.1:" + seedPort + "\"",
                "pekko.cluster.seed-node-timeout = 2s",
                "pekko.cluster.retry-unsuccessful-join-after = 1s",
                "rendezvous.model-defaults.store = \""
                    + store.root().toString().replace("\\", "/")
                    + "\"",
                "rendezvous.model-defaults.version = \"1\"",
                "rendezvous.auth.admin = \"" + ADMIN + "\"",
                "rendezvous.auth.internal = \"" + INTERNAL + "\"",
                "rendezvous.endpoints.rendezvous.sla = 2s",
                // m3 answers unless it is very late: which version answered is what is checked
                "rendezvous.endpoints.rendezvous.schedule = [{model = m3, after = 0ms},"
                    + " {model = m2, after = 500ms}, {model = m1, after = 1000ms}]"));
    nodes.add(node);
    return node;
  }

  static long upMembers(TestNode n) {
    long count = 0;
    for (org.apache.pekko.cluster.Member m : Cluster.get(n.node.system()).state().getMembers()) {
      if (m.status() == MemberStatus.up()) {
        count++;
      }
    }
    return count;
  }

  static void await(String what, Duration patience, java.util.concurrent.Callable<Boolean> check)
      throws Exception {
    long until = System.nanoTime() + patience.toNanos();
    while (!check.call()) {
      if (System.nanoTime() > until) {
        throw new AssertionError("not within " + patience.toSeconds() + " s: " + what);
      }
      Thread.sleep(100);
    }
  }

  static HttpResponse<String> send(
      TestNode n, String method, String path, String token, String type, byte[] body)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(n.uri(path))
            .timeout(Duration.ofSeconds(180))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (type != null) {
      b.header("Content-Type", type);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode admin(TestNode n, String method, String path, String json, int status)
      throws Exception {
    HttpResponse<String> r =
        send(
            n,
            method,
            path,
            ADMIN,
            json == null ? null : "application/json",
            json == null ? null : json.getBytes(StandardCharsets.UTF_8));
    assertEquals(status, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body());
  }

  static String roleOn(TestNode n, String member) throws Exception {
    return ModelLifecycleTest.role(
        admin(n, "GET", "/admin/endpoints/rendezvous", null, 200), member);
  }

  static JsonNode predict(TestNode n, int i) throws Exception {
    HttpResponse<String> r =
        n.post(
            "/predict",
            "application/json",
            ("{\"instances\":["
                    + ModelLifecycleTest.instances(SAMPLES.get(i % SAMPLES.size()))
                    + "]}")
                .getBytes(StandardCharsets.UTF_8));
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body()).get("predictions").get(0);
  }

  @Test
  void aVersionUploadedToOneNodeIsServedEverywhereAndItsRolesHoldOnEveryNode() throws Exception {
    int portA = TcpProxy.freePort();
    TestNode a = startNode(1, portA, portA);
    TestNode b = startNode(2, portA, TcpProxy.freePort());
    await("two members up", Duration.ofSeconds(60), () -> upMembers(a) == 2 && upMembers(b) == 2);

    // model files between nodes: only with the inter-node token
    String archive = "/internal/models/m3/versions/1/archive";
    assertEquals(401, send(a, "GET", archive, null, null, null).statusCode());
    assertEquals(401, send(a, "GET", archive, "wrong", null, null).statusCode());
    assertEquals(401, send(a, "GET", archive, ADMIN, null, null).statusCode());
    assertEquals(200, send(a, "GET", archive, INTERNAL, null, null).statusCode());

    // a new m3, uploaded to node 1 only
    ModelStore built = new ModelStore(Path.of(System.getProperty("rendezvous.model-store.dir")));
    HttpResponse<String> up =
        send(
            a,
            "POST",
            "/admin/models/m3/versions",
            ADMIN,
            "application/gzip",
            ModelLifecycleTest.tarGz(built.resolve("m3", "1"), "", null));
    assertEquals(201, up.statusCode(), up.body());
    assertTrue(Files.notExists(dir.resolve("store-2").resolve("m3").resolve("2")));

    // a shadow: reported applied only once both nodes apply it, so node 2 has it already
    JsonNode shadow =
        admin(a, "PUT", "/admin/endpoints/rendezvous/models/m3@2", "{\"role\":\"shadow\"}", 200);
    assertEquals(2, shadow.get("nodes").size(), shadow.toString());
    shadow.get("nodes").forEach(n -> assertTrue(n.get("applied").asBoolean(), shadow.toString()));
    assertEquals("shadow", roleOn(b, "m3@2"));
    assertTrue(
        Files.exists(dir.resolve("store-2").resolve("m3").resolve("2").resolve("saved_model.pb")),
        "node 2 fetched the version from node 1");

    // promoted on node 1: applied on node 2 before the answer, so node 2's next request uses it
    JsonNode promoted =
        admin(a, "POST", "/admin/endpoints/rendezvous/promote", "{\"model\":\"m3@2\"}", 200);
    long generation = promoted.get("generation").asLong();
    promoted
        .get("nodes")
        .forEach(n -> assertTrue(n.get("applied").asBoolean(), promoted.toString()));
    assertEquals("live", roleOn(b, "m3@2"));
    assertEquals("canary", roleOn(b, "m3@1"));
    JsonNode onB = predict(b, 1);
    assertEquals("m3", onB.get("model").asText());
    assertEquals("2", onB.get("version").asText(), onB.toString());
    assertEquals(
        generation,
        admin(b, "GET", "/admin/endpoints/rendezvous", null, 200).get("generation").asLong());

    // a node that joins later: the current versions and roles before it says it is ready
    TestNode c = startNode(3, portA, TcpProxy.freePort());
    await(
        "node 3 ready",
        Duration.ofSeconds(90),
        () -> c.get("/v2/health/ready").statusCode() == 200);
    assertEquals("live", roleOn(c, "m3@2"));
    assertEquals("canary", roleOn(c, "m3@1"));
    JsonNode onC = predict(c, 2);
    assertEquals("2", onC.get("version").asText(), onC.toString());
    assertEquals(200, c.get("/v2/models/m3/versions/2/ready").statusCode());
  }
}
