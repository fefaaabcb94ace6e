package io.rendezvous.node.freshness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.ModelStore;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.FashionMnist.Sample;
import io.rendezvous.workers.training.Trainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The freshness trainer's child process, run as the trainer runs it (a low-priority JVM of its
 * own): the held-out corrections are never trained on (the version's training-data hash is that of
 * the shipped training part plus exactly the others), both versions are judged on them and on the
 * hold-out set, and a version trained on shuffled labels falls below the hold-out floor, so the
 * checks never let it become a shadow.
 */
class RetrainTest {
  @TempDir static Path dir;
  static FreshnessSettings settings;
  static Path store;
  static String live;
  static List<Correction> corrections;

  @BeforeAll
  static void setUp() throws Exception {
    settings = FreshnessSettings.fromConfig(ConfigFactory.load());
    store = Path.of(ConfigFactory.load().getString("rendezvous.model-store.dir"));
    live = new ModelStore(store).latest("m2").orElseThrow();
    corrections = new ArrayList<>();
    int i = 0;
    // 200 shirts, corrected by users with their true label
    for (Sample s : FashionMnist.corrections()) {
      if (s.label() == 6 && corrections.size() < 200) {
        String id = "0190f0c2-0000-7000-8000-" + String.format("%012d", i++);
        corrections.add(
            new Correction(
                id,
                "rendezvous",
                0,
                s.label(),
                s.scaled(),
                List.of(),
                Correction.isHeldOut(id, settings.heldOutShare())));
      }
    }
  }

  @Test
  void heldOutCorrectionsAreNeverTrainedOn() throws Exception {
    JsonNode r =
        ChildTrainer.run(
            new ChildTrainer.Request("m2", corrections, store, live, 7, 2, false, null, null),
            dir.resolve("good"),
            settings);
    Set<String> heldOut = new HashSet<>();
    r.get("held_out_ids").forEach(n -> heldOut.add(n.asText()));
    Set<String> trained = new HashSet<>();
    r.get("trained_ids").forEach(n -> trained.add(n.asText()));
    long expectedHeld = corrections.stream().filter(Correction::heldOut).count();
    assertTrue(expectedHeld > 10 && expectedHeld < 80, "about a fifth held out: " + expectedHeld);
    assertEquals(expectedHeld, heldOut.size());
    assertEquals(corrections.size() - expectedHeld, trained.size());
    for (Correction c : corrections) {
      assertEquals(c.heldOut(), heldOut.contains(c.requestId()), c.requestId());
      assertEquals(!c.heldOut(), trained.contains(c.requestId()), c.requestId());
    }
    // the version's data hash: the shipped training part plus each correction not held out, twice
    List<Sample> expected = new ArrayList<>(FashionMnist.load().train());
    for (Correction c : corrections) {
      if (!c.heldOut()) {
        Sample s = new Sample(-1, RetrainMain.pixels(c.input()), c.labelIndex());
        expected.add(s);
        expected.add(s);
      }
    }
    ModelMetadata m = ModelMetadata.read(Path.of(r.get("candidate").get("dir").asText()));
    assertEquals(Trainer.dataHash(expected), m.trainingDataHash());
    assertTrue(
        m.description().contains("with " + trained.size() + " corrections"), m.description());
    // fine-tuned from the live version's weights, as the trainer is configured by default
    assertEquals("m2@" + live, r.get("started_from").asText(), r.toString());
    assertEquals(settings.warmStartEpochs(), r.get("epochs").asInt());
    assertEquals(expectedHeld, r.get("held_out").asLong());
    assertEquals(live, r.get("live").get("version").asText());
    assertTrue(r.get("candidate").get("holdout_accuracy").asDouble() > 0.7, r.toString());
    assertEquals(10, r.get("candidate").get("holdout_accuracy_by_class").size());
  }

  /**
   * A text model retrained as an image model is: corrections of a text endpoint (their texts as
   * sent) join the rows live was trained on, the held-out ones never do, and the new version keeps
   * exactly what it was trained on, so the next retraining starts from it.
   */
  @Test
  void aTextModelIsRetrainedFromItsRowsAndTheCorrectionsNotHeldOut() throws Exception {
    String model = "sections-nb";
    String liveText = new ModelStore(store).latest(model).orElseThrow();
    io.rendezvous.workers.text.TextCorpus shipped = io.rendezvous.workers.text.TextCorpus.shipped();
    List<Correction> texts = new ArrayList<>();
    int i = 0;
    // texts users sent and corrected with their section: hold-out rows the model never saw
    for (io.rendezvous.workers.text.TextCorpus.Example e : shipped.holdout().subList(0, 150)) {
      String id = "0190f0c2-0000-7000-9000-" + String.format("%012d", i++);
      texts.add(
          new Correction(
              id,
              "sections",
              0,
              e.label(),
              new float[0],
              List.of(),
              Correction.isHeldOut(id, settings.heldOutShare()),
              e.text()));
    }
    JsonNode r =
        ChildTrainer.run(
            new ChildTrainer.Request(model, texts, store, liveText, 7, 2, false, null, null),
            dir.resolve("text"),
            settings);
    long expectedHeld = texts.stream().filter(Correction::heldOut).count();
    assertEquals(expectedHeld, r.get("held_out").asLong(), r.toString());
    assertEquals(texts.size() - expectedHeld, r.get("trained_corrections").asLong());
    Path candidate = Path.of(r.get("candidate").get("dir").asText());
    io.rendezvous.workers.text.TextCorpus kept =
        io.rendezvous.workers.text.TextCorpus.ofVersion(candidate);
    Set<String> keys = new HashSet<>();
    kept.train().forEach(e -> keys.add(e.key()));
    for (Correction c : texts) {
      assertEquals(!c.heldOut(), keys.contains(c.requestId()), c.requestId());
    }
    assertEquals(shipped.train().size() + 2 * (texts.size() - expectedHeld), kept.train().size());
    assertEquals(shipped.holdout().size(), kept.holdout().size(), "the same hold-out part");
    assertEquals(shipped.labels(), ModelMetadata.read(candidate).labels());
    assertTrue(r.get("candidate").get("holdout_accuracy").asDouble() > 0.5, r.toString());
    assertEquals(
        shipped.labels().size(), r.get("candidate").get("holdout_accuracy_by_class").size());
    assertEquals(liveText, r.get("live").get("version").asText());

    // retrained again from that version with the same corrections: each still counts twice, not 4x
    Path candidateStore = candidate.getParent().getParent();
    JsonNode again =
        ChildTrainer.run(
            new ChildTrainer.Request(
                model,
                texts,
                candidateStore,
                candidate.getFileName().toString(),
                8,
                2,
                false,
                null,
                null),
            dir.resolve("text-again"),
            settings);
    io.rendezvous.workers.text.TextCorpus keptAgain =
        io.rendezvous.workers.text.TextCorpus.ofVersion(
            Path.of(again.get("candidate").get("dir").asText()));
    assertEquals(kept.train().size(), keptAgain.train().size(), again.toString());
  }

  @Test
  void aVersionTrainedOnShuffledLabelsFailsTheChecks() throws Exception {
    JsonNode r =
        ChildTrainer.run(
            new ChildTrainer.Request("m2", corrections, store, live, 7, 1, true, null, null),
            dir.resolve("shuffled"),
            settings);
    assertTrue(r.get("shuffled_labels").asBoolean());
    assertTrue(r.get("started_from").isNull(), "a bad version from scratch: " + r);
    FreshnessPolicy.Verdict v = FreshnessPolicy.check(Freshness.evaluation(r), settings);
    assertFalse(v.passed(), v.toString());
    assertTrue(
        v.reasons().stream().anyMatch(w -> w.contains("below the floor")), v.reasons().toString());
  }
}
