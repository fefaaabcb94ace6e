package io.rendezvous.model;

/** Reading a model's output: one probability per label. */
public final class Probabilities {
  private Probabilities() {}

  /** Index of the most probable label (the first on a tie). */
  public static int argmax(float[] p) {
    int best = 0;
    for (int i = 1; i < p.length; i++) {
      if (p[i] > p[best]) {
        best = i;
      }
    }
    return best;
  }
}
