package io.rendezvous.model;

import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The statistics of one input that a version's reference summary can hold histograms of, by the
 * names the trainer gives them. An input is the flat float tensor the models saw.
 */
public final class InputStatistics {
  private InputStatistics() {}

  private static final Map<String, ToDoubleFunction<float[]>> BY_NAME =
      Map.of(
          "mean_pixel", InputStatistics::mean,
          "non_zero_share", InputStatistics::nonZeroShare);

  /** The statistic called {@code name}, or null when this build does not know it. */
  public static ToDoubleFunction<float[]> named(String name) {
    return BY_NAME.get(name);
  }

  public static java.util.Set<String> names() {
    return BY_NAME.keySet();
  }

  public static double mean(float[] values) {
    double sum = 0;
    for (float v : values) {
      sum += v;
    }
    return values.length == 0 ? 0 : sum / values.length;
  }

  public static double nonZeroShare(float[] values) {
    int lit = 0;
    for (float v : values) {
      lit += v > 0 ? 1 : 0;
    }
    return values.length == 0 ? 0 : (double) lit / values.length;
  }
}
