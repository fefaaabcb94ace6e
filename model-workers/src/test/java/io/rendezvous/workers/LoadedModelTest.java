package io.rendezvous.workers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.inference.Predictor;
import io.rendezvous.model.TensorData;
import org.junit.jupiter.api.Test;

/**
 * Closing a model while a native call is on it (a worker warming up, a predict) waits for the call:
 * freeing it underneath crashed the JVM inside TensorFlow. No call starts once it was asked to
 * close.
 */
class LoadedModelTest {
  @Test
  void aModelClosesOnlyWhenItsLastCallIsOver() throws Exception {
    LoadedModel model = TestModels.load("m1");
    assertTrue(model.enter(), "an open model takes calls");
    try (Predictor<TensorData, float[][]> predictor = model.newPredictor()) {
      model.close();
      assertFalse(model.enter(), "no call starts once it was asked to close");
      // the call that was on it when close came runs to its end on a live model
      TensorData zero = TensorData.float32(new long[] {1, 784}, new float[784]);
      float[][] out = predictor.predict(zero);
      assertEquals(10, out[0].length);
      model.exit();
    }
    assertFalse(model.enter(), "closed for good");
    model.close(); // closing again (shutdown after a retire) is harmless
  }
}
