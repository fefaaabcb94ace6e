package io.rendezvous.node.freshness;

import ai.djl.inference.Predictor;
import ai.djl.translate.TranslateException;
import io.rendezvous.model.ModelRef;
import io.rendezvous.model.ModelStore;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.LoadedModel;
import io.rendezvous.workers.ModelLoadException;
import io.rendezvous.workers.ModelSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * One stored model version, loaded in this process to score inputs again: a replay's, or a trainer
 * judging its candidate. Single-threaded (one predictor).
 */
public final class VersionScorer implements AutoCloseable {
  private final String ref;
  private final LoadedModel model;
  private final Predictor<List<TensorData>, List<float[]>> predictor;

  private VersionScorer(String ref, LoadedModel model) {
    this.ref = ref;
    this.model = model;
    this.predictor = model.newBatchPredictor();
  }

  /** Version {@code ref} ({@code m2@3}; a name alone is its newest version) of {@code store}. */
  public static VersionScorer load(Path store, String ref) throws ModelLoadException {
    ModelRef r = ModelRef.parse(ref);
    ModelSettings settings =
        new ModelSettings(
            r.name(),
            store,
            r.versioned() ? r.version() : ModelStore.LATEST,
            1,
            0,
            1,
            Duration.ZERO,
            ModelSettings.Fault.NONE,
            ModelSettings.Watchdog.DEFAULT);
    LoadedModel m = LoadedModel.load(settings);
    return new VersionScorer(ModelRef.of(m.name(), m.version()), m);
  }

  /** {@code name@version}. */
  public String ref() {
    return ref;
  }

  public String name() {
    return model.name();
  }

  public String version() {
    return model.version();
  }

  public List<String> labels() {
    return model.metadata().labels();
  }

  public double holdoutAccuracy() {
    return model.metadata().holdoutAccuracy();
  }

  /** A probability row per instance of {@code inputs}, in order. */
  public List<float[]> score(List<TensorData> inputs) {
    if (inputs.isEmpty()) {
      return List.of();
    }
    try {
      return predictor.predict(inputs);
    } catch (TranslateException e) {
      throw new IllegalStateException(ref + " could not score " + inputs.size() + " inputs", e);
    }
  }

  /** The index of the highest probability. */
  public static int top(float[] p) {
    return io.rendezvous.model.Probabilities.argmax(p);
  }

  @Override
  public void close() {
    predictor.close();
    model.close();
  }
}
