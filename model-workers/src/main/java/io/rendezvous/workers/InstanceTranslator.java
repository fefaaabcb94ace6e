package io.rendezvous.workers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.Batchifier;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorContext;

/**
 * One instance ({@code features} floats) in, its class probabilities out. DJL's stack batchifier joins
 * the instances of a {@code batchPredict} call into one [n, features] tensor and splits the [n, classes]
 * output again, so a worker scores a micro-batch in one call of the model.
 */
final class InstanceTranslator implements Translator<float[], float[]> {
  private final int features;

  InstanceTranslator(int features) {
    this.features = features;
  }

  @Override
  public NDList processInput(TranslatorContext ctx, float[] instance) {
    NDArray array = ctx.getNDManager().create(instance, new Shape(features));
    array.setName("input");
    return new NDList(array);
  }

  @Override
  public float[] processOutput(TranslatorContext ctx, NDList list) {
    return list.get(0).toFloatArray();
  }

  @Override
  public Batchifier getBatchifier() {
    return Batchifier.STACK;
  }
}
