package io.rendezvous.monitor;

import io.rendezvous.model.ReferenceSummary;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Drift of live traffic from what each model version saw when it was made. Input drift: the last
 * {@code window} inputs of an endpoint, each reduced to the statistics its versions' reference
 * summaries hold histograms of, against those histograms. Prediction drift: the last {@code window}
 * labels a version predicted on an endpoint against the labels it predicted on its hold-out set.
 * Both as population stability indexes ({@link Psi}), reported once {@code minimum} values are in.
 * Written by the journal watch's thread, read at each scrape.
 */
public final class Drift {
  private final int window;
  private final int minimum;

  /** Per endpoint, per statistic name: the last values. */
  private final Map<String, Map<String, Ring>> inputs = new HashMap<>();

  /** Per series: the last predicted labels. */
  private final Map<PredictionWindows.Series, Ring> predictions = new HashMap<>();

  public Drift(int window, int minimum) {
    if (window < 1 || minimum < 1 || minimum > window) {
      throw new IllegalArgumentException(
          "drift window " + window + " and minimum " + minimum + ": need 1 <= minimum <= window");
    }
    this.window = window;
    this.minimum = minimum;
  }

  /** The value of statistic {@code name} of one input of {@code endpoint}. */
  public synchronized void input(String endpoint, String statistic, double value) {
    inputs
        .computeIfAbsent(endpoint, e -> new HashMap<>())
        .computeIfAbsent(statistic, s -> new Ring(window))
        .add(value);
  }

  public synchronized void prediction(PredictionWindows.Series series, int label) {
    predictions.computeIfAbsent(series, s -> new Ring(window)).add(label);
  }

  /** Forgets a retired version's predictions. */
  public synchronized void forget(String model, String version) {
    predictions.keySet().removeIf(s -> s.model().equals(model) && s.version().equals(version));
  }

  /** Input drift of {@code endpoint} against a version's reference, per statistic it can judge. */
  public synchronized List<Figure> inputDrift(String endpoint, ReferenceSummary reference) {
    List<Figure> out = new ArrayList<>();
    Map<String, Ring> byStatistic = inputs.get(endpoint);
    if (byStatistic == null || reference == null) {
      return out;
    }
    for (ReferenceSummary.Histogram h : reference.inputs()) {
      Ring ring = byStatistic.get(h.statistic());
      if (ring == null || ring.size() < minimum) {
        continue;
      }
      double[] edges = h.edges().stream().mapToDouble(Double::doubleValue).toArray();
      long[] counts = new long[h.shares().size()];
      for (int i = 0; i < ring.size(); i++) {
        counts[bin(edges, ring.get(i))]++;
      }
      double[] expected = h.shares().stream().mapToDouble(Double::doubleValue).toArray();
      out.add(new Figure(h.statistic(), Psi.of(expected, counts), ring.size()));
    }
    return out;
  }

  /** Prediction drift of {@code series} against the labels its version predicted on hold-out. */
  public synchronized Figure predictionDrift(
      PredictionWindows.Series series, List<Double> holdoutPredictedShares) {
    Ring ring = predictions.get(series);
    if (ring == null || ring.size() < minimum || holdoutPredictedShares.isEmpty()) {
      return null;
    }
    long[] counts = new long[holdoutPredictedShares.size()];
    for (int i = 0; i < ring.size(); i++) {
      int label = (int) ring.get(i);
      if (label >= 0 && label < counts.length) {
        counts[label]++;
      }
    }
    double[] expected = holdoutPredictedShares.stream().mapToDouble(Double::doubleValue).toArray();
    return new Figure("predicted_label", Psi.of(expected, counts), ring.size());
  }

  /** The series whose predictions are held. */
  public synchronized List<PredictionWindows.Series> predictionSeries() {
    return new ArrayList<>(predictions.keySet());
  }

  /** The endpoints whose inputs are held. */
  public synchronized List<String> inputEndpoints() {
    return new ArrayList<>(inputs.keySet());
  }

  /** One drift figure: the index over {@code values} recent values. */
  public record Figure(String statistic, double psi, int values) {}

  /**
   * The bin of {@code v}: bin i is {@code [edges[i], edges[i+1])}, values outside go to the ends.
   */
  static int bin(double[] edges, double v) {
    int bins = edges.length - 1;
    for (int i = 1; i < bins; i++) {
      if (v < edges[i]) {
        return i - 1;
      }
    }
    return bins - 1;
  }

  /** The last {@code capacity} values. */
  private static final class Ring {
    private final double[] values;
    private int next;
    private int size;

    Ring(int capacity) {
      values = new double[capacity];
    }

    void add(double v) {
      values[next] = v;
      next = (next + 1) % values.length;
      size = Math.min(size + 1, values.length);
    }

    int size() {
      return size;
    }

    double get(int i) {
      return values[i];
    }
  }
}
