package io.rendezvous.workers.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.inference.Predictor;
import com.typesafe.config.ConfigFactory;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.ModelStore;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.LoadedModel;
import io.rendezvous.workers.ModelSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The text models the build trained on the shipped corpus, loaded as the node loads models (DJL's
 * TensorFlow engine) and fed the hold-out texts through the featurizer their metadata names: the
 * first choice beats the majority-class baseline by a wide margin, every model's measured accuracy
 * is the one its metadata claims (the export and the featurizer agree), and the fallback is the
 * cheapest by parameter count and by the width of its input.
 */
class TextModelsTest {
  static TextCorpus corpus;
  static double baseline;
  static ModelStore store;

  @BeforeAll
  static void load() {
    corpus = TextCorpus.shipped();
    baseline = TextTrainer.majorityBaseline(corpus);
    store = new ModelStore(Path.of(ConfigFactory.load().getString("rendezvous.model-store.dir")));
  }

  /** The accuracy of the newest version of {@code name} on the hold-out texts, and its metadata. */
  static Object[] measure(String name) throws Exception {
    ModelSettings s =
        new ModelSettings(
            name,
            store.root(),
            ModelStore.LATEST,
            1,
            0,
            1,
            Duration.ZERO,
            ModelSettings.Fault.NONE,
            ModelSettings.Watchdog.DEFAULT);
    try (LoadedModel m = LoadedModel.load(s);
        Predictor<List<TensorData>, List<float[]>> p = m.newBatchPredictor()) {
      TextFeatures f = TextFeatures.parse(m.metadata().featurizer());
      List<TensorData> inputs = new ArrayList<>();
      for (TextCorpus.Example e : corpus.holdout()) {
        inputs.add(TensorData.float32(new long[] {1, f.width()}, f.features(e.text())));
      }
      int right = 0;
      for (int from = 0; from < inputs.size(); from += 256) {
        List<float[]> rows = p.predict(inputs.subList(from, Math.min(inputs.size(), from + 256)));
        for (int i = 0; i < rows.size(); i++) {
          float[] r = rows.get(i);
          int top = 0;
          for (int c = 1; c < r.length; c++) {
            top = r[c] > r[top] ? c : top;
          }
          right += top == corpus.holdout().get(from + i).label() ? 1 : 0;
        }
      }
      return new Object[] {(double) right / inputs.size(), m.metadata()};
    }
  }

  @Test
  void theFirstChoiceBeatsTheMajorityBaselineByAWideMargin() throws Exception {
    assertTrue(baseline > 0.1 && baseline < 0.25, "majority class share " + baseline);
    double best = 0;
    for (TextTrainer.Kind k : TextTrainer.Kind.values()) {
      Object[] r = measure(k.modelName(TextTrainer.DEFAULT_PREFIX));
      double accuracy = (double) r[0];
      ModelMetadata meta = (ModelMetadata) r[1];
      assertEquals(meta.holdoutAccuracy(), accuracy, 1e-9, k + ": served as trained");
      assertEquals(corpus.labels(), meta.labels());
      assertTrue(accuracy > baseline + 0.3, k + ": " + accuracy + " against " + baseline);
      best = k == TextTrainer.Kind.MLP ? accuracy : best;
    }
    assertTrue(best > 3 * baseline && best > baseline + 0.5, "the MLP: " + best);
  }

  @Test
  void theFallbackIsTheCheapestModel() throws Exception {
    List<ModelMetadata> metas = new ArrayList<>();
    for (TextTrainer.Kind k : TextTrainer.Kind.values()) {
      String name = k.modelName(TextTrainer.DEFAULT_PREFIX);
      metas.add(ModelMetadata.read(store.versionDir(name, store.latest(name).orElseThrow())));
    }
    ModelMetadata nb = metas.get(0);
    ModelMetadata logreg = metas.get(1);
    ModelMetadata mlp = metas.get(2);
    assertTrue(nb.parameters() < logreg.parameters() && logreg.parameters() < mlp.parameters());
    assertEquals(TextTrainer.Kind.MLP.parameters(corpus.labels().size()), mlp.parameters());
    // operations per input: a dense layer's multiply-adds are its input width times its outputs
    assertTrue(nb.input().shape().get(1) < mlp.input().shape().get(1));
    assertEquals(nb.input().shape().get(1), (long) TextFeatures.parse(nb.featurizer()).width());
  }
}
