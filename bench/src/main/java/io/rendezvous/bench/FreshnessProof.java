package io.rendezvous.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.workers.data.FashionMnist;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The freshness loop on a running cluster, as users would see it: steady predictions over the nodes
 * while a crowd predicts images of the class the live m2 gets wrong most often on the hold-out set
 * and corrects each with its true label. From the {@code --corrections}th correction it times the
 * trainer's new m2 version becoming a shadow on every node and then live, and keeps the crowd going
 * (the shadow is judged on corrections that come while it is one). Then it measures both versions
 * on the hold-out set through the nodes' versioned routes, prints the trainer's story, and pushes a
 * version trained on shuffled labels through the same path, which must never become live. Every
 * request's status is counted; the roll-in's must all be 200.
 */
@Command(
    name = "freshness-proof",
    mixinStandardHelpOptions = true,
    description = "Corrections to a retrained, checked, shadowed and promoted m2, timed.")
final class FreshnessProof implements Callable<Integer> {
  @Option(names = "--nodes", required = true, split = ",", description = "HTTP base URLs")
  List<String> nodes;

  @Option(names = "--corrections", defaultValue = "500")
  int corrections;

  @Option(
      names = "--rate",
      defaultValue = "100",
      description = "requests per second in all: half steady predictions, half the crowd's")
  int rate;

  @Option(names = "--warm-seconds", defaultValue = "60")
  int warmSeconds;

  @Option(names = "--model", defaultValue = "m2")
  String model;

  @Option(names = "--endpoint", defaultValue = "rendezvous")
  String endpoint;

  @Option(names = "--admin-token", defaultValue = "")
  String adminToken;

  @Option(names = "--timeout-seconds", defaultValue = "300")
  int timeoutSeconds;

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** Statuses of every request, by the phase it was sent in. */
  private final Map<String, Map<Integer, Integer>> statuses = new ConcurrentHashMap<>();

  private final AtomicReference<String> phase = new AtomicReference<>("warm-up");

  /** When each answer that was not a 200 came, in seconds from the start, with its phase. */
  private final java.util.concurrent.ConcurrentLinkedQueue<String> misses =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  private final long startNanos = System.nanoTime();

  @Override
  public Integer call() throws Exception {
    JsonNode before = trainer();
    if (before == null) {
      return 1;
    }
    List<FashionMnist.Sample> holdout = FashionMnist.load().holdout();
    AtomicBoolean steadyOn = new AtomicBoolean(true);
    Thread steady = new Thread(() -> steady(holdout, steadyOn), "steady-load");
    steady.start();
    Thread.sleep(warmSeconds * 1000L);

    String liveVersion = liveVersion(0);
    phase.set("measuring");
    double[][] liveAcc = accuracy(liveVersion, holdout);
    int worst = 0;
    for (int c = 1; c < 10; c++) {
      if (liveAcc[0][c] < liveAcc[0][worst]) {
        worst = c;
      }
    }
    String label = FashionMnist.LABELS.get(worst);
    System.out.printf(
        Locale.ROOT,
        "live %s@%s on the hold-out: %.2f%% overall; the class it gets wrong most: %s (%.2f%%)%n",
        model,
        liveVersion,
        100 * liveAcc[1][0],
        label,
        100 * liveAcc[0][worst]);

    List<FashionMnist.Sample> crowdImages = new ArrayList<>();
    for (FashionMnist.Sample s : FashionMnist.corrections()) {
      if (s.label() == worst) {
        crowdImages.add(s);
      }
    }
    phase.set("crowd");
    AtomicInteger corrected = new AtomicInteger();
    AtomicBoolean crowdOn = new AtomicBoolean(true);
    long[] lastCorrectionAt = {0};
    Thread crowd =
        new Thread(() -> crowd(crowdImages, label, corrected, crowdOn, lastCorrectionAt), "crowd");
    crowd.start();
    while (corrected.get() < corrections && crowd.isAlive()) {
      Thread.sleep(20);
    }
    long t0 = System.nanoTime();
    phase.set("roll-in");
    System.out.printf(
        Locale.ROOT,
        "%d corrections of %s sent over %d nodes (the crowd goes on meanwhile)%n",
        corrections,
        label,
        nodes.size());

    // the new version: a shadow on every node, then live on every node
    long deadline = t0 + Duration.ofSeconds(timeoutSeconds).toNanos();
    String candidate = null;
    double shadowAt = -1;
    double liveAt = -1;
    JsonNode state = null;
    while (System.nanoTime() < deadline) {
      state = m2(trainer());
      if (candidate == null && state.hasNonNull("candidate")) {
        candidate = state.get("candidate").asText();
      }
      if (candidate != null && shadowAt < 0 && everyNode(candidate, "shadow", "live")) {
        shadowAt = (System.nanoTime() - t0) / 1e9;
        System.out.printf(
            Locale.ROOT,
            "  %6.1f s  %s is a shadow (or beyond) on all %d nodes%n",
            shadowAt,
            candidate,
            nodes.size());
      }
      if (candidate != null && everyNode(candidate, "live")) {
        liveAt = (System.nanoTime() - t0) / 1e9;
        if (shadowAt < 0) {
          shadowAt = liveAt;
        }
        System.out.printf(
            Locale.ROOT,
            "  %6.1f s  %s is live on all %d nodes%n",
            liveAt,
            candidate,
            nodes.size());
        break;
      }
      if (state.path("phase").asText().equals("idle")
          && state.path("history").toString().contains("rejected")
          && candidate == null) {
        System.out.println("  the candidate was rejected: " + last(state));
        break;
      }
      Thread.sleep(200);
    }
    // the crowd goes on until the trainer is done watching the new version (stable, or rolled
    // back): one candidate at a time
    phase.set("watch");
    double watchedFor = -1;
    long watchDeadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
    while (liveAt >= 0 && System.nanoTime() < watchDeadline) {
      state = m2(trainer());
      if (state.path("phase").asText().equals("idle")) {
        watchedFor = (System.nanoTime() - t0) / 1e9 - liveAt;
        System.out.printf(
            Locale.ROOT,
            "  %6.1f s  watched for %.1f s more: %s%n",
            liveAt + watchedFor,
            watchedFor,
            last(state));
        break;
      }
      Thread.sleep(250);
    }
    crowdOn.set(false);
    crowd.join();
    phase.set("after");
    // the corrections of the roll-in and the watch are news too: the trainer may train again at
    // once; the bad version waits for it to be idle (one candidate at a time)
    String newVersion = candidate == null ? null : candidate.substring(candidate.indexOf('@') + 1);
    boolean rolledBack = last(m2(trainer())).contains("freshness-rolled-back");
    if (rolledBack) {
      System.out.println("  the new version was rolled back while watched: " + last(m2(trainer())));
    }
    if (liveAt >= 0 && !rolledBack) {
      double[][] after = accuracy(newVersion, holdout);
      System.out.printf(
          Locale.ROOT,
          "hold-out accuracy, %s: %s@%s %.2f%% -> %s %.2f%%; overall %.2f%% -> %.2f%%%n",
          label,
          model,
          liveVersion,
          100 * liveAcc[0][worst],
          candidate,
          100 * after[0][worst],
          100 * liveAcc[1][0],
          100 * after[1][0]);
    }
    JsonNode story = m2(trainer());
    System.out.println("the trainer's story (journaled as freshness-* lifecycle records):");
    for (JsonNode h : story.path("history")) {
      System.out.println("  " + h.asText());
    }

    // a deliberately bad version through the same path
    phase.set("bad-version");
    HttpResponse<String> push = pushBad();
    long pushDeadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
    while (push.statusCode() == 409 && System.nanoTime() < pushDeadline) {
      Thread.sleep(1000);
      story = m2(trainer());
      push = pushBad();
    }
    System.out.println("a version on shuffled labels: " + push.statusCode() + " " + push.body());
    String badOutcome = "no verdict";
    long badDeadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
    boolean badLive = false;
    while (System.nanoTime() < badDeadline) {
      JsonNode s = m2(trainer());
      String h = s.path("history").toString();
      if (h.contains("freshness-rejected")
          && s.path("phase").asText().equals("idle")
          && !last(s).equals(last(story))) {
        badOutcome = last(s);
        break;
      }
      if (s.hasNonNull("candidate") && !s.get("candidate").asText().equals(candidate)) {
        badLive |= everyNode(s.get("candidate").asText(), "live");
      }
      Thread.sleep(500);
    }
    String nowLive = liveVersion(0);
    System.out.println("  " + badOutcome);
    System.out.printf(
        "  live %s after it: %s@%s on node 1 (%s)%n",
        model, model, nowLive, badLive ? "THE BAD ONE WENT LIVE" : "the bad one never went live");
    steadyOn.set(false);
    steady.join();

    System.out.println("non-200 answers (seconds from the start of the run): " + misses);
    System.out.printf(
        Locale.ROOT,
        "the roll-in ran from %.1f s to %.1f s%n",
        (t0 - startNanos) / 1e9,
        (t0 - startNanos) / 1e9 + Math.max(liveAt, 0));
    System.out.println("statuses by phase:");
    statuses.forEach((p, m) -> System.out.println("  " + p + ": " + new TreeMap<>(m)));
    Map<Integer, Integer> rollIn = statuses.getOrDefault("roll-in", Map.of());
    boolean zeroNon200 = rollIn.keySet().stream().allMatch(c -> c == 200);
    boolean ok =
        liveAt >= 0
            && !rolledBack
            && zeroNon200
            && !badLive
            && badOutcome.contains("rejected")
            && (newVersion == null || newVersion.equals(nowLive));
    System.out.printf(
        Locale.ROOT,
        "from the %dth correction: shadow on all nodes %.1f s, live on all nodes %.1f s (target"
            + " 60 s: %s); roll-in answers non-200: %d%n",
        corrections,
        shadowAt,
        liveAt,
        liveAt >= 0 && liveAt <= 60 ? "met" : "NOT met",
        rollIn.entrySet().stream()
            .filter(e -> e.getKey() != 200)
            .mapToInt(Map.Entry::getValue)
            .sum());
    System.out.println(ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
  }

  private HttpResponse<String> pushBad() throws Exception {
    return send(
        "POST",
        nodes.get(0) + "/admin/freshness/" + model + "/train",
        "{\"shuffle_labels\": true}");
  }

  private static String last(JsonNode state) {
    JsonNode h = state.path("history");
    return h.size() == 0 ? "" : h.get(h.size() - 1).asText();
  }

  /** Predictions at half the rate, over the nodes in turn, until {@code on} goes off. */
  private void steady(List<FashionMnist.Sample> images, AtomicBoolean on) {
    long period = 2_000_000_000L / rate;
    long start = System.nanoTime();
    List<CompletableFuture<?>> pending = new ArrayList<>();
    for (int i = 0; on.get(); i++) {
      pace(start + i * period);
      String p = phase.get();
      pending.add(
          post(nodes.get(i % nodes.size()) + "/predict", body(images.get(i % images.size())))
              .thenAccept(r -> count(p, r.statusCode()))
              .exceptionally(e -> count(p, -1)));
      if (pending.size() > 1000) {
        pending.removeIf(CompletableFuture::isDone);
      }
    }
    CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).join();
  }

  /**
   * The crowd: half the rate in requests, so a quarter in rounds: a prediction of an image of the
   * class on one node, then its correction (its true label) on the next.
   */
  private void crowd(
      List<FashionMnist.Sample> images,
      String label,
      AtomicInteger corrected,
      AtomicBoolean on,
      long[] lastAt) {
    long period = 4_000_000_000L / rate;
    long start = System.nanoTime();
    List<CompletableFuture<?>> pending = new ArrayList<>();
    for (int i = 0; on.get(); i++) {
      pace(start + i * period);
      String served = nodes.get(i % nodes.size());
      String correctOn = nodes.get((i + 1) % nodes.size());
      String p = phase.get();
      pending.add(
          post(served + "/predict", body(images.get(i % images.size())))
              .thenCompose(
                  r -> {
                    count(p, r.statusCode());
                    if (r.statusCode() != 200) {
                      return CompletableFuture.completedFuture(null);
                    }
                    String id = requestId(r.body());
                    return post(
                            correctOn + "/feedback",
                            "{\"request_id\":\""
                                + id
                                + "\",\"label\":\""
                                + label
                                + "\",\"source\":\"crowd\"}")
                        .thenAccept(
                            f -> {
                              count(p + " (corrections)", f.statusCode());
                              if (f.statusCode() == 200) {
                                corrected.incrementAndGet();
                                lastAt[0] = System.nanoTime();
                              }
                            });
                  })
              .exceptionally(e -> count(p, -1)));
      if (pending.size() > 1000) {
        pending.removeIf(CompletableFuture::isDone);
      }
    }
    CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).join();
  }

  private Void count(String phase, int status) {
    if (status != 200) {
      misses.add(
          String.format(
              Locale.ROOT,
              "%s %d at %.1f s",
              phase,
              status,
              (System.nanoTime() - startNanos) / 1e9));
    }
    statuses.computeIfAbsent(phase, k -> new ConcurrentHashMap<>()).merge(status, 1, Integer::sum);
    return null;
  }

  private static void pace(long due) {
    long wait = due - System.nanoTime();
    if (wait > 0) {
      try {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Per class ([0][c]) and overall ([1][0]) accuracy of {@code version} of the model on the
   * hold-out set, through node 1's versioned OIP route, 50 instances a request.
   */
  private double[][] accuracy(String version, List<FashionMnist.Sample> holdout) throws Exception {
    int[] right = new int[10];
    int[] seen = new int[10];
    int all = 0;
    for (int from = 0; from < holdout.size(); from += 50) {
      List<FashionMnist.Sample> batch = holdout.subList(from, Math.min(holdout.size(), from + 50));
      StringBuilder data = new StringBuilder();
      for (FashionMnist.Sample s : batch) {
        for (float f : s.scaled()) {
          data.append(data.length() == 0 ? "" : ",").append(f);
        }
      }
      String body =
          "{\"inputs\":[{\"name\":\"input\",\"shape\":["
              + batch.size()
              + ","
              + FashionMnist.PIXELS
              + "],\"datatype\":\"FP32\",\"data\":["
              + data
              + "]}]}";
      HttpResponse<String> r = null;
      for (int attempt = 0; attempt < 5; attempt++) {
        r =
            post(nodes.get(0) + "/v2/models/" + model + "/versions/" + version + "/infer", body)
                .join();
        count("measuring (hold-out, 50 a request)", r.statusCode());
        if (r.statusCode() == 200) {
          break;
        }
        Thread.sleep(200);
      }
      if (r.statusCode() != 200) {
        throw new IllegalStateException(
            "node 1 could not score the hold-out with " + model + "@" + version + ": " + r.body());
      }
      JsonNode labels = Json.MAPPER.readTree(r.body()).get("outputs").get(1).get("data");
      for (int i = 0; i < batch.size(); i++) {
        int truth = batch.get(i).label();
        seen[truth]++;
        if (FashionMnist.LABELS.get(truth).equals(labels.get(i).asText())) {
          right[truth]++;
          all++;
        }
      }
    }
    double[][] out = new double[2][10];
    for (int c = 0; c < 10; c++) {
      out[0][c] = seen[c] == 0 ? 0 : (double) right[c] / seen[c];
    }
    out[1][0] = (double) all / holdout.size();
    return out;
  }

  /** The version of the model live in the endpoint on node {@code i}. */
  private String liveVersion(int i) throws Exception {
    JsonNode e =
        Json.MAPPER.readTree(
            send("GET", nodes.get(i) + "/admin/endpoints/" + endpoint, null).body());
    for (JsonNode m : e.get("models")) {
      String ref = m.get("model").asText();
      if (ref.startsWith(model) && "live".equals(m.get("role").asText())) {
        if (ref.contains("@")) {
          return ref.substring(ref.indexOf('@') + 1);
        }
        // named without a version: the one the node serves under the name
        JsonNode meta =
            Json.MAPPER.readTree(send("GET", nodes.get(i) + "/v2/models/" + model, null).body());
        return meta.path("versions").get(0).asText();
      }
    }
    throw new IllegalStateException("no live " + model + " in " + e);
  }

  /** Whether every node's endpoint has {@code member} in one of {@code roles}. */
  private boolean everyNode(String member, String... roles) throws Exception {
    for (String n : nodes) {
      JsonNode e =
          Json.MAPPER.readTree(send("GET", n + "/admin/endpoints/" + endpoint, null).body());
      boolean found = false;
      for (JsonNode m : e.path("models")) {
        if (m.get("model").asText().equals(member)
            && List.of(roles).contains(m.get("role").asText())) {
          found = true;
        }
      }
      if (!found) {
        return false;
      }
    }
    return true;
  }

  private JsonNode trainer() throws Exception {
    HttpResponse<String> r = send("GET", nodes.get(0) + "/admin/freshness", null);
    if (r.statusCode() != 200) {
      System.out.println(
          "the freshness trainer is not available: " + r.statusCode() + " " + r.body());
      return null;
    }
    return Json.MAPPER.readTree(r.body());
  }

  private JsonNode m2(JsonNode trainer) {
    for (JsonNode m : trainer.path("models")) {
      if (m.path("model").asText().equals(model)) {
        return m;
      }
    }
    throw new IllegalStateException("the trainer does not keep " + model + " fresh: " + trainer);
  }

  private static String body(FashionMnist.Sample s) {
    StringBuilder b = new StringBuilder("{\"instances\":[[");
    float[] x = s.scaled();
    for (int i = 0; i < x.length; i++) {
      b.append(i == 0 ? "" : ",").append(x[i]);
    }
    return b.append("]]}").toString();
  }

  private static String requestId(String body) {
    try {
      return Json.MAPPER.readTree(body).get("predictions").get(0).get("request_id").asText();
    } catch (java.io.IOException e) {
      throw new IllegalStateException("not a /predict answer: " + body, e);
    }
  }

  private CompletableFuture<HttpResponse<String>> post(String url, String json) {
    return http.sendAsync(
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> send(String method, String url, String json) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .method(
                method,
                json == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(json));
    if (!adminToken.isEmpty()) {
      b.header("Authorization", "Bearer " + adminToken);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
