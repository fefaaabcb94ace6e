package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.actors.edge.RequestIds;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.model.Probabilities;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Watching models on a real node over real HTTP: {@code /metrics} is valid Prometheus text that
 * promtool accepts, its counters move by exactly the requests sent, the prediction windows match a
 * count done from the journal, and a drifted input stream raises the drift metric where an
 * undrifted one does not.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ModelWatchTest {
  static final Path PROMTOOL = Path.of("/usr/bin/promtool");
  @TempDir static Path dir;
  static TestNode node;
  static List<FashionMnist.Sample> holdout;

  @BeforeAll
  static void start() throws Exception {
    holdout = FashionMnist.load().holdout();
    node =
        TestNode.start(
            dir.resolve("data"),
            // drift over the last 200 inputs, judged from 100
            "rendezvous.watch.drift-window = 200\nrendezvous.watch.drift-minimum = 100\n"
                // every input in the drift sample
                + "rendezvous.watch.drift-sample-rate = 1000000\n");
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  /** The Prometheus text of {@code /metrics}. */
  static String metrics() throws Exception {
    var r = node.get("/metrics");
    assertEquals(200, r.statusCode(), r.body());
    return r.body();
  }

  /** The sum of the samples of {@code family} whose labels all match {@code labels}. */
  static double sum(String text, String family, Map<String, String> labels) {
    double total = 0;
    for (String line : text.split("\n")) {
      if (!line.startsWith(family + "{") && !line.startsWith(family + " ")) {
        continue;
      }
      boolean all = true;
      for (var e : labels.entrySet()) {
        all &= line.contains(e.getKey() + "=\"" + e.getValue() + "\"");
      }
      if (all) {
        String[] parts = line.split(" ");
        total += Double.parseDouble(parts[parts.length - 1]);
      }
    }
    return total;
  }

  static JsonNode overview() throws Exception {
    var r = node.get("/watch/api/overview");
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body());
  }

  /** Waits until {@code done} holds of {@code /metrics} (the watch reads the journal behind). */
  static String awaitMetrics(Predicate<String> done) throws Exception {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    String text = metrics();
    while (!done.test(text) || !overview().path("watch").path("caughtUp").asBoolean()) {
      if (System.nanoTime() > until) {
        return text;
      }
      Thread.sleep(100);
      text = metrics();
    }
    return metrics();
  }

  static void infer(String endpoint, FashionMnist.Sample s) throws Exception {
    var r =
        node.post(
            "/v2/models/" + endpoint + "/infer",
            "application/json",
            HoldoutBodies.oip(s).getBytes(StandardCharsets.UTF_8));
    assertEquals(200, r.statusCode(), r.body());
  }

  @Test
  @Order(1)
  void metricsPassPromtoolAndCountersMoveByExactlyTheRequestsSent() throws Exception {
    String before = metrics();
    int n = 40;
    for (int i = 0; i < n; i++) {
      infer("rendezvous", holdout.get(i));
    }
    // one bad request: counted as a 400, no answer
    var bad = node.post("/v2/models/rendezvous/infer", "application/json", "{}".getBytes());
    assertEquals(400, bad.statusCode());
    Map<String, String> rendezvous = Map.of("endpoint", "rendezvous");
    double answersBefore = sum(before, "rendezvous_answers_total", rendezvous);
    String after =
        awaitMetrics(t -> sum(t, "rendezvous_answers_total", rendezvous) >= answersBefore + n);

    Map<String, String> ok = Map.of("route", "infer", "endpoint", "rendezvous", "code", "200");
    assertEquals(
        n,
        sum(after, "rendezvous_http_requests_total", ok)
            - sum(before, "rendezvous_http_requests_total", ok));
    Map<String, String> refused = Map.of("route", "infer", "endpoint", "rendezvous", "code", "400");
    assertEquals(
        1,
        sum(after, "rendezvous_http_requests_total", refused)
            - sum(before, "rendezvous_http_requests_total", refused));
    assertEquals(
        n,
        sum(after, "rendezvous_http_request_duration_seconds_count", Map.of("route", "infer"))
            - sum(
                before, "rendezvous_http_request_duration_seconds_count", Map.of("route", "infer"))
            - 1);
    Map<String, String> answered = Map.of("endpoint", "rendezvous", "status", "200");
    assertEquals(
        n,
        sum(after, "rendezvous_answers_total", answered)
            - sum(before, "rendezvous_answers_total", answered));
    // every live model scores every request
    assertEquals(
        3 * n,
        sum(after, "rendezvous_scores_total", rendezvous)
            - sum(before, "rendezvous_scores_total", rendezvous));
    // the node's own warm-up is not traffic
    assertEquals(0, sum(before, "rendezvous_answers_total", Map.of()));

    Assumptions.assumeTrue(
        Files.isExecutable(PROMTOOL),
        "promtool is not installed (Debian's prometheus package; .ci/run installs it)");
    Path file = dir.resolve("metrics.txt");
    Files.writeString(file, after);
    Process p =
        new ProcessBuilder(PROMTOOL.toString(), "check", "metrics")
            .redirectInput(file.toFile())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), "promtool check metrics:\n" + out);

    // OpenMetrics when asked for
    var om =
        node.http.send(
            java.net.http.HttpRequest.newBuilder(node.uri("/metrics"))
                .header("Accept", "application/openmetrics-text; version=1.0.0; charset=utf-8")
                .build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
    assertTrue(
        om.headers()
            .firstValue("Content-Type")
            .orElse("")
            .startsWith("application/openmetrics-text"));
    assertTrue(om.body().trim().endsWith("# EOF"));
  }

  @Test
  @Order(2)
  void labelFrequencyWindowsMatchACountDoneFromTheJournal() throws Exception {
    for (int i = 0; i < 30; i++) {
      infer("m2", holdout.get(100 + i));
    }
    awaitMetrics(t -> true);
    JsonNode o = overview();
    long windowMillis = o.path("windowMillis").asLong();
    Map<String, long[]> counted = new HashMap<>();
    for (JsonNode w : o.path("windows")) {
      for (JsonNode p : w.path("predictions")) {
        long[] counts = new long[p.path("counts").size()];
        for (int i = 0; i < counts.length; i++) {
          counts[i] = p.path("counts").get(i).asLong();
        }
        counted.put(
            w.path("startMillis").asLong()
                + " "
                + p.path("endpoint").asText()
                + " "
                + p.path("model").asText()
                + "@"
                + p.path("version").asText(),
            counts);
      }
    }
    Map<String, long[]> expected = new HashMap<>();
    for (JournalRecord r : node.journal()) {
      if (r instanceof JournalRecord.Score s
          && s.probabilities() != null
          && !RequestIds.isWarmUp(s.requestId())) {
        long start = Math.floorDiv(s.atMicros() / 1_000, windowMillis) * windowMillis;
        String key = start + " " + s.endpoint() + " " + s.model() + "@" + s.version();
        expected
            .computeIfAbsent(key, k -> new long[s.probabilities().length])[
            Probabilities.argmax(s.probabilities())]++;
      }
    }
    assertTrue(
        expected.size() >= 4, "scores of rendezvous (3 models) and m2: " + expected.keySet());
    assertEquals(expected.keySet(), counted.keySet());
    expected.forEach(
        (k, v) -> assertEquals(Arrays.toString(v), Arrays.toString(counted.get(k)), k));
    // and the labels by name, from the versions' metadata
    assertEquals(
        FashionMnist.LABELS.get(0),
        o.path("windows").get(0).path("predictions").get(0).path("labels").get(0).asText());
  }

  @Test
  @Order(3)
  void aDriftedInputStreamRaisesTheDriftMetricAndAnUndriftedOneDoesNot() throws Exception {
    Map<String, String> meanPixel =
        Map.of("endpoint", "m3", "model", "m3", "statistic", "mean_pixel");
    for (int i = 0; i < 200; i++) {
      infer("m3", holdout.get(200 + i));
    }
    String undrifted = awaitMetrics(t -> sum(t, "rendezvous_input_drift_psi", meanPixel) > 0);
    double psi = sum(undrifted, "rendezvous_input_drift_psi", meanPixel);
    assertTrue(psi > 0 && psi < 0.1, "hold-out images against training images: PSI " + psi);
    double predictionPsi =
        sum(undrifted, "rendezvous_prediction_drift_psi", Map.of("endpoint", "m3"));
    assertTrue(predictionPsi < 0.1, "predicted labels on hold-out images: PSI " + predictionPsi);

    // the same images inverted (a camera that swaps black and white)
    for (int i = 0; i < 200; i++) {
      infer("m3", inverted(holdout.get(200 + i)));
    }
    String drifted = awaitMetrics(t -> sum(t, "rendezvous_input_drift_psi", meanPixel) > 0.25);
    double after = sum(drifted, "rendezvous_input_drift_psi", meanPixel);
    assertTrue(after > 0.25, "inverted images: PSI " + after);
    assertTrue(
        sum(
                drifted,
                "rendezvous_input_drift_psi",
                Map.of("endpoint", "m3", "statistic", "non_zero_share"))
            > 0.25);
  }

  @Test
  @Order(4)
  void theAlertingRulesAreValidAndTheirTestsPass() throws Exception {
    Assumptions.assumeTrue(
        Files.isExecutable(PROMTOOL),
        "promtool is not installed (Debian's prometheus package; .ci/run installs it)");
    Path rules = Path.of(System.getProperty("rendezvous.root"), "docker", "prometheus");
    for (List<String> command :
        List.of(
            List.of(PROMTOOL.toString(), "check", "rules", "alerts.yml"),
            List.of(PROMTOOL.toString(), "check", "config", "prometheus.yml"),
            List.of(PROMTOOL.toString(), "test", "rules", "alerts.test.yml"))) {
      Process p =
          new ProcessBuilder(command).directory(rules.toFile()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), String.join(" ", command) + ":\n" + out);
    }
  }

  @Test
  @Order(5)
  void aRequestsTraceIsContinuedReturnedAndKeptInTheJournal() throws Exception {
    String caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    var r =
        node.http.send(
            java.net.http.HttpRequest.newBuilder(node.uri("/v2/models/m1/infer"))
                .header("Content-Type", "application/json")
                .header("traceparent", caller)
                .POST(
                    java.net.http.HttpRequest.BodyPublishers.ofString(
                        HoldoutBodies.oip(holdout.get(7))))
                .build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    String ours = r.headers().firstValue("traceparent").orElseThrow();
    assertTrue(ours.startsWith("00-0af7651916cd43dd8448eb211c80319c-"), ours);
    assertTrue(!ours.contains("b7ad6b7169203331") && ours.endsWith("-01"), ours);
    // without one, a new trace; and an error is traced too
    var fresh = node.post("/v2/models/m1/infer", "application/json", "{}".getBytes());
    assertEquals(400, fresh.statusCode());
    assertTrue(
        fresh
            .headers()
            .firstValue("traceparent")
            .orElseThrow()
            .matches("00-[0-9a-f]{32}-[0-9a-f]{16}-00"));
    List<JournalRecord.Input> traced =
        node.journal().stream()
            .filter(x -> x instanceof JournalRecord.Input)
            .map(x -> (JournalRecord.Input) x)
            .filter(in -> ours.equals(in.traceparent()))
            .toList();
    assertEquals(
        1, traced.size(), "the request's input record keeps the traceparent it was answered with");
    assertEquals("m1", traced.get(0).endpoint());
  }

  @Test
  @Order(6)
  void watchingCanBePausedAndResumedAtRunTime() throws Exception {
    Map<String, String> m1 = Map.of("route", "infer", "endpoint", "m1", "code", "200");
    String before = awaitMetrics(t -> true);
    var off =
        node.http.send(
            java.net.http.HttpRequest.newBuilder(node.uri("/admin/watch"))
                .header("Content-Type", "application/json")
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{\"enabled\": false}"))
                .build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(200, off.statusCode(), off.body());
    assertEquals(
        "{\"metrics\":false,\"watch\":false}", Json.MAPPER.readTree(off.body()).toString());
    for (int i = 0; i < 5; i++) {
      infer("m1", holdout.get(500 + i));
    }
    String paused = awaitMetrics(t -> true);
    assertEquals(
        sum(before, "rendezvous_http_requests_total", m1),
        sum(paused, "rendezvous_http_requests_total", m1));
    assertEquals(
        sum(before, "rendezvous_answers_total", Map.of("endpoint", "m1")),
        sum(paused, "rendezvous_answers_total", Map.of("endpoint", "m1")));
    var bad =
        node.http.send(
            java.net.http.HttpRequest.newBuilder(node.uri("/admin/watch"))
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{\"enabled\": 1}"))
                .build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(400, bad.statusCode());
    var on =
        node.http.send(
            java.net.http.HttpRequest.newBuilder(node.uri("/admin/watch"))
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{\"enabled\": true}"))
                .build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(200, on.statusCode(), on.body());
    for (int i = 0; i < 5; i++) {
      infer("m1", holdout.get(600 + i));
    }
    double answered = sum(paused, "rendezvous_answers_total", Map.of("endpoint", "m1"));
    String resumed =
        awaitMetrics(
            t -> sum(t, "rendezvous_answers_total", Map.of("endpoint", "m1")) >= answered + 5);
    assertEquals(
        5,
        sum(resumed, "rendezvous_http_requests_total", m1)
            - sum(paused, "rendezvous_http_requests_total", m1));
    assertEquals(answered + 5, sum(resumed, "rendezvous_answers_total", Map.of("endpoint", "m1")));
  }

  static FashionMnist.Sample inverted(FashionMnist.Sample s) {
    byte[] px = s.pixels().clone();
    for (int i = 0; i < px.length; i++) {
      px[i] = (byte) (255 - (px[i] & 0xFF));
    }
    return new FashionMnist.Sample(s.index(), px, s.label());
  }
}
