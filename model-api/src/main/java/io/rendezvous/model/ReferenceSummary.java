package io.rendezvous.model;

import java.util.List;

/**
 * What a model version saw and said when it was made, for drift checks against live traffic: the
 * share of each label in its hold-out set's truth and in its own predictions there, and histograms
 * of a few statistics of its training inputs.
 */
public record ReferenceSummary(
    List<Double> holdoutLabelShares, List<Double> predictedLabelShares, List<Histogram> inputs) {
  public ReferenceSummary {
    holdoutLabelShares = List.copyOf(holdoutLabelShares);
    predictedLabelShares = List.copyOf(predictedLabelShares);
    inputs = List.copyOf(inputs);
  }

  /**
   * The share of values in each bin: bin i is {@code [edges[i], edges[i+1])}, the last one closed.
   */
  public record Histogram(String statistic, List<Double> edges, List<Double> shares) {
    public Histogram {
      edges = List.copyOf(edges);
      shares = List.copyOf(shares);
      if (edges.size() != shares.size() + 1) {
        throw new IllegalArgumentException(
            statistic + ": " + edges.size() + " edges for " + shares.size() + " bins");
      }
    }

    /** Shares of {@code values} in {@code bins} equal bins over {@code [low, high]}. */
    public static Histogram of(
        String statistic, double[] values, double low, double high, int bins) {
      double[] counts = new double[bins];
      for (double v : values) {
        int i = (int) Math.floor((v - low) / (high - low) * bins);
        counts[Math.max(0, Math.min(bins - 1, i))]++;
      }
      List<Double> edges = new java.util.ArrayList<>();
      List<Double> shares = new java.util.ArrayList<>();
      for (int i = 0; i <= bins; i++) {
        edges.add(low + (high - low) * i / bins);
      }
      for (double c : counts) {
        shares.add(values.length == 0 ? 0 : c / values.length);
      }
      return new Histogram(statistic, edges, shares);
    }
  }
}
