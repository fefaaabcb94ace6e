package io.rendezvous.workers;

import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.TensorData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * One version of a model, loaded once per node from the {@link io.rendezvous.model.ModelStore}
 * through DJL's TensorFlow engine, with its metadata. Workers each take their own {@link Predictor}
 * from it (a predictor is not thread-safe; the model is).
 */
public final class LoadedModel implements AutoCloseable {
  private final ModelSettings settings;
  private final Path directory;
  private final ModelMetadata metadata;
  private final ZooModel<TensorData, float[][]> model;

  private LoadedModel(
      ModelSettings settings,
      Path directory,
      ModelMetadata metadata,
      ZooModel<TensorData, float[][]> model) {
    this.settings = settings;
    this.directory = directory;
    this.metadata = metadata;
    this.model = model;
  }

  /** Loads the model named by {@code settings}; blocking (file reads, graph import). */
  public static LoadedModel load(ModelSettings settings) throws ModelLoadException {
    Path dir = settings.store().resolve(settings.name()).resolve(settings.version());
    try {
      if (!Files.isDirectory(settings.store().resolve(settings.name()))) {
        throw new IOException("no such directory (build the default models with 'mvn install')");
      }
      dir = settings.versionDir();
      ModelMetadata metadata = ModelMetadata.read(dir);
      if (!metadata.name().equals(settings.name())) {
        throw new IOException("metadata names the model '" + metadata.name() + "'");
      }
      if (!metadata.version().equals(dir.getFileName().toString())) {
        throw new IOException(
            "metadata says version " + metadata.version() + " in directory " + dir.getFileName());
      }
      Criteria<TensorData, float[][]> criteria =
          Criteria.builder()
              .setTypes(TensorData.class, float[][].class)
              .optEngine("TensorFlow")
              .optModelPath(dir)
              .optOption("Tags", "serve")
              .optOption("SignatureDefKey", metadata.signature())
              .optTranslator(new ProbabilitiesTranslator(featurizerOf(metadata)))
              .build();
      return new LoadedModel(settings, dir, metadata, criteria.loadModel());
    } catch (IOException | ModelNotFoundException | MalformedModelException | RuntimeException e) {
      throw new ModelLoadException(settings.name(), dir, e);
    }
  }

  /**
   * The featurizer a text model's metadata names, checked against its input width; null for a model
   * that takes its tensor as it comes.
   */
  static io.rendezvous.workers.text.TextFeatures featurizerOf(ModelMetadata m) throws IOException {
    if (m.featurizer() == null) {
      return null;
    }
    try {
      io.rendezvous.workers.text.TextFeatures f =
          io.rendezvous.workers.text.TextFeatures.parse(m.featurizer());
      if (f.width() != m.input().elementsPerInstance()) {
        throw new IOException(
            "featurizer "
                + m.featurizer()
                + " makes "
                + f.width()
                + " features, the input "
                + m.input()
                + " takes "
                + m.input().elementsPerInstance());
      }
      return f;
    } catch (IllegalArgumentException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /**
   * Why a request's tensor does not fit this model, or null: a text model takes {@code text}
   * tensors (its featurizer makes its input), any other its signature's input.
   */
  public String mismatch(TensorData request) {
    if (takesText()) {
      return TensorData.TEXT.equals(request.dtype())
          ? null
          : "dtype " + request.dtype() + " where this text model takes text";
    }
    return metadata.input().mismatch(request);
  }

  /** Whether this model takes text (its metadata names a featurizer). */
  public boolean takesText() {
    return metadata.featurizer() != null;
  }

  public ModelSettings settings() {
    return settings;
  }

  /** The version directory it was loaded from. */
  public Path directory() {
    return directory;
  }

  public ModelMetadata metadata() {
    return metadata;
  }

  public String name() {
    return metadata.name();
  }

  public String version() {
    return metadata.version();
  }

  /** A predictor for one worker thread; the caller closes it. */
  public Predictor<TensorData, float[][]> newPredictor() {
    return model.newPredictor();
  }

  /**
   * A predictor for micro-batches on one worker thread: one call takes the requests of a batch and
   * scores all their instances as one tensor, a probability row per instance. The caller closes it.
   */
  public Predictor<List<TensorData>, List<float[]>> newBatchPredictor() {
    try {
      return model.newPredictor(
          new MicroBatchTranslator(
              (int) metadata.input().elementsPerInstance(), featurizerOf(metadata)));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  // native calls on the model now (warm-ups, predicts), and whether it was asked to close; guarded
  // by this
  private int users;
  private boolean closing;
  private boolean closed;

  /**
   * A native call on the model begins: false once it was asked to close (the call must not start).
   * Every true is followed by {@link #exit}.
   */
  public synchronized boolean enter() {
    if (closing) {
      return false;
    }
    users++;
    return true;
  }

  /** The call begun by {@link #enter} is over; the last one out closes a model asked to close. */
  public void exit() {
    boolean closeNow;
    synchronized (this) {
      users--;
      closeNow = closing && users == 0 && !closed;
      closed |= closeNow;
    }
    if (closeNow) {
      model.close();
    }
  }

  /**
   * Closes the model once (a version retired at run time is closed again at shutdown): at once when
   * no native call is on it, else when the last one ends. Freeing it under a call still running (a
   * worker's warm-up building its session, a predict) crashed the JVM inside TensorFlow; a call
   * hung for good keeps its model open, which costs memory and not the process.
   */
  @Override
  public void close() {
    boolean closeNow;
    synchronized (this) {
      closing = true;
      closeNow = users == 0 && !closed;
      closed |= closeNow;
    }
    if (closeNow) {
      model.close();
    }
  }
}
