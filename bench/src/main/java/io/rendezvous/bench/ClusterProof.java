package io.rendezvous.bench;

import io.rendezvous.journal.JournalReader;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * {@code cluster-proof [--seconds 60] [--rate 100] [--kill-at 25] [--signal KILL|TERM] [--warmup
 * 10]}: starts three node processes on loopback, warms them up (unmeasured), then sends a bounded
 * open-model load (fixed rate) spread over their HTTP ports (a client that, like a load balancer,
 * tries the next node once when a connection is refused or closed before any response), stops
 * node-2 with the signal in the middle, and prints what happened: requests sent, answered, failed,
 * p50/p99 before/during/after, how long until every request was answered again, and whether every
 * answered request has its input and answer in some node's journal.
 */
public final class ClusterProof {
  private static final int NODES = 3;
  private static final int HTTP_BASE = 18080;
  private static final int ARTERY_BASE = 35520;
  private static final int MANAGEMENT_BASE = 18558;

  private ClusterProof() {}

  /**
   * One request: when it was due, how long it took, what came back, and whether its entity ran on
   * the node it entered.
   */
  record Outcome(
      long sentNanos, long latencyNanos, int status, String requestId, Boolean entityLocal) {}

  public static int run(String[] args, PrintStream out) throws Exception {
    int seconds = 60;
    int rate = 100;
    int killAt = 25;
    String signal = "KILL";
    int warmup = 10;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--seconds" -> seconds = Integer.parseInt(args[i + 1]);
        case "--rate" -> rate = Integer.parseInt(args[i + 1]);
        case "--kill-at" -> killAt = Integer.parseInt(args[i + 1]);
        case "--signal" -> signal = args[i + 1].toUpperCase(java.util.Locale.ROOT);
        case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    Path home = Path.of(System.getenv().getOrDefault("RENDEZVOUS_HOME", "."));
    Path runDir =
        Files.createDirectories(
            home.resolve("data/cluster-proof/run-" + System.currentTimeMillis()));
    List<Process> nodes = new ArrayList<>();
    List<String> answered = List.of();
    HttpClient http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(2))
            .executor(Executors.newFixedThreadPool(4))
            .build();
    try {
      for (int i = 1; i <= NODES; i++) {
        nodes.add(startNode(home, runDir, i));
      }
      for (int i = 1; i <= NODES; i++) {
        awaitReady(http, i, nodes.get(i - 1), runDir);
      }
      out.printf(
          "3 nodes ready (logs in %s); load: %d s at %d req/s, node-2 gets SIG%s at %d s%n",
          runDir, seconds, rate, signal, killAt);

      List<byte[]> bodies =
          FashionMnist.load().holdout().stream()
              .limit(500)
              .map(s -> HoldoutBodies.json(s).getBytes(StandardCharsets.UTF_8))
              .toList();
      // a fresh cluster allocates each shard on first use and runs cold code: warm it up,
      // unmeasured
      load(http, bodies, rate, warmup, -1, null, signal);
      ConcurrentLinkedQueue<Outcome> outcomes =
          load(http, bodies, rate, seconds, killAt, nodes.get(1), signal);
      long killNanos = TimeUnit.SECONDS.toNanos(killAt);
      answered = report(out, new ArrayList<>(outcomes), killNanos, signal);
    } finally {
      for (Process p : nodes) {
        if (p.isAlive()) {
          p.destroy();
        }
      }
      for (Process p : nodes) {
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
    out.println("journal check (all nodes stopped):");
    Set<String> inputs = new HashSet<>();
    Set<String> answers = new HashSet<>();
    for (int i = 1; i <= NODES; i++) {
      Path journal = runDir.resolve("node-" + i).resolve("journal");
      if (Files.isDirectory(journal)) {
        JournalReader.forEach(
            journal,
            r -> {
              if (r instanceof JournalRecord.Input) {
                inputs.add(r.requestId());
              } else if (r instanceof JournalRecord.Answer) {
                answers.add(r.requestId());
              }
            });
      }
    }
    long missing =
        answered.stream().filter(id -> !inputs.contains(id) || !answers.contains(id)).count();
    out.printf(
        "  answered requests: %d, with input and answer in some journal: %d, missing: %d%n",
        answered.size(), answered.size() - missing, missing);
    return missing == 0 ? 0 : 1;
  }

  /**
   * Sends {@code rate} requests a second for {@code seconds}; stops {@code victim} at {@code
   * killAt} s.
   */
  private static ConcurrentLinkedQueue<Outcome> load(
      HttpClient http,
      List<byte[]> bodies,
      int rate,
      int seconds,
      int killAt,
      Process victim,
      String signal)
      throws Exception {
    ConcurrentLinkedQueue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
    List<CompletableFuture<Void>> pending = new ArrayList<>();
    long start = System.nanoTime();
    long intervalNanos = 1_000_000_000L / rate;
    long total = (long) seconds * rate;
    boolean stopped = false;
    for (long n = 0; n < total; n++) {
      long due = start + n * intervalNanos;
      long wait = due - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      if (victim != null && !stopped && n * intervalNanos >= TimeUnit.SECONDS.toNanos(killAt)) {
        stopped = true;
        if ("KILL".equals(signal)) {
          victim.destroyForcibly();
        } else {
          victim.destroy();
        }
      }
      pending.add(
          send(
              http,
              (int) (n % NODES),
              bodies.get((int) (n % bodies.size())),
              n * intervalNanos,
              outcomes));
    }
    CompletableFuture.allOf(pending.toArray(new CompletableFuture<?>[0])).get(60, TimeUnit.SECONDS);
    return outcomes;
  }

  private static CompletableFuture<Void> send(
      HttpClient http,
      int node,
      byte[] body,
      long sentNanos,
      ConcurrentLinkedQueue<Outcome> outcomes) {
    long t0 = System.nanoTime();
    return attempt(http, node, body)
        .handle(
            (r, e) -> {
              if (e != null && isRetryable(e)) {
                return attempt(http, (node + 1) % NODES, body);
              }
              return e != null
                  ? CompletableFuture.<HttpResponse<String>>failedFuture(e)
                  : CompletableFuture.completedFuture(r);
            })
        .thenCompose(f -> f)
        .handle(
            (r, e) -> {
              long latency = System.nanoTime() - t0;
              if (e != null || r == null) {
                outcomes.add(new Outcome(sentNanos, latency, -1, null, null));
              } else {
                String id = null;
                int at = r.body().indexOf("\"request_id\":\"");
                if (at >= 0) {
                  id = r.body().substring(at + 14, r.body().indexOf('"', at + 14));
                }
                int port = r.uri().getPort();
                String entityNode = field(r.body(), "node");
                Boolean local =
                    entityNode == null ? null : entityNode.equals("node-" + (port - HTTP_BASE + 1));
                outcomes.add(new Outcome(sentNanos, latency, r.statusCode(), id, local));
              }
              return null;
            });
  }

  private static String field(String body, String name) {
    String key = "\"" + name + "\":\"";
    int at = body.indexOf(key);
    return at < 0 ? null : body.substring(at + key.length(), body.indexOf('"', at + key.length()));
  }

  private static CompletableFuture<HttpResponse<String>> attempt(
      HttpClient http, int node, byte[] body) {
    URI uri = URI.create("http://127.0.0.1:" + (HTTP_BASE + node) + "/predict");
    return http.sendAsync(
        HttpRequest.newBuilder(uri)
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Like a load balancer: a refused connection, or a pooled keep-alive connection the node closed
   * as it stopped (no response received), is tried once on the next node. A timeout is not.
   */
  private static boolean isRetryable(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.net.http.HttpTimeoutException) {
        return false;
      }
      if (t instanceof ConnectException || t instanceof IOException) {
        return true;
      }
    }
    return false;
  }

  /** Prints the figures; returns the ids of the requests answered 200. */
  private static List<String> report(
      PrintStream out, List<Outcome> all, long killNanos, String signal) {
    all.sort((a, b) -> Long.compare(a.sentNanos(), b.sentNanos()));
    long ok = all.stream().filter(o -> o.status() == 200).count();

    // back to normal: the start of the first one-second window after the stop from which every
    // later
    // window had every request answered 200 with a p99 no worse than twice the p99 before the stop
    long[] before =
        all.stream()
            .filter(o -> o.sentNanos() < killNanos && o.status() == 200)
            .mapToLong(Outcome::latencyNanos)
            .sorted()
            .toArray();
    double normalP99 = 2 * pct(before, 99);
    long second = 1_000_000_000L;
    long recovered = killNanos;
    long lastSent = all.isEmpty() ? 0 : all.get(all.size() - 1).sentNanos();
    for (long w = (killNanos / second) * second; w <= lastSent; w += second) {
      long from = w;
      List<Outcome> window =
          all.stream().filter(o -> o.sentNanos() >= from && o.sentNanos() < from + second).toList();
      long[] lat =
          window.stream()
              .filter(o -> o.status() == 200)
              .mapToLong(Outcome::latencyNanos)
              .sorted()
              .toArray();
      boolean normal =
          window.stream().allMatch(o -> o.status() == 200)
              && (lat.length == 0 || pct(lat, 99) <= normalP99);
      if (!normal) {
        recovered = from + second;
      }
    }
    out.printf(
        "requests sent %d, answered 200: %d (%.2f%%), failed: %d%n",
        all.size(), ok, 100.0 * ok / all.size(), all.size() - ok);
    out.printf(
        "%-8s %8s %8s %8s %10s %10s%n", "phase", "sent", "200", "failed", "p50 ms", "p99 ms");
    phase(out, "before", all, 0, killNanos);
    phase(out, "during", all, killNanos, recovered);
    phase(out, "after", all, recovered, Long.MAX_VALUE);
    out.printf(
        "SIG%s at %.1f s; normal again (every request 200, p99 <= %.0f ms, twice the p99 before) from"
            + " %.1f s: back to normal in %.1f s%n",
        signal, killNanos / 1e9, normalP99 / 1e6, recovered / 1e9, (recovered - killNanos) / 1e9);
    // what the hop between the node a request entered and its entity's node costs, before the stop
    long[] local =
        all.stream()
            .filter(
                o ->
                    o.sentNanos() < killNanos
                        && o.status() == 200
                        && Boolean.TRUE.equals(o.entityLocal()))
            .mapToLong(Outcome::latencyNanos)
            .sorted()
            .toArray();
    long[] remote =
        all.stream()
            .filter(
                o ->
                    o.sentNanos() < killNanos
                        && o.status() == 200
                        && Boolean.FALSE.equals(o.entityLocal()))
            .mapToLong(Outcome::latencyNanos)
            .sorted()
            .toArray();
    out.printf(
        "before the stop: entity on the node the request entered: %d requests, p50 %.2f ms, p99 %.2f ms;"
            + " on another node: %d requests, p50 %.2f ms, p99 %.2f ms%n",
        local.length,
        pct(local, 50) / 1e6,
        pct(local, 99) / 1e6,
        remote.length,
        pct(remote, 50) / 1e6,
        pct(remote, 99) / 1e6);
    all.stream()
        .filter(o -> o.status() != 200)
        .limit(5)
        .forEach(
            o -> out.printf("  failed at %.2f s: status %d%n", o.sentNanos() / 1e9, o.status()));
    return all.stream()
        .filter(o -> o.status() == 200 && o.requestId() != null)
        .map(Outcome::requestId)
        .toList();
  }

  private static void phase(PrintStream out, String name, List<Outcome> all, long from, long to) {
    List<Outcome> in =
        all.stream().filter(o -> o.sentNanos() >= from && o.sentNanos() < to).toList();
    long ok = in.stream().filter(o -> o.status() == 200).count();
    long[] lat =
        in.stream()
            .filter(o -> o.status() == 200)
            .mapToLong(Outcome::latencyNanos)
            .sorted()
            .toArray();
    out.printf(
        "%-8s %8d %8d %8d %10.2f %10.2f%n",
        name, in.size(), ok, in.size() - ok, pct(lat, 50) / 1e6, pct(lat, 99) / 1e6);
  }

  private static double pct(long[] sorted, int p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    return sorted[
        Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(p / 100.0 * sorted.length) - 1))];
  }

  private static Process startNode(Path home, Path runDir, int i) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(home.resolve("node/bin/rendezvous").toString(), "serve");
    pb.environment().put("RENDEZVOUS_NODE_NAME", "node-" + i);
    pb.environment().put("RENDEZVOUS_HTTP_PORT", Integer.toString(HTTP_BASE + i - 1));
    pb.environment().put("RENDEZVOUS_ARTERY_PORT", Integer.toString(ARTERY_BASE + i - 1));
    pb.environment().put("RENDEZVOUS_MANAGEMENT_PORT", Integer.toString(MANAGEMENT_BASE + i - 1));
    pb.environment().put("RENDEZVOUS_DATA_DIR", runDir.resolve("node-" + i).toString());
    pb.environment()
        .put(
            "RENDEZVOUS_SEED_NODES",
            "127.0.0.1:" + ARTERY_BASE + ",127.0.0.1:" + (ARTERY_BASE + 1));
    pb.redirectErrorStream(true).redirectOutput(runDir.resolve("node-" + i + ".log").toFile());
    return pb.start();
  }

  private static void awaitReady(HttpClient http, int i, Process p, Path runDir) throws Exception {
    URI ready = URI.create("http://127.0.0.1:" + (HTTP_BASE + i - 1) + "/v2/health/ready");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new IllegalStateException(
            "node-" + i + " exited; see " + runDir.resolve("node-" + i + ".log"));
      }
      try {
        if (http.send(
                    HttpRequest.newBuilder(ready).GET().build(),
                    HttpResponse.BodyHandlers.discarding())
                .statusCode()
            == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      TimeUnit.MILLISECONDS.sleep(500);
    }
    throw new IllegalStateException("node-" + i + " not ready within 120 s");
  }
}
