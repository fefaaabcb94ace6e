package io.rendezvous.node.freshness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.model.ModelStore;
import io.rendezvous.model.TensorData;
import io.rendezvous.node.TestNode;
import io.rendezvous.node.kafka.TestKafka;
import io.rendezvous.workers.text.TextCorpus;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The freshness loop for a text endpoint, as for images: users correct texts of the section the
 * live {@code sections-mlp} misses most, which it puts in another section (over HTTP, joined to the
 * journaled text, on the Kafka feedback topic); the trainer retrains the model from the rows its
 * version keeps plus those corrections, checks it, makes it a shadow through the admin API, and
 * promotes it when it beats live on the corrections that come meanwhile. The new version keeps the
 * texts it was trained on, none of the held-out ones.
 */
class TextFreshnessIT {
  @TempDir Path dir;
  static final String MODEL = "sections-mlp";

  /** Distinct missed texts the users correct, each several times. */
  static final int FOCUS = 10;

  static final int CORRECTIONS = 30;
  static final int WEIGHT = 8;

  /** The share of corrections held out (rendezvous.freshness.held-out-share's default). */
  static final double HELD_OUT = 0.2;

  @Test
  void correctedTextsRetrainTheTextModelWhichIsShadowedThenPromoted() throws Exception {
    ModelStore built = new ModelStore(Path.of(System.getProperty("rendezvous.model-store.dir")));
    ModelStore store = new ModelStore(dir.resolve("store"));
    for (String m : List.of("m1", "m2", "m3")) {
      io.rendezvous.node.ModelVersionsTestAccess.copy(
          built.resolve(m, "1"), store.versionDir(m, "1"), "1");
    }
    io.rendezvous.node.ModelVersionsTestAccess.copyTextModels(built, store);
    TextCorpus corpus = TextCorpus.shipped();
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
                    "rendezvous.endpoints.sections.sla = 2s",
                    "rendezvous.freshness.endpoint = sections",
                    "rendezvous.freshness.models = [" + MODEL + "]",
                    "rendezvous.freshness.retrain-after-corrections = " + CORRECTIONS,
                    "rendezvous.freshness.correction-weight = " + WEIGHT,
                    "rendezvous.freshness.checks.holdout-floor = 0.5",
                    "rendezvous.freshness.checks.max-holdout-drop = 0.5",
                    "rendezvous.freshness.checks.min-held-out = 2",
                    "rendezvous.freshness.promote.min-corrections = 6"));
        VersionScorer live = VersionScorer.load(store.root(), MODEL + "@1")) {
      // texts of the section the live model misses most often, put in another section: what users
      // correct (as the image proof corrects shirts), so the retrained model learns to say it
      List<List<TextCorpus.Example>> missedBySection = new ArrayList<>();
      corpus.labels().forEach(l -> missedBySection.add(new ArrayList<>()));
      // (rows it was not trained on: a training row it still misses is one it cannot learn)
      for (TextCorpus.Example e : corpus.holdout()) {
        float[] p = live.score(List.of(TensorData.text(e.text()))).get(0);
        if (VersionScorer.top(p) != e.label()) {
          missedBySection.get(e.label()).add(e);
        }
      }
      List<TextCorpus.Example> missed =
          missedBySection.stream().max(java.util.Comparator.comparingInt(List::size)).orElseThrow();
      assertTrue(
          missed.size() > FOCUS, "the MLP misses " + missed.size() + " of its weakest section");
      // the same texts corrected again and again, as users correct what keeps coming wrong: a
      // retrained model learns a text it was given (a held-out copy of it is then judged right),
      // while one distinct missed text each left it guessing on texts it never saw, and the check
      // rejected it in 2 of 3 runs
      List<TextCorpus.Example> focus = missed.subList(0, FOCUS);
      Iterator<TextCorpus.Example> next =
          java.util.stream.Stream.iterate(0, i -> i + 1).map(i -> focus.get(i % FOCUS)).iterator();
      java.util.Map<String, Integer> trainedCopies = new java.util.HashMap<>();
      for (int i = 0; i < CORRECTIONS; i++) {
        TextCorpus.Example e = next.next();
        boolean heldOut = Correction.isHeldOut(correct(node, e, corpus), HELD_OUT);
        trainedCopies.merge(e.text(), heldOut ? 0 : WEIGHT, Integer::sum);
      }
      JsonNode m = await(node, "shadow", next, corpus);
      String candidate = m.get("candidate").asText();
      assertEquals(MODEL + "@2", candidate, m.toString());
      m = await(node, "live", next, corpus);
      assertEquals("live", role(node, candidate), m.toString());
      assertEquals("canary", role(node, MODEL + "@1"));
      HttpResponse<String> a =
          node.post(
              "/predict?endpoint=sections",
              "application/json",
              "{\"instances\": [\"chess engine with a graphical board\"]}"
                  .getBytes(StandardCharsets.UTF_8));
      assertEquals(200, a.statusCode(), a.body());
      assertEquals(
          "2", Json.MAPPER.readTree(a.body()).get("predictions").get(0).get("version").asText());

      // the new version keeps each corrected text once per correction not held out, each
      // correction-weight times: none of the held-out ones
      TextCorpus kept = TextCorpus.ofVersion(store.versionDir(MODEL, "2"));
      assertTrue(kept.train().size() > corpus.train().size(), "corrections joined the rows");
      for (var t : trainedCopies.entrySet()) {
        long copies = kept.train().stream().filter(e -> e.text().equals(t.getKey())).count();
        assertEquals((long) t.getValue(), copies, "rows of the corrected text " + t.getKey());
      }
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
              "freshness-promoted")) {
        assertTrue(events.contains(e), e + " in " + events);
      }
    }
  }

  /** A prediction of the example's text, then its correction with its section; the request id. */
  static String correct(TestNode node, TextCorpus.Example e, TextCorpus corpus) throws Exception {
    HttpResponse<String> r =
        node.post(
            "/predict?endpoint=sections",
            "application/json",
            ("{\"instances\":[" + Json.MAPPER.writeValueAsString(e.text()) + "]}")
                .getBytes(StandardCharsets.UTF_8));
    assertEquals(200, r.statusCode(), r.body());
    String id = Json.MAPPER.readTree(r.body()).get("predictions").get(0).get("request_id").asText();
    HttpResponse<String> f =
        node.post(
            "/feedback",
            "application/json",
            ("{\"request_id\":\"" + id + "\",\"label\":\"" + corpus.labels().get(e.label()) + "\"}")
                .getBytes(StandardCharsets.UTF_8));
    assertEquals(200, f.statusCode(), f.body());
    return id;
  }

  /** Polls the trainer until the model is in {@code phase}, correcting more texts meanwhile. */
  private static JsonNode await(
      TestNode node, String phase, Iterator<TextCorpus.Example> more, TextCorpus corpus)
      throws Exception {
    long until = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    JsonNode m = FreshnessIT.freshness(node);
    while (System.nanoTime() < until) {
      String now = m.get("phase").asText();
      if (now.equals(phase)) {
        return m;
      }
      if (now.equals("shadow") && more.hasNext()) {
        correct(node, more.next(), corpus);
      } else {
        Thread.sleep(250);
      }
      m = FreshnessIT.freshness(node);
    }
    throw new AssertionError(MODEL + " did not get to " + phase + " in time: " + m);
  }

  static String role(TestNode node, String member) throws Exception {
    JsonNode e = Json.MAPPER.readTree(node.get("/admin/endpoints/sections").body());
    for (JsonNode m : e.get("models")) {
      if (m.get("model").asText().equals(member)) {
        return m.get("role").asText();
      }
    }
    return null;
  }
}
