package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.InputDecoder;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node on a real port: hold-out images over HTTP (JSON and PNG), answers checked against the
 * journal.
 */
class NodeEndToEndTest {
  static final int REQUESTS = 500;
  @TempDir static Path dir;
  static TestNode node;
  static List<FashionMnist.Sample> holdout;
  static final ActorTestKit kit = ActorTestKit.create();

  @BeforeAll
  static void start() throws Exception {
    // The schedule as shipped, with an SLA that a cold JVM sharing 2 cores with 8 test clients
    // meets: this test is about answers and the journal, not about speed.
    node = TestNode.start(dir, "rendezvous.endpoints.rendezvous.sla = 2s");
    holdout = FashionMnist.load().holdout();
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    kit.shutdownTestKit();
  }

  @Test
  void holdoutImagesOverHttpAreAnsweredAndEveryOneIsJournaled() throws Exception {
    ExecutorService clients = Executors.newFixedThreadPool(8);
    List<Future<JsonNode>> answers = new ArrayList<>();
    for (int i = 0; i < REQUESTS; i++) {
      FashionMnist.Sample s = holdout.get(i);
      boolean png = i % 2 == 1;
      answers.add(
          clients.submit(
              () -> {
                HttpResponse<String> r =
                    png
                        ? node.post("/predict", "image/png", HoldoutBodies.png(s))
                        : node.post(
                            "/predict",
                            "application/json",
                            HoldoutBodies.json(s).getBytes(StandardCharsets.UTF_8));
                assertEquals(200, r.statusCode(), r.body());
                return Json.MAPPER.readTree(r.body()).get("predictions").get(0);
              }));
    }
    int correct = 0;
    Set<String> answeredIds = new HashSet<>();
    Map<String, Integer> byModel = new HashMap<>();
    for (int i = 0; i < REQUESTS; i++) {
      JsonNode a = answers.get(i).get();
      answeredIds.add(a.get("request_id").asText());
      byModel.merge(a.get("model").asText(), 1, Integer::sum);
      if (a.get("label_index").asInt() == holdout.get(i).label()) {
        correct++;
      }
    }
    clients.shutdown();
    double accuracy = (double) correct / REQUESTS;
    double m3 =
        ModelMetadata.read(
                new io.rendezvous.model.ModelStore(
                        Path.of(System.getProperty("rendezvous.model-store.dir")))
                    .resolve("m3", io.rendezvous.model.ModelStore.LATEST))
            .holdoutAccuracy();
    assertTrue(
        accuracy >= m3 - 0.04,
        "accuracy " + accuracy + " vs m3 hold-out " + m3 + "; chosen " + byModel);
    assertEquals(REQUESTS, answeredIds.size());

    // late scores keep arriving after the answers; wait for every model's record of every request
    TestProbe<Object> wait = kit.createTestProbe();
    List<JournalRecord> records = new ArrayList<>();
    // only this test's requests: late scores of an earlier test in this class may still be coming
    // in
    wait.awaitAssert(
        Duration.ofSeconds(15),
        Duration.ofMillis(200),
        () -> {
          records.clear();
          node.journal().stream()
              .filter(r -> answeredIds.contains(r.requestId()))
              .forEach(records::add);
          assertEquals(REQUESTS * 5, records.size());
          return null;
        });
    Map<Class<?>, List<JournalRecord>> byType =
        records.stream().collect(Collectors.groupingBy(Object::getClass));
    assertEquals(REQUESTS, byType.get(JournalRecord.Input.class).size());
    assertEquals(3 * REQUESTS, byType.get(JournalRecord.Score.class).size());
    assertEquals(REQUESTS, byType.get(JournalRecord.Answer.class).size());
    assertEquals(answeredIds, ids(byType.get(JournalRecord.Input.class)));
    assertEquals(answeredIds, ids(byType.get(JournalRecord.Answer.class)));
    Map<String, Set<String>> modelsPerRequest =
        byType.get(JournalRecord.Score.class).stream()
            .map(r -> (JournalRecord.Score) r)
            .collect(
                Collectors.groupingBy(
                    JournalRecord.Score::requestId,
                    Collectors.mapping(JournalRecord.Score::model, Collectors.toSet())));
    assertEquals(answeredIds, modelsPerRequest.keySet());
    modelsPerRequest.values().forEach(models -> assertEquals(Set.of("m1", "m2", "m3"), models));
    long images =
        byType.get(JournalRecord.Input.class).stream()
            .filter(
                r ->
                    "image/png".equals(((JournalRecord.Input) r).source())
                        && ((JournalRecord.Input) r).sourceSha256() != null)
            .count();
    assertEquals(REQUESTS / 2, images);
  }

  @Test
  void pngAndJsonOfTheSameImageGiveTheSameTensor() throws Exception {
    FashionMnist.Sample s = holdout.get(7);
    String jsonId =
        Json.MAPPER
            .readTree(
                node.post(
                        "/predict",
                        "application/json",
                        HoldoutBodies.json(s).getBytes(StandardCharsets.UTF_8))
                    .body())
            .get("predictions")
            .get(0)
            .get("request_id")
            .asText();
    byte[] png = HoldoutBodies.png(s);
    String pngId =
        Json.MAPPER
            .readTree(node.post("/predict", "image/png", png).body())
            .get("predictions")
            .get(0)
            .get("request_id")
            .asText();
    Map<String, JournalRecord.Input> inputs =
        node.journal().stream()
            .filter(r -> r instanceof JournalRecord.Input)
            .map(r -> (JournalRecord.Input) r)
            .collect(Collectors.toMap(JournalRecord::requestId, r -> r));
    assertEquals(inputs.get(jsonId).tensor(), inputs.get(pngId).tensor());
    assertEquals(InputDecoder.sha256(png), inputs.get(pngId).sourceSha256());
    assertEquals("json", inputs.get(jsonId).source());
  }

  @Test
  void detailShowsEveryModelTheMostConfidentAndTheAverage() throws Exception {
    HttpResponse<String> r =
        node.post(
            "/predict?detail=all",
            "application/json",
            HoldoutBodies.json(holdout.get(3)).getBytes(StandardCharsets.UTF_8));
    JsonNode a = Json.MAPPER.readTree(r.body()).get("predictions").get(0);
    assertEquals(3, a.get("scores").size());
    assertTrue(a.has("highest_confidence"));
    assertTrue(a.get("average").get("models").asInt() >= 1);
    assertEquals(10, a.get("average").get("probabilities").size());
  }

  @Test
  void severalInstancesRunOneRendezvousEachAndTheClientIdIsEchoed() throws Exception {
    String body =
        "{\"instances\":["
            + HoldoutBodies.json(holdout.get(0)).replace("{\"instances\":[", "").replace("]}", "")
            + ","
            + HoldoutBodies.json(holdout.get(1)).replace("{\"instances\":[", "").replace("]}", "")
            + "]}";
    HttpResponse<String> r =
        node.http.send(
            java.net.http.HttpRequest.newBuilder(node.uri("/predict"))
                .header("Content-Type", "application/json")
                .header("X-Request-Id", "order-42")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    JsonNode p = Json.MAPPER.readTree(r.body()).get("predictions");
    assertEquals(2, p.size());
    assertTrue(!p.get(0).get("request_id").asText().equals(p.get(1).get("request_id").asText()));
    assertEquals("order-42", p.get(0).get("client_id").asText());
  }

  @Test
  void openInferenceProtocolInferMetadataAndHealth() throws Exception {
    float[] x = holdout.get(5).scaled();
    StringBuilder data = new StringBuilder();
    for (int i = 0; i < x.length; i++) {
      data.append(i == 0 ? "" : ",").append(x[i]);
    }
    String body =
        "{\"id\":\"oip-1\",\"inputs\":[{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":["
            + data
            + "]}]}";
    for (String name : List.of("rendezvous", "m1", "m2", "m3")) {
      HttpResponse<String> r =
          node.post(
              "/v2/models/" + name + "/infer",
              "application/json",
              body.getBytes(StandardCharsets.UTF_8));
      assertEquals(200, r.statusCode(), r.body());
      JsonNode o = Json.MAPPER.readTree(r.body());
      assertEquals(name, o.get("model_name").asText());
      assertEquals("oip-1", o.get("id").asText());
      assertEquals(10, o.get("outputs").get(0).get("data").size());
      if (!name.equals("rendezvous")) {
        assertEquals(name, o.get("parameters").get("models").get(0).asText());
      }
    }
    // the tensor's fields in another order, two instances, and fields the server does not know
    String reordered =
        "{\"parameters\":{\"x\":[1,{}]},\"inputs\":[{\"data\":[["
            + data
            + "],["
            + data
            + "]],\"datatype\":\"FP32\","
            + "\"shape\":[2,784],\"name\":\"input\"}],\"id\":\"oip-2\"}";
    HttpResponse<String> two =
        node.post(
            "/v2/models/m1/infer", "application/json", reordered.getBytes(StandardCharsets.UTF_8));
    assertEquals(200, two.statusCode(), two.body());
    assertEquals("oip-2", Json.MAPPER.readTree(two.body()).get("id").asText());
    assertEquals(20, Json.MAPPER.readTree(two.body()).get("outputs").get(0).get("data").size());
    JsonNode meta = Json.MAPPER.readTree(node.get("/v2/models/m3").body());
    assertEquals("1", meta.get("versions").get(0).asText());
    assertEquals(784, meta.get("inputs").get(0).get("shape").get(1).asInt());
    assertEquals(200, node.get("/v2/health/live").statusCode());
    // the model-state gate reads the cluster's desired state once after start: it may still be
    // reading on a loaded machine
    HttpResponse<String> ready = node.awaitReady(java.time.Duration.ofSeconds(30));
    assertEquals(200, ready.statusCode(), ready.body());
    JsonNode server = Json.MAPPER.readTree(node.get("/v2").body());
    assertEquals("rendezvous", server.get("name").asText());
    assertEquals(
        List.of("binary_tensor_data", "model_repository"),
        Json.MAPPER.convertValue(server.get("extensions"), List.class),
        server.toString());
  }

  static Set<String> ids(List<JournalRecord> records) {
    return records.stream().map(JournalRecord::requestId).collect(Collectors.toSet());
  }
}
