package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.actors.edge.RequestIds;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.model.TensorSpec;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Warm before ready: the node sends its own requests to its own HTTP port, through the whole path,
 * before it says ready; they are journaled and marked as warm-up, kept out of its HTTP figures, and
 * a user's request after them is not; the mark is the node's secret and opens nothing once ready.
 */
class WarmUpTest {
  @TempDir Path dir;

  @Test
  void theNodesOwnRequestsRunTheWholePathAreJournaledAndMarkedAsWarmUp() throws Exception {
    int requests = 120;
    try (TestNode node =
        TestNode.start(
            dir,
            "rendezvous.warm-up { requests = " + requests + ", concurrency = 8, timeout = 60s }")) {
      HttpResponse<String> ready = node.get("/v2/health/ready");
      assertEquals(200, ready.statusCode(), ready.body());
      JsonNode body = Json.MAPPER.readTree(ready.body());
      assertEquals("ok", body.get("checks").get("warm-up").asText(), ready.body());

      HttpResponse<String> user =
          node.post(
              "/v2/models/rendezvous/infer",
              "application/json",
              HoldoutBodies.oip(FashionMnist.load().holdout().get(0))
                  .getBytes(StandardCharsets.UTF_8));
      assertEquals(200, user.statusCode(), user.body());
      String userId =
          Json.MAPPER.readTree(user.body()).get("parameters").get("request_ids").get(0).asText();

      List<JournalRecord> records = node.journal();
      List<JournalRecord.Input> inputs =
          records.stream()
              .filter(r -> r instanceof JournalRecord.Input)
              .map(r -> (JournalRecord.Input) r)
              .toList();
      List<JournalRecord.Input> warm =
          inputs.stream().filter(i -> RequestIds.isWarmUp(i.requestId())).toList();
      assertEquals(requests, warm.size(), "every warm-up request journaled its input");
      warm.forEach(i -> assertEquals("warm-up", i.source(), i.toString()));
      // spread over every endpoint: the rendezvous and each model on its own
      Map<String, Long> byEndpoint =
          warm.stream()
              .collect(Collectors.groupingBy(JournalRecord.Input::endpoint, Collectors.counting()));
      assertTrue(
          byEndpoint.keySet().containsAll(List.of("rendezvous", "m1", "m2", "m3")),
          byEndpoint.toString());
      // every warm-up request was answered 200, not just sent
      long answered =
          records.stream()
              .filter(r -> r instanceof JournalRecord.Answer a && a.status() == 200)
              .filter(r -> RequestIds.isWarmUp(r.requestId()))
              .map(JournalRecord::requestId)
              .distinct()
              .count();
      assertEquals(requests, answered);
      // the user's request is the user's, and the only inference request the node counted
      assertTrue(!RequestIds.isWarmUp(userId), userId);
      String metrics = node.get("/metrics").body();
      long inferCounted =
          metrics
              .lines()
              .filter(l -> l.startsWith("rendezvous_http_requests_total{"))
              .filter(l -> l.contains("route=\"infer\""))
              .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
              .sum();
      assertEquals(1, inferCounted, metrics);
      // a client sending the header gets no warm-up treatment: its request is a user's
      HttpResponse<String> guessed =
          node.http.send(
              java.net.http.HttpRequest.newBuilder(node.uri("/v2/models/rendezvous/infer"))
                  .header("Content-Type", "application/json")
                  .header(WarmUpMark.HEADER, "0123456789abcdef0123456789abcdef")
                  .POST(
                      java.net.http.HttpRequest.BodyPublishers.ofString(
                          HoldoutBodies.oip(FashionMnist.load().holdout().get(1))))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, guessed.statusCode(), guessed.body());
      assertTrue(
          !RequestIds.isWarmUp(
              Json.MAPPER
                  .readTree(guessed.body())
                  .get("parameters")
                  .get("request_ids")
                  .get(0)
                  .asText()),
          guessed.body());
      assertTrue(
          inputs.stream()
              .anyMatch(i -> i.requestId().equals(userId) && !"warm-up".equals(i.source())));
    }
  }

  @Test
  void untilTheJitSettlesItRunsPastItsMinimumAndAtItsTimeoutTheNodeIsReadyAllTheSame()
      throws Exception {
    // a JIT that never counts as settled (below 0.0000001% of the window): the warm-up runs on
    // past its 20 requests to its timeout; the node is ready then all the same
    try (TestNode node =
        TestNode.start(
            dir,
            "rendezvous.warm-up { requests = 20, concurrency = 4, timeout = 3s,"
                + " until-jit-settles = on, jit-settled = 0.000000001, settle-window = 500ms }")) {
      HttpResponse<String> ready = node.get("/v2/health/ready");
      assertEquals(200, ready.statusCode(), ready.body());
      long warm =
          node.journal().stream()
              .filter(r -> r instanceof JournalRecord.Input)
              .filter(r -> RequestIds.isWarmUp(r.requestId()))
              .count();
      assertTrue(warm > 20, "ran on past its minimum while the JIT compiled: " + warm);
    }
  }

  @Test
  void aSettledJitEndsTheWarmUpAfterItsMinimumBeforeTheTimeout() throws Exception {
    // any compiler share counts as settled: the warm-up ends once its 20 requests and one window
    // are over, by its own measure, not at the 2-minute timeout
    try (TestNode node =
        TestNode.start(
            dir,
            "rendezvous.warm-up { requests = 20, concurrency = 4, timeout = 120s,"
                + " until-jit-settles = on, jit-settled = 1000, settle-window = 200ms }")) {
      WarmUp.Summary s = (WarmUp.Summary) node.node.warmedUp().toCompletableFuture().get();
      assertTrue(s.finished(), s.toString());
      assertTrue(s.requests() >= 20, s.toString());
      assertTrue(s.jitShare() >= 0, "the compiler's share was measured: " + s);
    }
  }

  @Test
  void theMarkIsTheSecretAndOnlyWhileOpen() {
    WarmUpMark mark = new WarmUpMark();
    java.util.Optional<String> secret = java.util.Optional.of(mark.secret());
    assertTrue(!mark.marks(secret), "not before the warm-up");
    mark.open();
    assertTrue(mark.marks(secret));
    assertTrue(!mark.marks(java.util.Optional.of(mark.secret() + "0")));
    assertTrue(!mark.marks(java.util.Optional.of("")));
    assertTrue(!mark.marks(java.util.Optional.empty()));
    assertTrue(!mark.secret().equals(new WarmUpMark().secret()), "a secret of each node");
    mark.close();
    assertTrue(!mark.marks(secret), "not after it");
  }

  @Test
  void warmUpBodiesAreWhatTheDecoderTakesWithSeventeenDigits() {
    byte[] body =
        WarmUp.body(new TensorSpec("input", "float32", List.of(-1L, 4L)), new SplittableRandom(1));
    String text = new String(body, StandardCharsets.UTF_8);
    assertTrue(text.startsWith("{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4]"), text);
    String first = text.substring(text.indexOf("\"data\":[") + 8).split("[,\\]]")[0];
    // as numpy and Python's json write a float64: 17 significant digits
    assertEquals(
        17, first.substring(first.indexOf('.') + 1).replaceFirst("^0+", "").length(), first);
  }
}
