package io.rendezvous.node.freshness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.model.ModelStore;
import io.rendezvous.model.TensorData;
import io.rendezvous.node.TestNode;
import io.rendezvous.node.kafka.TestKafka;
import io.rendezvous.workers.data.FashionMnist;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The freshness loop on a real node with the project's Kafka broker: corrections of shirts the live
 * m2 gets wrong make the trainer train m2@2, check it, upload it as a shadow; more such corrections
 * promote it (m2@1 the canary); corrections that say the canary was right roll it back (m2@1 live
 * again, m2@2 out and retired); a version trained on shuffled labels is rejected by the checks and
 * never uploaded. Every step is in the journal.
 */
class FreshnessIT {
  @TempDir Path dir;
  static final String SHIRT = "Shirt";

  @Test
  void trainedCheckedShadowedPromotedRolledBackAndABadVersionStopped() throws Exception {
    ModelStore built = new ModelStore(Path.of(System.getProperty("rendezvous.model-store.dir")));
    ModelStore store = new ModelStore(dir.resolve("store"));
    for (String m : List.of("m1", "m2", "m3")) {
      io.rendezvous.node.ModelVersionsTestAccess.copy(
          built.resolve(m, "1"), store.versionDir(m, "1"), "1");
    }
    io.rendezvous.node.ModelVersionsTestAccess.copyTextModels(built, store);
    try (TestKafka kafka = new TestKafka(dir.resolve("kafka")).start();
        TestNode node =
            TestNode.start(
                dir.resolve("node"),
                String.join(
                    "\n",
                    "rendezvous.kafka.enabled = on",
                    "rendezvous.kafka.bootstrap-servers = \"" + kafka.bootstrapServers() + "\"",
                    "rendezvous.model-defaults.store = \""
                        + store.root().toString().replace("\\", "/")
                        + "\"",
                    "rendezvous.model-defaults.version = \"1\"",
                    "rendezvous.endpoints.rendezvous.sla = 2s",
                    "rendezvous.warm-up.requests = 40",
                    "rendezvous.freshness.models = [m2]",
                    "rendezvous.freshness.retrain-after-corrections = 100",
                    "rendezvous.freshness.checks.min-held-out = 2",
                    // the loop's mechanics, not the defaults' judgement: the hard shirts are made
                    // to count (trained from scratch, each eight times), so the candidate learns
                    // them whatever the overall cost; the floor still stops a shuffled version
                    "rendezvous.freshness.correction-weight = 8",
                    "rendezvous.freshness.warm-start = off",
                    "rendezvous.freshness.checks.max-holdout-drop = 0.5",
                    "rendezvous.freshness.promote.min-corrections = 6",
                    "rendezvous.freshness.rollback.min-corrections = 8"));
        VersionScorer m2v1 = VersionScorer.load(store.root(), "m2@1")) {
      int shirt = FashionMnist.LABELS.indexOf(SHIRT);
      // shirts the live m2 calls something else: what users would correct
      List<FashionMnist.Sample> missed = new ArrayList<>();
      for (FashionMnist.Sample s : FashionMnist.corrections()) {
        if (s.label() == shirt && VersionScorer.top(score(m2v1, s)) != shirt) {
          missed.add(s);
        }
      }
      assertTrue(missed.size() > 100, "m2 misses " + missed.size() + " shirts");
      Iterator<FashionMnist.Sample> next = missed.iterator();

      // 100 corrections: trained, checked, a shadow
      for (int i = 0; i < 100; i++) {
        correct(node, next.next(), SHIRT);
      }
      JsonNode m2 = awaitPhase(node, p -> p.equals("shadow") || p.equals("idle"), next, 0);
      assertEquals("shadow", m2.get("phase").asText(), m2.toString());
      assertEquals("m2@2", m2.get("candidate").asText(), m2.toString());
      assertEquals("shadow", role(node, "m2@2"));

      // more of them: it beats live on them and is promoted; m2@1 the canary
      m2 = awaitPhase(node, p -> p.equals("live") || p.equals("idle"), next, 1);
      assertEquals("live", m2.get("phase").asText(), m2.toString());
      assertEquals("live", role(node, "m2@2"));
      assertEquals("canary", role(node, "m2@1"));

      // users now say the canary was right where the two differ: rolled back
      List<FashionMnist.Sample> canaryRight = new ArrayList<>();
      try (VersionScorer m2v2 = VersionScorer.load(store.root(), "m2@2")) {
        for (FashionMnist.Sample s : FashionMnist.load().holdout()) {
          if (VersionScorer.top(score(m2v1, s)) != VersionScorer.top(score(m2v2, s))) {
            canaryRight.add(
                new FashionMnist.Sample(s.index(), s.pixels(), VersionScorer.top(score(m2v1, s))));
          }
        }
      }
      assertTrue(canaryRight.size() >= 20, "they differ on " + canaryRight.size());
      Iterator<FashionMnist.Sample> canaryNext = canaryRight.iterator();
      m2 = awaitPhase(node, p -> p.equals("idle"), canaryNext, -1);
      assertTrue(history(m2).contains("freshness-rolled-back"), m2.toString());
      assertEquals("live", role(node, "m2@1"));
      assertEquals(null, role(node, "m2@2"));

      // a deliberately bad version, through the same path: rejected by the checks, never uploaded
      HttpResponse<String> train =
          node.http.send(
              HttpRequest.newBuilder(node.uri("/admin/freshness/m2/train"))
                  .POST(HttpRequest.BodyPublishers.ofString("{\"shuffle_labels\": true}"))
                  .timeout(Duration.ofSeconds(30))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(202, train.statusCode(), train.body());
      long until = System.nanoTime() + Duration.ofMinutes(3).toNanos();
      while (!history(m2).contains("freshness-rejected") && System.nanoTime() < until) {
        Thread.sleep(500);
        m2 = freshness(node);
      }
      assertTrue(history(m2).contains("below the floor"), m2.toString());
      assertEquals(List.of("1", "2"), store.versions("m2"), "the shuffled one never uploaded");
      assertEquals("live", role(node, "m2@1"));

      // the journal's story of it
      List<String> events =
          node.journal().stream()
              .filter(
                  r -> r instanceof JournalRecord.Lifecycle l && l.event().startsWith("freshness-"))
              .map(r -> ((JournalRecord.Lifecycle) r).event())
              .toList();
      for (String e :
          List.of(
              "freshness-training",
              "freshness-checked",
              "freshness-shadow",
              "freshness-promoting",
              "freshness-promoted",
              "freshness-rolling-back",
              "freshness-rolled-back",
              "freshness-rejected")) {
        assertTrue(events.contains(e), e + " in " + events);
      }
      String metrics = node.get("/metrics").body();
      assertTrue(
          metrics.contains(
              "rendezvous_freshness_events_total{endpoint=\"rendezvous\",event=\"promoted\",model=\"m2\"} 1"),
          metrics.lines().filter(l -> l.contains("freshness")).toList().toString());
      assertFalse(Files.exists(store.versionDir("m2", "3")));
    }
  }

  private static float[] score(VersionScorer v, FashionMnist.Sample s) {
    return v.score(List.of(TensorData.float32(new long[] {1, FashionMnist.PIXELS}, s.scaled())))
        .get(0);
  }

  /** A prediction of {@code s}, then its correction as {@code label}. */
  static void correct(TestNode node, FashionMnist.Sample s, String label) throws Exception {
    StringBuilder pixels = new StringBuilder();
    for (float f : s.scaled()) {
      pixels.append(pixels.length() == 0 ? "" : ",").append(f);
    }
    HttpResponse<String> r =
        node.post(
            "/predict",
            "application/json",
            ("{\"instances\":[[" + pixels + "]]}").getBytes(StandardCharsets.UTF_8));
    assertEquals(200, r.statusCode(), r.body());
    String id = Json.MAPPER.readTree(r.body()).get("predictions").get(0).get("request_id").asText();
    HttpResponse<String> f =
        node.post(
            "/feedback",
            "application/json",
            ("{\"request_id\":\"" + id + "\",\"label\":\"" + label + "\"}")
                .getBytes(StandardCharsets.UTF_8));
    assertEquals(200, f.statusCode(), f.body());
  }

  /**
   * Polls the trainer until m2's phase passes {@code done}; while m2 has a shadow or a promoted
   * version, sends corrections from {@code more} ({@code mode} 1: each as a shirt, -1: with the
   * sample's own label, 0: none); the last state.
   */
  private static JsonNode awaitPhase(
      TestNode node, Predicate<String> done, Iterator<FashionMnist.Sample> more, int mode)
      throws Exception {
    long until = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    JsonNode m2 = freshness(node);
    // "idle" right after the corrections is the trainer not having started yet
    boolean started = !m2.get("phase").asText().equals("idle");
    while (System.nanoTime() < until) {
      String phase = m2.get("phase").asText();
      started |= !phase.equals("idle");
      if (started && done.test(phase)) {
        return m2;
      }
      if (mode != 0 && more.hasNext() && (phase.equals("shadow") || phase.equals("live"))) {
        FashionMnist.Sample s = more.next();
        correct(node, s, mode > 0 ? SHIRT : FashionMnist.LABELS.get(s.label()));
      } else {
        Thread.sleep(250);
      }
      m2 = freshness(node);
    }
    throw new AssertionError("m2 did not get there in time: " + m2);
  }

  static JsonNode freshness(TestNode node) throws Exception {
    HttpResponse<String> r = node.get("/admin/freshness");
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body()).get("models").get(0);
  }

  static String history(JsonNode m2) {
    return m2.get("history").toString();
  }

  /** The role of {@code member} in endpoint rendezvous, or null when it is not in it. */
  static String role(TestNode node, String member) throws Exception {
    JsonNode e = Json.MAPPER.readTree(node.get("/admin/endpoints/rendezvous").body());
    for (JsonNode m : e.get("models")) {
      if (m.get("model").asText().equals(member)) {
        return m.get("role").asText();
      }
    }
    return null;
  }
}
