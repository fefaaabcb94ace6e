package io.rendezvous.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.rendezvous.journal.JournalReader;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.journal.JournalSettings;
import io.rendezvous.journal.JournalWriter;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.ReferenceSummary;
import io.rendezvous.model.TensorData;
import io.rendezvous.model.TensorSpec;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The watch against a real journal: what it counts is what the journal holds, second answer records
 * replace first ones, drift shows for drifted inputs only, and a retired version's series go.
 */
class JournalWatchTest {
  private static final List<String> LABELS = List.of("a", "b", "c", "d");
  private static final long MINUTE = 60_000_000L;

  @TempDir Path dir;

  private final Random random = new Random(7);

  /**
   * Each statistic uniform over [0, 0.5) in training, and every label equally often on hold-out.
   */
  private static ModelMetadata metadata(String model, String version) {
    ReferenceSummary reference =
        new ReferenceSummary(
            List.of(0.25, 0.25, 0.25, 0.25),
            List.of(0.25, 0.25, 0.25, 0.25),
            List.of(
                new ReferenceSummary.Histogram(
                    "mean_pixel",
                    edges(),
                    List.of(0.2, 0.2, 0.2, 0.2, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0)),
                new ReferenceSummary.Histogram(
                    "non_zero_share",
                    edges(),
                    List.of(0.2, 0.2, 0.2, 0.2, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0))));
    TensorSpec in = new TensorSpec("x", "float32", List.of(-1L, 4L));
    TensorSpec out = new TensorSpec("p", "float32", List.of(-1L, 4L));
    return new ModelMetadata(
        ModelMetadata.SCHEMA_VERSION,
        model,
        version,
        "test",
        LABELS,
        0.9,
        100,
        1,
        "now",
        "b",
        "serving_default",
        in,
        out,
        "d",
        1,
        "h-" + model + version,
        reference);
  }

  private static List<Double> edges() {
    List<Double> e = new ArrayList<>();
    for (int i = 0; i <= 10; i++) {
      e.add(i / 10.0);
    }
    return e;
  }

  private JournalWriter journal() throws Exception {
    return JournalWriter.start(
        JournalSettings.fromConfig(ConfigFactory.load()).withDir(dir.resolve("journal")));
  }

  private JournalWatch watch(JournalWriter journal, PrometheusRegistry registry) {
    WatchSettings settings =
        new WatchSettings(
            true,
            Duration.ofMinutes(1),
            Duration.ofMinutes(60),
            200,
            100,
            1_000_000,
            Duration.ofMillis(200),
            1_000_000,
            Duration.ofMillis(10));
    return JournalWatch.start(
        journal,
        settings,
        (m, v) -> Optional.of(metadata(m, v)),
        id -> id.startsWith("warm"),
        registry);
  }

  /** An input whose mean and non-zero share are {@code level} (to the hundredth). */
  private TensorData input(double level) {
    float[] v = new float[100];
    for (int i = 0; i < v.length; i++) {
      v[i] = i < Math.round(level * v.length) ? 1f : 0f;
    }
    return TensorData.float32(new long[] {1, v.length}, v);
  }

  private static float[] probabilities(int label, float confidence) {
    float[] p = new float[LABELS.size()];
    for (int i = 0; i < p.length; i++) {
      p[i] = i == label ? confidence : (1 - confidence) / (p.length - 1);
    }
    return p;
  }

  /** One request's story: its input, a score from each of m1@1 and m2@1, and its answer. */
  private void request(JournalWriter j, String id, long at, double level, int label) {
    j.offer(new JournalRecord.Input(id, "c", "n1", "e", at, "json", null, input(level)), null);
    j.offer(
        new JournalRecord.Score(
            id,
            "n1",
            "e",
            at + 1,
            "m1",
            "1",
            JournalRecord.Outcome.OK,
            2_000,
            1_500,
            probabilities(label, 0.7f),
            null,
            "live"),
        null);
    j.offer(
        new JournalRecord.Score(
            id,
            "n1",
            "e",
            at + 2,
            "m2",
            "1",
            JournalRecord.Outcome.OK,
            3_000,
            2_500,
            probabilities((label + 1) % LABELS.size(), 0.9f),
            null,
            "live"),
        null);
    j.offer(
        new JournalRecord.Answer(
            id,
            "c",
            "n1",
            "e",
            at + 3,
            200,
            "m2",
            "1",
            0,
            LABELS.get((label + 1) % 4),
            probabilities((label + 1) % LABELS.size(), 0.9f),
            3_000,
            null,
            1,
            "deadline-priority"),
        null);
  }

  private static String scrape(PrometheusRegistry registry) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ExpositionFormats.init().getPrometheusTextFormatWriter().write(out, registry.scrape());
    return out.toString(StandardCharsets.UTF_8);
  }

  /** The value of the sample whose line starts with {@code series}, or 0 when there is none. */
  static double sample(String text, String series) {
    for (String line : text.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).trim().split(" ")[0]);
      }
    }
    return 0;
  }

  private static void awaitCaughtUp(JournalWatch watch, long records) throws Exception {
    long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!(watch.caughtUp() && watch.processed() >= records)) {
      if (System.nanoTime() > until) {
        throw new AssertionError("watch read " + watch.processed() + " of " + records);
      }
      Thread.sleep(20);
    }
  }

  @Test
  void windowsAndCountersMatchACountDoneFromTheJournal() throws Exception {
    PrometheusRegistry registry = new PrometheusRegistry();
    try (JournalWriter j = journal();
        JournalWatch watch = watch(j, registry)) {
      long base = (JournalRecord.nowMicros() / MINUTE - 3) * MINUTE;
      int n = 0;
      for (int minute = 0; minute < 3; minute++) {
        for (int i = 0; i < 40 + 10 * minute; i++) {
          request(j, "r" + n, base + minute * MINUTE + i * 1_000L, 0.2, random.nextInt(4));
          if (n == 0) {
            // the node's own warm-up is not traffic
            request(j, "warm-1", base + 2, 0.2, 1);
            // one request whose answer was decided in time but not sent: its second record is a 503
            j.offer(
                new JournalRecord.Answer(
                    "r0",
                    "c",
                    "n1",
                    "e",
                    base + 4,
                    503,
                    "m2",
                    "1",
                    0,
                    null,
                    null,
                    3_000,
                    "journal did not confirm",
                    1,
                    "deadline-priority"),
                null);
          }
          n++;
        }
      }
      awaitCaughtUp(watch, 4L * n + 5);

      // count the same things from the journal itself
      Map<String, long[]> expected = new HashMap<>();
      Map<String, Long> lastStatus = new HashMap<>();
      for (JournalRecord r : JournalReader.readAll(dir.resolve("journal"))) {
        if (r instanceof JournalRecord.Score s
            && s.probabilities() != null
            && !s.requestId().startsWith("warm")) {
          String key =
              (s.atMicros() / MINUTE * MINUTE / 1_000) + " " + s.model() + "@" + s.version();
          int label = io.rendezvous.model.Probabilities.argmax(s.probabilities());
          expected.computeIfAbsent(key, k -> new long[LABELS.size()])[label]++;
        } else if (r instanceof JournalRecord.Answer a && !a.requestId().startsWith("warm")) {
          lastStatus.put(a.requestId(), (long) a.status());
        }
      }
      Map<String, long[]> counted = new HashMap<>();
      for (PredictionWindows.WindowView w : watch.windows().view().windows()) {
        for (PredictionWindows.SeriesCounts c : w.predictions()) {
          counted.put(
              w.startMillis() + " " + c.series().model() + "@" + c.series().version(), c.counts());
        }
      }
      assertEquals(expected.keySet(), counted.keySet());
      expected.forEach(
          (k, v) ->
              assertEquals(
                  java.util.Arrays.toString(v), java.util.Arrays.toString(counted.get(k)), k));

      String text = scrape(registry);
      long ok = lastStatus.values().stream().filter(s -> s == 200).count();
      assertEquals(n - 1, ok);
      assertEquals(
          ok,
          sample(
              text,
              "rendezvous_answers_total{endpoint=\"e\",model=\"m2\",policy=\"deadline-priority\","
                  + "stage=\"0\",status=\"200\",version=\"1\"}"));
      assertEquals(
          1,
          sample(
              text,
              "rendezvous_answers_total{endpoint=\"e\",model=\"m2\",policy=\"deadline-priority\","
                  + "stage=\"0\",status=\"503\",version=\"1\"}"));
      assertEquals(
          n,
          sample(
              text,
              "rendezvous_scores_total{endpoint=\"e\",model=\"m1\",outcome=\"ok\",role=\"live\","
                  + "version=\"1\"}"));
      long m1a =
          expected.entrySet().stream()
              .filter(e -> e.getKey().endsWith("m1@1"))
              .mapToLong(e -> e.getValue()[0])
              .sum();
      assertEquals(
          m1a,
          sample(
              text,
              "rendezvous_predictions_total{endpoint=\"e\",label=\"a\",model=\"m1\",version=\"1\"}"));
      assertEquals(
          n, sample(text, "rendezvous_inference_seconds_count{model=\"m1\",version=\"1\"}"));
    }
  }

  @Test
  void driftedInputsRaiseTheDriftMetricAndUndriftedOnesDoNot() throws Exception {
    PrometheusRegistry registry = new PrometheusRegistry();
    try (JournalWriter j = journal();
        JournalWatch watch = watch(j, registry)) {
      long at = JournalRecord.nowMicros();
      int n = 0;
      // like training: statistics spread over [0, 0.5)
      for (int i = 0; i < 300; i++) {
        request(j, "u" + n, at + n, 0.49 * random.nextDouble(), i % 4);
        n++;
      }
      awaitCaughtUp(watch, 4L * n);
      String text = scrape(registry);
      double undrifted =
          sample(
              text,
              "rendezvous_input_drift_psi{endpoint=\"e\",model=\"m1\",statistic=\"mean_pixel\","
                  + "version=\"1\"}");
      assertTrue(undrifted > 0 && undrifted < 0.1, "undrifted PSI " + undrifted);
      assertTrue(
          sample(text, "rendezvous_prediction_drift_psi{endpoint=\"e\",model=\"m1\",version=\"1\"}")
              < 0.1);

      // then every input much brighter, and one label only
      for (int i = 0; i < 300; i++) {
        request(j, "d" + n, at + n, 0.7 + 0.25 * random.nextDouble(), 0);
        n++;
      }
      awaitCaughtUp(watch, 4L * n);
      text = scrape(registry);
      double drifted =
          sample(
              text,
              "rendezvous_input_drift_psi{endpoint=\"e\",model=\"m1\",statistic=\"mean_pixel\","
                  + "version=\"1\"}");
      assertTrue(drifted > 0.25, "drifted PSI " + drifted);
      assertTrue(
          sample(text, "rendezvous_prediction_drift_psi{endpoint=\"e\",model=\"m1\",version=\"1\"}")
              > 0.25);
    }
  }

  @Test
  void aRetiredVersionsSeriesAreRemoved() throws Exception {
    PrometheusRegistry registry = new PrometheusRegistry();
    try (JournalWriter j = journal();
        JournalWatch watch = watch(j, registry)) {
      long at = JournalRecord.nowMicros();
      for (int i = 0; i < 5; i++) {
        request(j, "x" + i, at + i, 0.2, i % 4);
      }
      awaitCaughtUp(watch, 20);
      assertTrue(scrape(registry).contains("model=\"m1\""));
      j.offer(
          new JournalRecord.Lifecycle(
              "l1", "n1", null, at + 100, "version-retired", "m1", "1", 0, "retired"),
          null);
      awaitCaughtUp(watch, 21);
      String text = scrape(registry);
      assertFalse(text.contains("model=\"m1\""), text);
      assertTrue(text.contains("model=\"m2\""));
      // its past stays in the prediction view
      assertTrue(
          watch.windows().view().windows().stream()
              .flatMap(w -> w.predictions().stream())
              .anyMatch(c -> c.series().model().equals("m1")));
    }
  }
}
