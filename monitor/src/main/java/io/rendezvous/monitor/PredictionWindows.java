package io.rendezvous.monitor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the models predicted, over time (the MLwatch view): per endpoint, model and version, how
 * often each label was predicted and with what average confidence, and per endpoint the mix of
 * answers (by chosen model, stage, policy and status) and their decision times, in windows of a
 * fixed length kept for a horizon. Windows are placed by the journal records' own times, so the
 * same journal always gives the same windows. Written by the journal watch's thread, read by the
 * dashboard's: each call holds the lock briefly.
 */
public final class PredictionWindows {
  /** Decision-time histogram bounds in microseconds (the last bucket is open). */
  static final long[] DECISION_BOUNDS_MICROS = {
    1_000, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000, 40_000, 50_000, 75_000,
    100_000, 250_000
  };

  /** One model version serving one endpoint. */
  public record Series(String endpoint, String model, String version) {}

  private final long windowMicros;
  private final long horizonMicros;
  private final TreeMap<Long, Window> windows = new TreeMap<>();

  public PredictionWindows(java.time.Duration window, java.time.Duration horizon) {
    this.windowMicros = window.toNanos() / 1_000;
    this.horizonMicros = horizon.toNanos() / 1_000;
    if (windowMicros <= 0 || horizonMicros < windowMicros) {
      throw new IllegalArgumentException(
          "window " + window + " must be positive and at most the horizon " + horizon);
    }
  }

  /**
   * A score of {@code series} at {@code atMicros} that predicted {@code label} of {@code labels}.
   */
  public synchronized void prediction(
      long atMicros, Series series, int label, int labels, double confidence) {
    Window w = window(atMicros);
    if (w == null || label < 0 || label >= labels) {
      return;
    }
    Tally t = w.predictions.computeIfAbsent(series, s -> new Tally(labels));
    if (label < t.counts.length) {
      t.counts[label]++;
      t.confidence[label] += confidence;
    }
  }

  /** The answer a request got: {@code choice} names who chose it, how and with what status. */
  public synchronized void answer(
      long atMicros, String endpoint, String choice, long decidedMicros) {
    Window w = window(atMicros);
    if (w == null) {
      return;
    }
    Answers a = w.answers.computeIfAbsent(endpoint, e -> new Answers());
    a.mix.merge(choice, 1L, Long::sum);
    a.count++;
    a.decidedMicrosSum += decidedMicros;
    int bucket = 0;
    while (bucket < DECISION_BOUNDS_MICROS.length
        && decidedMicros > DECISION_BOUNDS_MICROS[bucket]) {
      bucket++;
    }
    a.decisionBuckets[bucket]++;
  }

  /** The window holding {@code atMicros}, made if new; null when it is older than the horizon. */
  private Window window(long atMicros) {
    long start = Math.floorDiv(atMicros, windowMicros) * windowMicros;
    Long newest = windows.isEmpty() ? null : windows.lastKey();
    if (newest != null && start <= newest - horizonMicros) {
      return null;
    }
    Window w = windows.get(start);
    if (w == null) {
      w = new Window();
      windows.put(start, w);
      // keep only the windows that start within the horizon of the newest
      windows.headMap(start - horizonMicros, true).clear();
    }
    return w;
  }

  /** Everything kept, oldest window first. */
  public synchronized View view() {
    List<WindowView> out = new ArrayList<>();
    windows.forEach(
        (start, w) -> {
          List<SeriesCounts> predictions = new ArrayList<>();
          w.predictions.forEach(
              (s, t) -> {
                double[] mean = new double[t.counts.length];
                for (int i = 0; i < mean.length; i++) {
                  mean[i] = t.counts[i] == 0 ? 0 : t.confidence[i] / t.counts[i];
                }
                predictions.add(new SeriesCounts(s, t.counts.clone(), mean));
              });
          List<AnswerCounts> answers = new ArrayList<>();
          w.answers.forEach(
              (e, a) ->
                  answers.add(
                      new AnswerCounts(
                          e,
                          new TreeMap<>(a.mix),
                          a.count,
                          a.count == 0 ? 0 : a.decidedMicrosSum / a.count,
                          quantile(a.decisionBuckets, a.count, 0.5),
                          quantile(a.decisionBuckets, a.count, 0.99))));
          out.add(
              new WindowView(start / 1_000, (start + windowMicros) / 1_000, predictions, answers));
        });
    return new View(windowMicros / 1_000, horizonMicros / 1_000, out);
  }

  /** The upper bound of the bucket holding quantile {@code q} (the last bound for the open one). */
  private static long quantile(long[] buckets, long count, double q) {
    if (count == 0) {
      return 0;
    }
    long rank = (long) Math.ceil(q * count);
    long seen = 0;
    for (int i = 0; i < buckets.length; i++) {
      seen += buckets[i];
      if (seen >= rank) {
        return DECISION_BOUNDS_MICROS[Math.min(i, DECISION_BOUNDS_MICROS.length - 1)];
      }
    }
    return DECISION_BOUNDS_MICROS[DECISION_BOUNDS_MICROS.length - 1];
  }

  /** The windows, each {@code windowMillis} long, kept for {@code horizonMillis}. */
  public record View(long windowMillis, long horizonMillis, List<WindowView> windows) {}

  /** One window, {@code [startMillis, endMillis)} in epoch milliseconds. */
  public record WindowView(
      long startMillis,
      long endMillis,
      List<SeriesCounts> predictions,
      List<AnswerCounts> answers) {}

  /** How often {@code series} predicted each label (by index) and its mean confidence in each. */
  public record SeriesCounts(Series series, long[] counts, double[] meanConfidence) {}

  /**
   * The answers of {@code endpoint}: by choice ({@code model@version stage policy status}), how
   * many, and their decision times (mean, and the p50 and p99 bucket bounds).
   */
  public record AnswerCounts(
      String endpoint,
      Map<String, Long> mix,
      long count,
      long decidedMeanMicros,
      long decidedP50Micros,
      long decidedP99Micros) {}

  private static final class Window {
    final Map<Series, Tally> predictions = new HashMap<>();
    final Map<String, Answers> answers = new HashMap<>();
  }

  private static final class Tally {
    final long[] counts;
    final double[] confidence;

    Tally(int labels) {
      counts = new long[labels];
      confidence = new double[labels];
    }
  }

  private static final class Answers {
    final Map<String, Long> mix = new HashMap<>();
    final long[] decisionBuckets = new long[DECISION_BOUNDS_MICROS.length + 1];
    long count;
    long decidedMicrosSum;
  }
}
