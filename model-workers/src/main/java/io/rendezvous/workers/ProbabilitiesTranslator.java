package io.rendezvous.workers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.translate.NoBatchifyTranslator;
import ai.djl.translate.TranslatorContext;
import io.rendezvous.model.TensorData;
import java.util.List;

/**
 * A [n, features] float32 tensor in, the model's [n, classes] probabilities out. Batches are formed
 * by stacking instances into one tensor before the call, so the translator itself never batchifies.
 */
final class ProbabilitiesTranslator implements NoBatchifyTranslator<TensorData, float[][]> {
  private final io.rendezvous.workers.text.TextFeatures featurizer;

  /** {@code featurizer}: a text model's, or null. */
  ProbabilitiesTranslator(io.rendezvous.workers.text.TextFeatures featurizer) {
    this.featurizer = featurizer;
  }

  @Override
  public NDList processInput(TranslatorContext ctx, TensorData request) {
    TensorData input = MicroBatchTranslator.featurized(List.of(request), featurizer).get(0);
    long[] shape = input.shape();
    long features = 1;
    for (int d = 1; d < shape.length; d++) {
      features *= shape[d];
    }
    return new NDList(
        MicroBatchTranslator.pack(ctx.getNDManager(), List.of(input), (int) features));
  }

  @Override
  public float[][] processOutput(TranslatorContext ctx, NDList list) {
    NDArray probabilities = list.get(0);
    long[] shape = probabilities.getShape().getShape();
    int rows = (int) shape[0];
    int classes = (int) shape[1];
    float[] flat = probabilities.toFloatArray();
    float[][] out = new float[rows][classes];
    for (int r = 0; r < rows; r++) {
      System.arraycopy(flat, r * classes, out[r], 0, classes);
    }
    return out;
  }
}
