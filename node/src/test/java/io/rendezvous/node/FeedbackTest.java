package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.workers.data.FashionMnist;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Corrections on one real node over real HTTP: joined to the request's input and every score in the
 * journal, once per (request, source), refused clearly when the request, the label or the token is
 * wrong.
 */
class FeedbackTest {
  static final String TOKEN = "feedback-token-5c2a";
  @TempDir static Path dir;
  static TestNode node;
  static final List<FashionMnist.Sample> SAMPLES = FashionMnist.load().holdout().subList(0, 8);

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start(dir, "rendezvous.auth.feedback = \"" + TOKEN + "\"");
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  /** The request id of a fresh /predict answer for sample {@code i}. */
  static String predict(TestNode n, int i) throws Exception {
    HttpResponse<String> r =
        n.post(
            "/predict",
            "application/json",
            ("{\"instances\":[" + ModelLifecycleTest.instances(SAMPLES.get(i)) + "]}")
                .getBytes(StandardCharsets.UTF_8));
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body()).get("predictions").get(0).get("request_id").asText();
  }

  static HttpResponse<String> feedback(TestNode n, String path, String token, String body)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(n.uri(path))
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(30))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return n.http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A request id as node {@code nodeName} would have issued it at {@code millis}. */
  static String idAt(String nodeName, long millis) {
    UUID drawn = UUID.fromString(new io.rendezvous.actors.edge.RequestIds(nodeName).next());
    long msb = (millis << 16) | (drawn.getMostSignificantBits() & 0xFFFFL);
    return new UUID(msb, drawn.getLeastSignificantBits()).toString();
  }

  static List<JournalRecord.Feedback> feedbackRecords(TestNode n) {
    return n.journal().stream()
        .filter(r -> r instanceof JournalRecord.Feedback)
        .map(r -> (JournalRecord.Feedback) r)
        .toList();
  }

  @Test
  void aCorrectionIsJoinedToItsInputAndEveryScoreOnce() throws Exception {
    String id = predict(node, 0);
    String body = "{\"request_id\":\"" + id + "\",\"label\":\"Sandal\",\"source\":\"slack:T1:U7\"}";
    HttpResponse<String> first = feedback(node, "/feedback", TOKEN, body);
    assertEquals(200, first.statusCode(), first.body());
    JsonNode taken = Json.MAPPER.readTree(first.body());
    assertEquals(id, taken.get("request_id").asText());
    assertEquals("Sandal", taken.get("label").asText());
    assertEquals(5, taken.get("label_index").asInt());
    assertFalse(taken.get("duplicate").asBoolean());
    assertEquals(3, taken.get("scores").asInt(), "every model's score: " + first.body());

    // the same again, and by its index: one record
    HttpResponse<String> again =
        feedback(
            node,
            "/feedback",
            TOKEN,
            "{\"request_id\":\"" + id + "\",\"label\":5,\"source\":\"slack:T1:U7\"}");
    assertEquals(200, again.statusCode(), again.body());
    assertTrue(Json.MAPPER.readTree(again.body()).get("duplicate").asBoolean());
    HttpResponse<String> other =
        feedback(
            node,
            "/feedback",
            TOKEN,
            "{\"request_id\":\"" + id + "\",\"label\":\"Coat\",\"source\":\"slack:T1:U7\"}");
    assertEquals(409, other.statusCode(), other.body());
    assertTrue(other.body().contains("already corrected"), other.body());

    List<JournalRecord.Feedback> records =
        feedbackRecords(node).stream().filter(f -> f.requestId().equals(id)).toList();
    assertEquals(1, records.size(), "one record per request and source");
    JournalRecord.Feedback f = records.get(0);
    JournalRecord.Input input =
        node.journal().stream()
            .filter(r -> r instanceof JournalRecord.Input && r.requestId().equals(id))
            .map(r -> (JournalRecord.Input) r)
            .findFirst()
            .orElseThrow();
    assertEquals(input, f.input(), "the input exactly as the models saw it");
    assertArrayEquals(SAMPLES.get(0).scaled(), f.input().tensor().asFloats());
    assertEquals(
        List.of("m1", "m2", "m3"),
        f.scores().stream().map(JournalRecord.Score::model).sorted().toList());
    assertEquals("Sandal", f.label());
    assertEquals("slack:T1:U7", f.source());
    assertEquals(id, f.answer().requestId());
  }

  /** A correction rewards each version by its own score: right where its top label was the one. */
  @Test
  void aCorrectionRewardsEveryModelByItsOwnScore() throws Exception {
    JsonNode before = rewards();
    String id = predict(node, 1);
    String truth = FashionMnist.LABELS.get(SAMPLES.get(1).label());
    String body = "{\"request_id\":\"" + id + "\",\"label\":\"" + truth + "\"}";
    HttpResponse<String> r = feedback(node, "/feedback", TOKEN, body);
    assertEquals(200, r.statusCode(), r.body());
    JournalRecord.Feedback f =
        feedbackRecords(node).stream().filter(x -> x.requestId().equals(id)).findFirst().get();
    for (JournalRecord.Score s : f.scores()) {
      String version = s.model() + "@" + s.version();
      float[] p = s.probabilities();
      int top = 0;
      for (int i = 1; i < p.length; i++) {
        top = p[i] > p[top] ? i : top;
      }
      boolean right = top == SAMPLES.get(1).label();
      // every node hears of a correction after it is journaled: wait for this one's to count it
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      JsonNode after = rewards();
      while (count(after, version, "right") + count(after, version, "wrong")
              == count(before, version, "right") + count(before, version, "wrong")
          && System.nanoTime() < deadline) {
        Thread.sleep(50);
        after = rewards();
      }
      assertEquals(
          count(before, version, "right") + (right ? 1 : 0),
          count(after, version, "right"),
          version + ": " + after);
      assertEquals(
          count(before, version, "wrong") + (right ? 0 : 1),
          count(after, version, "wrong"),
          version + ": " + after);
    }
  }

  private static JsonNode rewards() throws Exception {
    HttpResponse<String> r = node.get("/admin/endpoints/rendezvous");
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body()).get("feedback_rewards");
  }

  private static long count(JsonNode rewards, String version, String field) {
    JsonNode v = rewards.get(version);
    return v == null ? 0 : v.get(field).asLong();
  }

  @Test
  void theModelRouteChecksTheEndpointAndAnotherSourceIsAnotherCorrection() throws Exception {
    String id = predict(node, 1);
    HttpResponse<String> wrong =
        feedback(
            node,
            "/v2/models/m3/feedback",
            TOKEN,
            "{\"request_id\":\"" + id + "\",\"label\":\"Trouser\"}");
    assertEquals(400, wrong.statusCode(), wrong.body());
    assertTrue(wrong.body().contains("went to endpoint 'rendezvous'"), wrong.body());
    for (String source : List.of("alice", "bob")) {
      HttpResponse<String> r =
          feedback(
              node,
              "/v2/models/rendezvous/feedback",
              TOKEN,
              "{\"request_id\":\""
                  + id
                  + "\",\"label\":\"trouser\",\"source\":\""
                  + source
                  + "\"}");
      assertEquals(200, r.statusCode(), r.body());
      assertEquals("Trouser", Json.MAPPER.readTree(r.body()).get("label").asText());
    }
    assertEquals(2, feedbackRecords(node).stream().filter(f -> f.requestId().equals(id)).count());
  }

  @Test
  void wrongRequestsAreRefusedClearly() throws Exception {
    String id = predict(node, 2);
    String ok = "{\"request_id\":\"" + id + "\",\"label\":\"Bag\"}";
    HttpResponse<String> noToken = feedback(node, "/feedback", null, ok);
    assertEquals(401, noToken.statusCode(), noToken.body());
    assertTrue(noToken.body().contains("bearer token"), noToken.body());
    assertEquals(401, feedback(node, "/feedback", "not-the-token", ok).statusCode());

    HttpResponse<String> label =
        feedback(node, "/feedback", TOKEN, "{\"request_id\":\"" + id + "\",\"label\":\"Hat\"}");
    assertEquals(422, label.statusCode(), label.body());
    assertTrue(label.body().contains("Ankle boot"), "names the labels: " + label.body());

    // a request id this node could have issued a minute ago, that no request had
    String unknown = idAt(node.node.name(), System.currentTimeMillis() - 60_000);
    HttpResponse<String> missing =
        feedback(
            node, "/feedback", TOKEN, "{\"request_id\":\"" + unknown + "\",\"label\":\"Bag\"}");
    assertEquals(404, missing.statusCode(), missing.body());
    assertTrue(missing.body().contains("no node's journal holds"), missing.body());

    String old = idAt(node.node.name(), System.currentTimeMillis() - 30L * 24 * 3600 * 1000);
    HttpResponse<String> expired =
        feedback(node, "/feedback", TOKEN, "{\"request_id\":\"" + old + "\",\"label\":\"Bag\"}");
    assertEquals(404, expired.statusCode(), expired.body());
    assertTrue(expired.body().contains("older than the journals keep"), expired.body());

    // issued by a node that is not in the cluster (gone, or not reachable now): its journal may
    // hold the story, so the answer is "try again", not "no such request"
    String elsewhere = idAt("a-node-that-left", System.currentTimeMillis() - 1_000);
    HttpResponse<String> unreachable =
        feedback(
            node, "/feedback", TOKEN, "{\"request_id\":\"" + elsewhere + "\",\"label\":\"Bag\"}");
    assertEquals(503, unreachable.statusCode(), unreachable.body());
    assertTrue(unreachable.body().contains("not reachable"), unreachable.body());

    for (String bad :
        List.of(
            "not json",
            "[]",
            "{\"label\":\"Bag\"}",
            "{\"request_id\":\"" + id + "\"}",
            "{\"request_id\":\"" + UUID.randomUUID() + "\",\"label\":\"Bag\"}",
            "{\"request_id\":\"" + id + "\",\"label\":\"Bag\",\"source\":\"a b\"}")) {
      HttpResponse<String> r = feedback(node, "/feedback", TOKEN, bad);
      assertEquals(400, r.statusCode(), bad + " -> " + r.body());
      assertTrue(Json.MAPPER.readTree(r.body()).has("error"), r.body());
    }
    assertTrue(
        feedbackRecords(node).stream().noneMatch(f -> f.requestId().equals(id)),
        "nothing refused was journaled");
  }
}
