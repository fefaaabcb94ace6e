package io.rendezvous.actors;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * How each endpoint's canary compares with its live answers, over the last {@code window} requests
 * that had both: the share where they gave the same label, and the population stability index
 * between the two predicted-label distributions. Entities on any thread record into it (one short
 * lock per comparison); the admin API and the metrics read it.
 */
public final class CanaryComparison {
  public static final int DEFAULT_WINDOW = 1000;

  /** Added to every label's share before the index is taken, so an unseen label is not infinite. */
  private static final double SMOOTHING = 1e-4;

  /**
   * Over the last {@code compared} requests of {@code endpoint}: how often {@code canary} agreed
   * with the answer (given by {@code live}, the last live member that answered), and the population
   * stability index of the canary's labels against the answers' ({@code psi}: below 0.1 is usually
   * read as no shift, above 0.25 as a large one). {@code total}: comparisons since the start.
   */
  public record Figures(
      String endpoint,
      String canary,
      String live,
      int compared,
      double agreement,
      double psi,
      long total) {}

  private final int window;
  private final Map<String, Window> byKey = new TreeMap<>();

  public CanaryComparison(int window) {
    if (window < 1) {
      throw new IllegalArgumentException("canary window must be at least 1, not " + window);
    }
    this.window = window;
  }

  /**
   * One request: {@code live} answered {@code liveLabel}, {@code canary} said {@code canaryLabel}.
   */
  public void record(String endpoint, String canary, String live, int liveLabel, int canaryLabel) {
    if (liveLabel < 0 || canaryLabel < 0) {
      return;
    }
    String key = endpoint + "\u0000" + canary;
    synchronized (byKey) {
      byKey
          .computeIfAbsent(key, k -> new Window(endpoint, canary, window))
          .add(live, liveLabel, canaryLabel);
    }
  }

  /**
   * Forgets the comparisons of endpoints that are gone and of models no longer in their endpoint: a
   * model that comes back starts afresh.
   */
  public void retainOnly(Map<String, EndpointSettings> endpoints) {
    synchronized (byKey) {
      byKey
          .values()
          .removeIf(
              w -> {
                EndpointSettings e = endpoints.get(w.endpoint);
                return e == null || !e.models().contains(w.canary);
              });
    }
  }

  /** Every endpoint's canaries, by endpoint then canary. */
  public List<Figures> figures() {
    synchronized (byKey) {
      List<Figures> out = new ArrayList<>();
      byKey.values().forEach(w -> out.add(w.figures()));
      return out;
    }
  }

  /** The canaries of {@code endpoint}. */
  public List<Figures> figures(String endpoint) {
    return figures().stream().filter(f -> f.endpoint().equals(endpoint)).toList();
  }

  /** The population stability index of {@code actual} against {@code expected} (label counts). */
  static double psi(int[] expected, int[] actual) {
    long e = 0;
    long a = 0;
    for (int i = 0; i < expected.length; i++) {
      e += expected[i];
      a += actual[i];
    }
    if (e == 0 || a == 0) {
      return 0;
    }
    double sum = 0;
    for (int i = 0; i < expected.length; i++) {
      double p = (expected[i] / (double) e) + SMOOTHING;
      double q = (actual[i] / (double) a) + SMOOTHING;
      sum += (q - p) * Math.log(q / p);
    }
    return sum;
  }

  /** A ring of the last comparisons of one canary. */
  private static final class Window {
    private final String endpoint;
    private final String canary;
    private final int[] liveLabels;
    private final int[] canaryLabels;
    private int size;
    private int next;
    private long total;
    private String lastLive;

    Window(String endpoint, String canary, int capacity) {
      this.endpoint = endpoint;
      this.canary = canary;
      this.liveLabels = new int[capacity];
      this.canaryLabels = new int[capacity];
    }

    void add(String live, int liveLabel, int canaryLabel) {
      liveLabels[next] = liveLabel;
      canaryLabels[next] = canaryLabel;
      next = (next + 1) % liveLabels.length;
      size = Math.min(size + 1, liveLabels.length);
      total++;
      lastLive = live;
    }

    Figures figures() {
      int labels = 0;
      for (int i = 0; i < size; i++) {
        labels = Math.max(labels, Math.max(liveLabels[i], canaryLabels[i]) + 1);
      }
      int[] liveCounts = new int[labels];
      int[] canaryCounts = new int[labels];
      int agreed = 0;
      for (int i = 0; i < size; i++) {
        liveCounts[liveLabels[i]]++;
        canaryCounts[canaryLabels[i]]++;
        if (liveLabels[i] == canaryLabels[i]) {
          agreed++;
        }
      }
      return new Figures(
          endpoint,
          canary,
          lastLive,
          size,
          size == 0 ? Double.NaN : agreed / (double) size,
          psi(liveCounts, canaryCounts),
          total);
    }
  }
}
