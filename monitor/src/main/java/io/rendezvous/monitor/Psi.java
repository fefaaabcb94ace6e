package io.rendezvous.monitor;

/**
 * The population stability index of an observed distribution against an expected one: {@code sum((o
 * - e) * ln(o / e))} over the bins. Below 0.1 is usually read as no shift, 0.1-0.25 as a moderate
 * one, above 0.25 as a large one.
 */
public final class Psi {
  /** Added to every share so that an empty bin on either side is not infinite. */
  static final double SMOOTHING = 1e-4;

  private Psi() {}

  /** {@code expected}: shares (summing to about 1); {@code observed}: counts per bin. */
  public static double of(double[] expected, long[] observed) {
    if (expected.length != observed.length) {
      throw new IllegalArgumentException(
          expected.length + " expected bins but " + observed.length + " observed");
    }
    long total = 0;
    for (long c : observed) {
      total += c;
    }
    if (total == 0) {
      return Double.NaN;
    }
    double psi = 0;
    for (int i = 0; i < expected.length; i++) {
      double e = expected[i] + SMOOTHING;
      double o = (double) observed[i] / total + SMOOTHING;
      psi += (o - e) * Math.log(o / e);
    }
    return psi;
  }
}
