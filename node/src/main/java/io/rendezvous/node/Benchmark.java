package io.rendezvous.node;

import ai.djl.inference.Predictor;
import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.rendezvous.workers.LoadedModel;
import io.rendezvous.workers.ModelSettings;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.model.TensorData;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code bench [--seconds N]}: figures for the README, measured in one run on this machine. Starts a
 * node in this JVM (free port, temporary data dir, journal on), then prints predictions/s of each model
 * called in-process through DJL, and requests/s with p50/p99 of {@code POST /predict} at 1, 8 and 32
 * concurrent clients with how often each stage chose the answer, then the same under fault injection
 * (m3 and m2 late part of the time, m1 failing now and then) to show the schedule at work. The load generator shares the machine
 * (and this JVM) with the node, as it would on a 2-core box anyway. Bounded: each phase runs N seconds.
 */
public final class Benchmark {
  private Benchmark() {}

  public static int run(String[] args, PrintStream out) throws Exception {
    int seconds = 10;
    for (int i = 0; i < args.length; i++) {
      if ("--seconds".equals(args[i]) && i + 1 < args.length) {
        seconds = Integer.parseInt(args[++i]);
      }
    }
    List<FashionMnist.Sample> holdout = FashionMnist.load().holdout();
    out.printf("Rendezvous benchmark: %d cores, Java %s, %d s per phase%n",
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), seconds);

    out.println();
    out.println("In-process inference (DJL predict, one thread, batch 1)");
    out.printf("%-6s %14s %10s %10s%n", "model", "predictions/s", "p50 us", "p99 us");
    Config config = ConfigFactory.load();
    for (ModelSettings s : ModelSettings.allFromConfig(config)) {
      try (LoadedModel m = LoadedModel.load(s);
          Predictor<TensorData, float[][]> p = m.newPredictor()) {
        List<Long> lat = new ArrayList<>();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(1, seconds / 3));
        int i = 0;
        long start = System.nanoTime();
        while (System.nanoTime() < end) {
          TensorData x = TensorData.float32(new long[] {1, FashionMnist.PIXELS}, holdout.get(i++ % holdout.size()).scaled());
          long t0 = System.nanoTime();
          p.predict(x);
          lat.add(System.nanoTime() - t0);
        }
        double rate = lat.size() / ((System.nanoTime() - start) / 1e9);
        out.printf("%-6s %14.0f %10.0f %10.0f%n", s.name(), rate, pct(lat, 50) / 1e3, pct(lat, 99) / 1e3);
      }
    }

    out.println();
    out.println("POST /predict, full rendezvous (3 models, schedule m3 -> m2@15ms -> m1@30ms, SLA 50ms, journal on)");
    header(out);
    serve(holdout, "", new int[] {1, 8, 32}, seconds, out);
    out.println();
    out.println("Same, with fault injection: m3 +20ms on 30% of requests, m2 +40ms on 20%, m1 fails 5%");
    header(out);
    serve(holdout, String.join("\n",
        "rendezvous.models.m3.fault { latency = 20ms, latency-probability = 0.3 }",
        "rendezvous.models.m2.fault { latency = 40ms, latency-probability = 0.2 }",
        "rendezvous.models.m1.fault { failure-rate = 0.05 }"), new int[] {8}, seconds, out);
    return 0;
  }

  private static void header(PrintStream out) {
    out.printf("%-8s %10s %10s %10s %10s   %s%n", "clients", "req/s", "p50 ms", "p99 ms", "non-200", "answers by stage");
  }

  /** Starts a node with {@code overrides} (temporary data dir, free port), loads it, stops it. */
  private static void serve(List<FashionMnist.Sample> holdout, String overrides, int[] clientCounts, int seconds,
      PrintStream out) throws Exception {
    Path data = Files.createTempDirectory("rendezvous-bench");
    Config nodeConfig = ConfigFactory.load(ConfigFactory.parseString(overrides + "\n"
            + "rendezvous.data-dir = \"" + data + "\"\nrendezvous.http.port = 0\n"
            + "pekko.coordinated-shutdown.exit-jvm = off\npekko.loglevel = WARNING\n")
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
    Node node = Node.start(nodeConfig);
    try {
      URI uri = URI.create("http://127.0.0.1:" + node.httpPort() + "/predict");
      List<byte[]> bodies = holdout.stream().limit(500).map(s -> HoldoutBodies.json(s).getBytes(StandardCharsets.UTF_8)).toList();
      load(uri, bodies, 8, 3); // warm-up, not reported
      for (int clients : clientCounts) {
        Result r = load(uri, bodies, clients, seconds);
        out.printf("%-8d %10.0f %10.2f %10.2f %10d   %s%n", clients, r.rate(), r.p50() / 1e6, r.p99() / 1e6, r.failed(), r.stages());
      }
    } finally {
      node.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  record Result(double rate, double p50, double p99, long failed, Map<String, Long> stages) {}

  static Result load(URI uri, List<byte[]> bodies, int clients, int seconds) throws Exception {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .executor(Executors.newFixedThreadPool(2)).build();
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    List<List<Long>> latencies = new ArrayList<>();
    AtomicLong failed = new AtomicLong();
    Map<String, Long> stages = new ConcurrentHashMap<>();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    long start = System.nanoTime();
    for (int c = 0; c < clients; c++) {
      List<Long> mine = new ArrayList<>();
      latencies.add(mine);
      int offset = c;
      pool.submit(() -> {
        int i = offset;
        while (System.nanoTime() < end) {
          byte[] body = bodies.get(i++ % bodies.size());
          long t0 = System.nanoTime();
          try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
            long t = System.nanoTime() - t0;
            if (r.statusCode() == 200) {
              mine.add(t);
              JsonNode p = Json.MAPPER.readTree(r.body()).get("predictions").get(0);
              stages.merge("stage " + p.get("stage").asInt() + " (" + p.get("model").asText() + ")", 1L, Long::sum);
            } else {
              failed.incrementAndGet();
              stages.merge("status " + r.statusCode(), 1L, Long::sum);
            }
          } catch (Exception e) {
            failed.incrementAndGet();
          }
        }
        return null;
      });
    }
    pool.shutdown();
    pool.awaitTermination(seconds + 30L, TimeUnit.SECONDS);
    double elapsed = (System.nanoTime() - start) / 1e9;
    List<Long> all = new ArrayList<>();
    latencies.forEach(all::addAll);
    return new Result(all.size() / elapsed, pct(all, 50), pct(all, 99), failed.get(), new TreeMap<>(stages));
  }

  static double pct(List<Long> values, int p) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    long[] sorted = values.stream().mapToLong(Long::longValue).toArray();
    Arrays.sort(sorted);
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
  }
}
