package io.rendezvous.bench;

import io.rendezvous.bench.Converters.AtLeastOne;
import io.rendezvous.bench.Converters.AtLeastZero;
import io.rendezvous.journal.JournalReader;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.node.Node;
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
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code rendezvous-bench cluster-proof}: starts three node processes on loopback, warms them up
 * (unmeasured), then sends a bounded open-model load (fixed rate) spread over their HTTP ports (a
 * client that, like a load balancer, tries the next node once when a connection is refused or
 * closed before any response), stops node-2 with the signal in the middle, and prints what happened
 * ({@link ClusterProofReport}) and whether every answered request has its input and answer in some
 * node's journal.
 */
@Command(
    name = "cluster-proof",
    mixinStandardHelpOptions = true,
    version = "rendezvous-bench " + Node.VERSION,
    sortOptions = false,
    description = {
      "Starts three node processes on 127.0.0.1 (node/bin/rendezvous, HTTP 18080-18082), sends a"
          + " fixed-rate load over them, stops node-2 mid-run, prints requests, failures, p50/p99"
          + " before, during and after, and the time back to normal, then checks that every"
          + " answered request is in some node's journal.",
      "Exits 0 when every answer is journaled, 1 otherwise."
    })
final class ClusterProof implements Callable<Integer> {
  private static final int NODES = 3;
  private static final int HTTP_BASE = 18080;
  private static final int ARTERY_BASE = 35520;
  private static final int MANAGEMENT_BASE = 18558;
  private static final int GRPC_BASE = 19081;

  /** How node-2 is stopped: a crash, or a graceful leave. */
  enum Signal {
    KILL,
    TERM
  }

  @Option(
      names = "--seconds",
      paramLabel = "S",
      defaultValue = "60",
      converter = AtLeastOne.class,
      description = "Length of the measured load (default: ${DEFAULT-VALUE}).")
  int seconds;

  @Option(
      names = "--rate",
      paramLabel = "R",
      defaultValue = "100",
      converter = AtLeastOne.class,
      description = "Requests per second, spread over the three nodes (default: ${DEFAULT-VALUE}).")
  int rate;

  @Option(
      names = "--clients",
      paramLabel = "N",
      defaultValue = "0",
      converter = AtLeastZero.class,
      description =
          "Closed loop instead of a fixed rate: N clients, each sending its next request when its"
              + " last is answered, over the three nodes in turn; 0 = the fixed rate (default:"
              + " ${DEFAULT-VALUE}).")
  int clients;

  @Option(
      names = "--pause-ms",
      paramLabel = "MS",
      defaultValue = "0",
      converter = AtLeastZero.class,
      description =
          "With --clients: each client's pause after an answer before its next request, as a user"
              + " or a service between requests (default: ${DEFAULT-VALUE}).")
  int pauseMillis;

  @Option(
      names = "--kill-at",
      paramLabel = "S",
      defaultValue = "25",
      converter = AtLeastZero.class,
      description = "When node-2 is stopped, in seconds into the load (default: ${DEFAULT-VALUE}).")
  int killAt;

  @Option(
      names = "--signal",
      paramLabel = "KILL|TERM",
      defaultValue = "KILL",
      converter = SignalName.class,
      description =
          "KILL (a crash) or TERM (a graceful leave), in any case (default: ${DEFAULT-VALUE}).")
  Signal signal;

  @Option(
      names = "--warmup",
      paramLabel = "S",
      defaultValue = "10",
      converter = AtLeastZero.class,
      description = "Seconds of unmeasured load before it (default: ${DEFAULT-VALUE}).")
  int warmup;

  @Option(
      names = "--together",
      description =
          "Start the three nodes at once instead of each after the one before is ready (as"
              + " node/bin/local-cluster does): on one small machine their warm-ups then share the"
              + " cores and end at their timeout with the compiler still busy.")
  boolean together;

  @Spec CommandSpec spec;

  /**
   * One request: when it was due, how long it took, what came back, and whether its entity ran on
   * the node it entered.
   */
  record Outcome(
      long sentNanos, long latencyNanos, int status, String requestId, Boolean entityLocal) {}

  @Override
  public Integer call() throws Exception {
    // a stop after the load has ended would prove nothing
    if (killAt >= seconds) {
      throw new ParameterException(
          spec.commandLine(), "--kill-at must be below --seconds, got " + killAt);
    }
    PrintStream out = System.out;
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
      long startNanos = System.nanoTime();
      for (int i = 1; i <= NODES; i++) {
        nodes.add(startNode(home, runDir, i));
        if (!together) {
          awaitReady(http, i, nodes.get(i - 1), runDir);
        }
      }
      for (int i = 1; i <= NODES; i++) {
        awaitReady(http, i, nodes.get(i - 1), runDir);
      }
      out.printf(
          "started %s, all ready after %.0f s%n",
          together ? "together" : "one after another", (System.nanoTime() - startNanos) / 1e9);
      out.printf(
          "3 nodes ready (logs in %s); load: %d s %s, node-2 gets SIG%s at %d s%n",
          runDir,
          seconds,
          clients > 0
              ? "from " + clients + " closed-loop clients, " + pauseMillis + " ms pause"
              : "at " + rate + " req/s",
          signal,
          killAt);

      // bodies as Python's json.dumps writes them: 17 significant digits
      List<byte[]> bodies =
          FashionMnist.load().holdout().stream()
              .limit(500)
              .map(s -> HoldoutBodies.pythonJson(s).getBytes(StandardCharsets.UTF_8))
              .toList();
      ConcurrentLinkedQueue<Outcome> outcomes;
      if (clients > 0) {
        // measured from the moment all three say ready: the nodes warm themselves up before that
        if (warmup > 0) {
          closedLoop(http, bodies, clients, pauseMillis, warmup, -1, null, signal);
        }
        outcomes =
            closedLoop(http, bodies, clients, pauseMillis, seconds, killAt, nodes.get(1), signal);
      } else {
        // a fresh cluster allocates each shard on first use: warm it up, unmeasured
        load(http, bodies, rate, warmup, -1, null, signal);
        outcomes = load(http, bodies, rate, seconds, killAt, nodes.get(1), signal);
      }
      long killNanos = TimeUnit.SECONDS.toNanos(killAt);
      answered = ClusterProofReport.print(out, new ArrayList<>(outcomes), killNanos, signal);
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
      Signal signal)
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
        stop(victim, signal);
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

  /**
   * {@code clients} clients, each sending its next request as soon as its last is answered (client
   * k starts on node k mod 3 and goes round), for {@code seconds}; stops {@code victim} at {@code
   * killAt} s.
   */
  private static ConcurrentLinkedQueue<Outcome> closedLoop(
      HttpClient http,
      List<byte[]> bodies,
      int clients,
      int pauseMillis,
      int seconds,
      int killAt,
      Process victim,
      Signal signal)
      throws Exception {
    ConcurrentLinkedQueue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      int client = c;
      Thread t =
          new Thread(
              () -> {
                for (long n = 0; System.nanoTime() < end; n++) {
                  long sent = System.nanoTime() - start;
                  try {
                    send(
                            http,
                            (int) ((client + n) % NODES),
                            bodies.get((int) ((client * 7919 + n) % bodies.size())),
                            sent,
                            outcomes)
                        .get(30, TimeUnit.SECONDS);
                  } catch (Exception e) {
                    outcomes.add(
                        new Outcome(sent, System.nanoTime() - start - sent, -1, null, null));
                  }
                  if (pauseMillis > 0) {
                    try {
                      TimeUnit.MILLISECONDS.sleep(pauseMillis);
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                      return;
                    }
                  }
                }
              },
              "cluster-proof-client-" + c);
      t.start();
      threads.add(t);
    }
    if (victim != null) {
      long wait = start + TimeUnit.SECONDS.toNanos(killAt) - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      stop(victim, signal);
    }
    for (Thread t : threads) {
      t.join();
    }
    return outcomes;
  }

  /** SIGKILL (a crash) or SIGTERM (a graceful leave). */
  private static void stop(Process victim, Signal signal) {
    if (signal == Signal.KILL) {
      victim.destroyForcibly();
    } else {
      victim.destroy();
    }
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

  /** Accepts kill and term in any case, as the command always has. */
  static final class SignalName implements ITypeConverter<Signal> {
    @Override
    public Signal convert(String value) {
      try {
        return Signal.valueOf(value.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException("must be KILL or TERM, got " + value);
      }
    }
  }

  private static Process startNode(Path home, Path runDir, int i) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(home.resolve("node/bin/rendezvous").toString(), "serve");
    pb.environment().put("RENDEZVOUS_NODE_NAME", "node-" + i);
    pb.environment().put("RENDEZVOUS_HTTP_PORT", Integer.toString(HTTP_BASE + i - 1));
    pb.environment().put("RENDEZVOUS_GRPC_PORT", Integer.toString(GRPC_BASE + i - 1));
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
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
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
    throw new IllegalStateException("node-" + i + " not ready within 300 s");
  }
}
