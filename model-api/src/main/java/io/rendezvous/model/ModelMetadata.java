package io.rendezvous.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What a model version says about itself ({@value #FILE_NAME} beside the SavedModel): identity,
 * label names, how good it was on the hold-out, the tensors its serving signature takes and gives,
 * what it was made from ({@code trainingDataHash}, {@code seed}), a hash of its SavedModel's files
 * ({@code contentHash}: two versions with the same hash are the same model), and reference
 * summaries of its inputs and predictions for drift checks. {@code featurizer}: for a model whose
 * requests are not tensors (text), the id of what turns one into its input tensor ({@code
 * io.rendezvous.workers.text.TextFeatures}); null for a model that takes its tensor as it comes.
 * {@code parameters}: its trainable parameter count (0 where not recorded).
 */
public record ModelMetadata(
    int schemaVersion,
    String name,
    String version,
    String description,
    List<String> labels,
    double holdoutAccuracy,
    int holdoutCount,
    long trainingTimeMillis,
    String trainedAt,
    String buildHash,
    String signature,
    TensorSpec input,
    TensorSpec output,
    String trainingDataHash,
    long seed,
    String contentHash,
    ReferenceSummary reference,
    String featurizer,
    long parameters) {

  public static final String FILE_NAME = "rendezvous-model.json";
  public static final int SCHEMA_VERSION = 2;
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  public ModelMetadata {
    labels = List.copyOf(labels);
  }

  /** A model that takes its tensor as it comes, its parameter count not recorded. */
  public ModelMetadata(
      int schemaVersion,
      String name,
      String version,
      String description,
      List<String> labels,
      double holdoutAccuracy,
      int holdoutCount,
      long trainingTimeMillis,
      String trainedAt,
      String buildHash,
      String signature,
      TensorSpec input,
      TensorSpec output,
      String trainingDataHash,
      long seed,
      String contentHash,
      ReferenceSummary reference) {
    this(
        schemaVersion,
        name,
        version,
        description,
        labels,
        holdoutAccuracy,
        holdoutCount,
        trainingTimeMillis,
        trainedAt,
        buildHash,
        signature,
        input,
        output,
        trainingDataHash,
        seed,
        contentHash,
        reference,
        null,
        0);
  }

  /**
   * What a request to this model carries: a text model's requests are texts ({@code text} [-1]),
   * which its featurizer turns into {@link #input}; any other model's, that input itself.
   */
  public TensorSpec requestInput() {
    return featurizer == null ? input : new TensorSpec("text", TensorData.TEXT, List.of(-1L));
  }

  public static ModelMetadata read(Path modelDir) throws IOException {
    Path file = modelDir.resolve(FILE_NAME);
    if (!Files.isRegularFile(file)) {
      throw new IOException("no " + FILE_NAME + " in " + modelDir);
    }
    ModelMetadata m = JSON.readValue(file.toFile(), ModelMetadata.class);
    if (m.schemaVersion() != SCHEMA_VERSION) {
      throw new IOException(
          file
              + " has schema version "
              + m.schemaVersion()
              + ", this build reads "
              + SCHEMA_VERSION);
    }
    return m;
  }

  public void write(Path modelDir) throws IOException {
    JSON.writeValue(modelDir.resolve(FILE_NAME).toFile(), this);
  }
}
