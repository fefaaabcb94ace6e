package io.rendezvous.workers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.inference.Predictor;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.Probabilities;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.FashionMnist.Sample;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The models the build trained, measured again here through DJL on the fixed hold-out. */
class DefaultModelsTest {
  static final Map<String, Double> accuracy = new HashMap<>();
  static FashionMnist data;

  @BeforeAll
  static void measure() throws Exception {
    data = FashionMnist.load();
    List<Sample> holdout = data.holdout();
    for (String name : TestModels.names()) {
      try (LoadedModel model = TestModels.load(name);
          Predictor<TensorData, float[][]> predictor = model.newPredictor()) {
        float[] flat = new float[holdout.size() * FashionMnist.PIXELS];
        for (int i = 0; i < holdout.size(); i++) {
          System.arraycopy(
              holdout.get(i).scaled(), 0, flat, i * FashionMnist.PIXELS, FashionMnist.PIXELS);
        }
        float[][] p =
            predictor.predict(
                TensorData.float32(new long[] {holdout.size(), FashionMnist.PIXELS}, flat));
        int correct = 0;
        for (int i = 0; i < holdout.size(); i++) {
          if (Probabilities.argmax(p[i]) == holdout.get(i).label()) {
            correct++;
          }
        }
        accuracy.put(name, (double) correct / holdout.size());
      }
    }
  }

  @Test
  void cnnIsGoodEnoughAndBeatsSoftmaxRegression() {
    assertTrue(accuracy.get("m3") >= 0.85, "m3 hold-out accuracy " + accuracy.get("m3"));
    assertTrue(
        accuracy.get("m1") < accuracy.get("m3"),
        "m1 " + accuracy.get("m1") + " vs m3 " + accuracy.get("m3"));
  }

  @Test
  void metadataMatchesWhatTheModelsDoOnTheHoldout() throws Exception {
    for (String name : TestModels.names()) {
      ModelMetadata m = ModelMetadata.read(TestModels.settings(name).versionDir());
      assertEquals(name, m.name());
      // the reference for drift checks: label shares that add up, and the predicted ones within
      // the hold-out accuracy's reach of the truth
      assertEquals(
          1.0, m.reference().holdoutLabelShares().stream().mapToDouble(d -> d).sum(), 1e-9);
      assertEquals(
          1.0, m.reference().predictedLabelShares().stream().mapToDouble(d -> d).sum(), 1e-9);
      assertEquals(2, m.reference().inputs().size());
      assertEquals(64, m.contentHash().length());
      assertEquals(42L, m.seed());
      assertEquals(FashionMnist.LABELS, m.labels());
      assertEquals(data.holdout().size(), m.holdoutCount());
      assertEquals(m.holdoutAccuracy(), accuracy.get(name), 0.005, name);
      assertEquals(List.of(-1L, 784L), m.input().shape());
      assertEquals("serving_default", m.signature());
    }
  }

  @Test
  void splitIsFixedAndDisjoint() {
    assertEquals(8_000, data.train().size());
    assertEquals(2_000, data.holdout().size());
    long overlap =
        data.train().stream()
            .map(Sample::index)
            .filter(i -> data.holdout().stream().anyMatch(h -> h.index() == i))
            .count();
    assertEquals(0, overlap);
    assertEquals(data.holdout().get(0).index(), FashionMnist.load().holdout().get(0).index());
  }
}
