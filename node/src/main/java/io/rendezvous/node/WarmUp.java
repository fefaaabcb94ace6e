package io.rendezvous.node;

import com.typesafe.config.Config;
import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.actors.edge.RendezvousClient;
import io.rendezvous.model.TensorSpec;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warm before ready: the node's own requests through the whole request path as a client's go, over
 * its own HTTP port on loopback (Pekko HTTP's parsing and rendering, admission, an Open Inference
 * Protocol JSON body decoded, one rendezvous per instance, every model, the journal, the reply, and
 * the Kafka mirror when there is one), before {@link Readiness} says ready. Inputs are random
 * values of each endpoint's shape, written with 17 significant digits as numpy and Python's json
 * write them (Triton's warm-up takes random data the same way). The requests carry the {@link
 * WarmUpMark}: answered with warm-up ids ({@link RendezvousClient#warmUp}), journaled, marked, kept
 * out of the users' topics and the figures.
 *
 * <p>It runs at least {@code requests}, then on until the JIT has settled: a JVM compiles a request
 * path's code over its first minute of load, running it slower meanwhile (and on a shared 2-core
 * box the first users met a node at a third of its speed, docs/benchmarks.md). Settled: the
 * compiler's time over the last {@code settle-window} below {@code jit-settled} of that window.
 */
final class WarmUp {
  private static final Logger log = LoggerFactory.getLogger(WarmUp.class);

  /** {@code rendezvous.warm-up}. */
  record Settings(
      int requests,
      int concurrency,
      Duration timeout,
      boolean untilJitSettles,
      double jitSettled,
      Duration settleWindow) {
    static Settings fromConfig(Config root) {
      Config c = root.getConfig("rendezvous.warm-up");
      Settings s =
          new Settings(
              c.getInt("requests"),
              c.getInt("concurrency"),
              c.getDuration("timeout"),
              c.getBoolean("until-jit-settles"),
              c.getDouble("jit-settled"),
              c.getDuration("settle-window"));
      if (s.requests < 0 || s.concurrency < 1) {
        throw new IllegalArgumentException(
            "rendezvous.warm-up: requests must be >= 0 and concurrency >= 1");
      }
      if (s.jitSettled <= 0 || s.settleWindow.isNegative() || s.settleWindow.isZero()) {
        throw new IllegalArgumentException(
            "rendezvous.warm-up: jit-settled and settle-window must be above 0");
      }
      return s;
    }
  }

  /**
   * What the warm-up did: requests run, how many answered 200, how long it took, whether it ended
   * by its own measure (not the timeout), and the JIT's share of the last settle window (-1 when
   * not measured).
   */
  record Summary(long requests, long answered, Duration took, boolean finished, double jitShare) {
    /** No warm-up run (none configured, or no endpoint to warm). */
    static final Summary NONE = new Summary(0, 0, Duration.ZERO, true, -1);
  }

  /** The compiler's {@code share} of a {@code window} in words; "" when not measured. */
  static String jitShare(double share, Duration window) {
    return share < 0
        ? ""
        : String.format(
            java.util.Locale.ROOT,
            "JIT compiling %.0f%% of the last %d ms",
            share * 100,
            window.toMillis());
  }

  private final ActorSystem<?> system;
  private final Settings settings;
  private final WarmUpMark mark;
  private final List<EndpointSettings> endpoints;
  private final AtomicLong done = new AtomicLong();
  private final JitWatch jit;

  WarmUp(
      ActorSystem<?> system,
      Settings settings,
      WarmUpMark mark,
      Map<String, EndpointSettings> endpoints) {
    this.system = system;
    this.settings = settings;
    this.mark = mark;
    // only endpoints whose input a random body can be written for; others go without warm-up
    this.endpoints =
        endpoints.values().stream()
            .filter(e -> "float32".equals(e.input().dtype()))
            .sorted((a, b) -> a.name().compareTo(b.name()))
            .toList();
    this.jit = new JitWatch(settings.settleWindow());
  }

  /** Requests finished so far. */
  long done() {
    return done.get();
  }

  /** The requests it runs at least. */
  int planned() {
    return endpoints.isEmpty() ? 0 : settings.requests();
  }

  /** What the readiness check says while it runs. */
  String progress() {
    double share = jit.share();
    return "warming up: "
        + done()
        + " requests (at least "
        + planned()
        + ")"
        + (share < 0 || !settings.untilJitSettles()
            ? ""
            : ", "
                + jitShare(share, settings.settleWindow())
                + String.format(
                    java.util.Locale.ROOT, " (settled below %.0f%%)", settings.jitSettled() * 100));
  }

  /**
   * Runs the warm-up against the node's HTTP port at {@code base}; completes when it has run
   * enough, or at the timeout. The mark is honoured only meanwhile.
   */
  CompletionStage<Summary> run(URI base) {
    long start = System.nanoTime();
    if (planned() == 0) {
      return CompletableFuture.completedFuture(Summary.NONE);
    }
    SplittableRandom random = new SplittableRandom();
    List<byte[]> bodies = endpoints.stream().map(e -> body(e.input(), random)).toList();
    List<URI> uris =
        endpoints.stream().map(e -> base.resolve("/v2/models/" + e.name() + "/infer")).toList();
    java.util.concurrent.ExecutorService executor =
        java.util.concurrent.Executors.newFixedThreadPool(
            CLIENT_THREADS,
            r -> {
              Thread t = new Thread(r, "rendezvous-warm-up-client");
              t.setDaemon(true);
              return t;
            });
    HttpClient http =
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(executor).build();
    long deadline = start + settings.timeout().toNanos();
    AtomicLong answered = new AtomicLong();
    AtomicLong started = new AtomicLong();
    AtomicLong failedInARow = new AtomicLong();
    java.util.concurrent.atomic.AtomicBoolean settled =
        new java.util.concurrent.atomic.AtomicBoolean();
    CompletableFuture<Summary> result = new CompletableFuture<>();
    mark.open();
    jit.start();
    Source.repeat(0)
        .takeWhile(
            x -> {
              if (failedInARow.get() >= GIVE_UP_AFTER_FAILURES || System.nanoTime() >= deadline) {
                return false;
              }
              if (enough(started.get())) {
                settled.set(true);
                return false;
              }
              return true;
            })
        .mapAsyncUnordered(
            settings.concurrency(),
            x -> {
              int k = (int) (started.getAndIncrement() % endpoints.size());
              return http.sendAsync(
                      HttpRequest.newBuilder(uris.get(k))
                          .header("Content-Type", "application/json")
                          .header(WarmUpMark.HEADER, mark.secret())
                          // no request outlives the warm-up by more than its own timeout
                          .timeout(settings.timeout())
                          .POST(HttpRequest.BodyPublishers.ofByteArray(bodies.get(k)))
                          .build(),
                      HttpResponse.BodyHandlers.ofByteArray())
                  .handle(
                      (response, e) -> {
                        done.incrementAndGet();
                        if (e != null) {
                          // the node's own port did not answer: worth a line the first time
                          if (failedInARow.getAndIncrement() == 0) {
                            log.warn("warm-up: {} failed: {}", uris.get(k), e.toString());
                          }
                          return x;
                        }
                        failedInARow.set(0);
                        if (response.statusCode() == 200) {
                          answered.incrementAndGet();
                        } else if (response.statusCode() >= 400
                            && response.statusCode() != 503
                            && response.statusCode() != 504) {
                          // not load: the warm-up's own request is wrong, which no longer run fixes
                          log.warn(
                              "warm-up: {} answered {}: {}",
                              uris.get(k),
                              response.statusCode(),
                              new String(response.body(), StandardCharsets.UTF_8));
                        }
                        return x;
                      });
            })
        .runWith(Sink.ignore(), system)
        .whenComplete(
            (d, e) -> {
              mark.close();
              executor.shutdown();
              if (e == null && failedInARow.get() >= GIVE_UP_AFTER_FAILURES) {
                e =
                    new IllegalStateException(
                        "the node's own HTTP port at "
                            + base
                            + " failed "
                            + failedInARow.get()
                            + " warm-up requests in a row");
              }
              if (e != null) {
                result.completeExceptionally(e);
                return;
              }
              result.complete(
                  new Summary(
                      done.get(),
                      answered.get(),
                      Duration.ofNanos(System.nanoTime() - start),
                      settled.get(),
                      jit.share()));
            });
    return result;
  }

  /** Whether {@code started} requests are enough: the minimum, and the JIT settled if asked. */
  private boolean enough(long started) {
    if (started < planned()) {
      return false;
    }
    if (!settings.untilJitSettles()) {
      return true;
    }
    double share = jit.share();
    // a JVM that does not measure its compiler: the minimum is all that can be known
    return share >= 0 ? share < settings.jitSettled() : !jit.measurable();
  }

  /**
   * Requests failing in a row (no HTTP answer at all) after which the warm-up gives up: its own
   * port is not reachable, and trying on until the timeout would only spin.
   */
  private static final int GIVE_UP_AFTER_FAILURES = 100;

  /** The warm-up's client threads: the HTTP client's work is small, its requests are async. */
  private static final int CLIENT_THREADS = 2;

  /**
   * The JIT compiler's share of wall time over the last complete window, from the JVM's total
   * compilation time (summed over its compiler threads, so it may exceed 1).
   */
  static final class JitWatch {
    private final CompilationMXBean compiler = ManagementFactory.getCompilationMXBean();
    private final long windowNanos;
    private long windowStartNanos;
    private long windowStartCompileMillis;
    private volatile double share = -1;

    JitWatch(Duration window) {
      this.windowNanos = window.toNanos();
    }

    boolean measurable() {
      return compiler != null && compiler.isCompilationTimeMonitoringSupported();
    }

    synchronized void start() {
      windowStartNanos = System.nanoTime();
      windowStartCompileMillis = measurable() ? compiler.getTotalCompilationTime() : 0;
      share = -1;
    }

    /** The last complete window's share (-1 before the first, or when not measurable). */
    double share() {
      if (!measurable()) {
        return -1;
      }
      long now = System.nanoTime();
      synchronized (this) {
        if (windowStartNanos != 0 && now - windowStartNanos >= windowNanos) {
          long compiled = compiler.getTotalCompilationTime();
          share = (compiled - windowStartCompileMillis) * 1e6 / (double) (now - windowStartNanos);
          windowStartNanos = now;
          windowStartCompileMillis = compiled;
        }
      }
      return share;
    }
  }

  /** An OIP v2 request of one instance of {@code spec}, random values in [0, 1), 17 digits. */
  static byte[] body(TensorSpec spec, SplittableRandom random) {
    long elements = spec.elementsPerInstance();
    StringBuilder b = new StringBuilder("{\"inputs\":[{\"name\":");
    b.append(Json.MAPPER.valueToTree(spec.name()).toString()).append(",\"shape\":[1");
    for (long dim : spec.shape().subList(1, spec.shape().size())) {
      b.append(',').append(dim);
    }
    b.append("],\"datatype\":\"FP32\",\"data\":[");
    for (long i = 0; i < elements; i++) {
      if (i > 0) {
        b.append(',');
      }
      b.append(String.format(java.util.Locale.ROOT, "%.17g", random.nextDouble()));
    }
    return b.append("]}]}").toString().getBytes(StandardCharsets.UTF_8);
  }
}
