package io.rendezvous.workers.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.rendezvous.model.ModelStore;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.InferenceThreads;
import io.rendezvous.workers.LoadedModel;
import io.rendezvous.workers.ModelPool;
import io.rendezvous.workers.ModelSettings;
import io.rendezvous.workers.PoolHealth;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A text model served by a model pool: a request carries the text itself (a {@code text} tensor);
 * the model's own translator turns it into its input with the featurizer its metadata names, alone
 * or micro-batched with others, and the scores are the ones the featurized vector gets directly.
 */
class TextServingTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  static final InferenceThreads THREADS = new InferenceThreads(2);
  static LoadedModel mlp;

  @BeforeAll
  static void load() throws Exception {
    Path store = Path.of(ConfigFactory.load().getString("rendezvous.model-store.dir"));
    mlp =
        LoadedModel.load(
            new ModelSettings(
                TextTrainer.Kind.MLP.modelName(TextTrainer.DEFAULT_PREFIX),
                store,
                ModelStore.LATEST,
                1,
                // room for the whole burst below: this is about scores, not refusals
                256,
                16,
                Duration.ofMillis(2),
                ModelSettings.Fault.NONE,
                ModelSettings.Watchdog.DEFAULT));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
    THREADS.close();
    mlp.close();
  }

  @Test
  void textIsScoredThroughTheModelsOwnFeaturizer() throws Exception {
    ActorRef<ModelPool.Command> pool =
        testKit.spawn(ModelPool.create(mlp, THREADS, new PoolHealth()));
    TestProbe<ModelPool.ScoreResult> probe = testKit.createTestProbe();
    TextFeatures f = TextFeatures.parse(mlp.metadata().featurizer());
    // hold-out descriptions of the shipped corpus, sent as texts
    List<TextCorpus.Example> examples = TextCorpus.shipped().holdout().subList(0, 200);
    for (int i = 0; i < examples.size(); i++) {
      pool.tell(
          new ModelPool.Score("t" + i, TensorData.text(examples.get(i).text()), probe.getRef()));
    }
    List<ModelPool.ScoreResult> results =
        probe.receiveSeveralMessages(examples.size(), Duration.ofSeconds(30));
    int right = 0;
    try (var direct = mlp.newPredictor()) {
      for (ModelPool.ScoreResult r : results) {
        assertTrue(r instanceof ModelPool.Scored, r.toString());
        ModelPool.Scored s = (ModelPool.Scored) r;
        TextCorpus.Example e = examples.get(Integer.parseInt(s.requestId().substring(1)));
        float[] want =
            direct.predict(TensorData.float32(new long[] {1, f.width()}, f.features(e.text())))[0];
        float[] got = s.probabilities()[0];
        assertArrayEquals(want, got, 1e-5f, e.text());
        int top = 0;
        for (int c = 1; c < got.length; c++) {
          top = got[c] > got[top] ? c : top;
        }
        right += top == e.label() ? 1 : 0;
      }
    }
    assertTrue(right > 0.6 * examples.size(), right + " of " + examples.size() + " right");

    // several texts in one request: a row each
    pool.tell(
        new ModelPool.Score("many", TensorData.text("x11 font", "chess engine"), probe.getRef()));
    ModelPool.Scored many = probe.expectMessageClass(ModelPool.Scored.class);
    assertEquals(2, many.probabilities().length);
  }

  @Test
  void aTextTensorKeepsItsTextsExactly() {
    TensorData t = TensorData.text("Taxi to conference", "déjà vu, 日本語", "");
    assertEquals(List.of("Taxi to conference", "déjà vu, 日本語", ""), t.texts());
    assertEquals(3, t.instances());
    assertEquals(t, new TensorData(TensorData.TEXT, new long[] {3}, t.data()));
    assertThrows(
        IllegalArgumentException.class,
        () -> new TensorData(TensorData.TEXT, new long[] {4}, t.data()));
    assertTrue(mlp.takesText());
  }
}
