package io.rendezvous.workers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.NoBatchifyTranslator;
import ai.djl.translate.TranslatorContext;
import io.rendezvous.workers.model.TensorData;

/**
 * A [n, features] float32 tensor in, the model's [n, classes] probabilities out. Batches are formed by
 * stacking instances into one tensor before the call, so the translator itself never batchifies.
 */
final class ProbabilitiesTranslator implements NoBatchifyTranslator<TensorData, float[][]> {
  @Override
  public NDList processInput(TranslatorContext ctx, TensorData input) {
    NDArray array = ctx.getNDManager().create(input.asFloats(), new Shape(input.shape()));
    array.setName("input");
    return new NDList(array);
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
