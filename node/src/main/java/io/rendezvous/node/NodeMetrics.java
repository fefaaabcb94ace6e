package io.rendezvous.node;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import io.rendezvous.actors.CanaryComparison;
import io.rendezvous.actors.LateDeliveries;
import io.rendezvous.actors.edge.LocalShards;
import io.rendezvous.journal.JournalWriter;
import io.rendezvous.kafka.JournalPublisher;
import io.rendezvous.workers.PoolHealth;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * A node's Prometheus metrics: one registry, served at {@code GET /metrics} in the Prometheus text
 * format (OpenMetrics when the scraper asks for it). HTTP requests are counted where they are
 * answered, with their label sets bound once per (route, endpoint, status); everything the node
 * already counts (journal, edge, pools, late deliveries, canaries, the Kafka outbox, cluster
 * membership) is read at scrape time by callbacks, so the request path pays nothing for it. What
 * the models predict comes from the journal watch (module {@code monitor}), registered here too.
 */
final class NodeMetrics extends AllDirectives {
  /** Seconds: fine around the 50 ms SLA, coarse beyond it. */
  private static final double[] LATENCY_BUCKETS = {
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1,
    2.5, 10
  };

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final ExpositionFormats formats = ExpositionFormats.init();
  private final Counter httpRequests;
  private final Counter freshnessEvents;
  private final Histogram httpDuration;
  private final Gauge httpInFlight;
  private final Map<RouteKey, DistributionDataPoint> durations = new ConcurrentHashMap<>();
  private final Map<CodeKey, CounterDataPoint> codes = new ConcurrentHashMap<>();
  private final Counter grpcCalls;
  private final Histogram grpcDuration;
  private final Map<GrpcKey, CounterDataPoint> grpcCodes = new ConcurrentHashMap<>();
  private final Map<String, DistributionDataPoint> grpcDurations = new ConcurrentHashMap<>();
  private final Predicate<String> knownEndpoint;

  /** {@code knownEndpoint}: whether a name in a path is an endpoint or model (else "other"). */
  NodeMetrics(Predicate<String> knownEndpoint, String node, String version) {
    this.knownEndpoint = knownEndpoint;
    JvmMetrics.builder().register(registry);
    Info.builder()
        .name("rendezvous_build_info")
        .help("This node's name and build")
        .labelNames("node", "version")
        .register(registry)
        .setLabelValues(node, version);
    httpRequests =
        Counter.builder()
            .name("rendezvous_http_requests")
            .help("HTTP requests answered, by route, endpoint and status")
            .labelNames("route", "endpoint", "code")
            .withoutExemplars()
            .register(registry);
    freshnessEvents =
        Counter.builder()
            .name("rendezvous_freshness_events")
            .help(
                "The freshness trainer's steps on this node, by endpoint, model and event (training,"
                    + " checked, rejected, shadow, promoting, promoted, withdrawn, rolling-back,"
                    + " rolled-back, stable, failed)")
            .labelNames("endpoint", "model", "event")
            .withoutExemplars()
            .register(registry);
    httpDuration =
        Histogram.builder()
            .name("rendezvous_http_request_duration_seconds")
            .help("From a request's arrival to its response, by route and endpoint")
            .unit(Unit.SECONDS)
            .labelNames("route", "endpoint")
            .classicOnly()
            .classicUpperBounds(LATENCY_BUCKETS)
            .withoutExemplars()
            .register(registry);
    grpcCalls =
        Counter.builder()
            .name("rendezvous_grpc_calls")
            .help(
                "gRPC calls answered (Open Inference Protocol), by method, endpoint and status code")
            .labelNames("method", "endpoint", "code")
            .withoutExemplars()
            .register(registry);
    grpcDuration =
        Histogram.builder()
            .name("rendezvous_grpc_call_duration_seconds")
            .help("From a gRPC call's arrival to its answer, by method")
            .unit(Unit.SECONDS)
            .labelNames("method")
            .classicOnly()
            .classicUpperBounds(LATENCY_BUCKETS)
            .withoutExemplars()
            .register(registry);
    httpInFlight =
        Gauge.builder()
            .name("rendezvous_http_requests_in_flight")
            .help("HTTP requests received and not yet answered")
            .register(registry);
  }

  PrometheusRegistry registry() {
    return registry;
  }

  /**
   * Wraps the server's request handler so that every request it answers is counted and timed. At
   * the handler, not in the route tree (mapping a route's result puts every response through one
   * more task on the dispatcher), and on the thread that completes the response.
   */
  Handler measured(Handler inner) {
    return request -> {
      if (!counting || notCounted.test(request)) {
        return inner.apply(request);
      }
      RouteKey key = classify(request);
      long start = System.nanoTime();
      httpInFlight.inc();
      java.util.concurrent.CompletionStage<HttpResponse> response;
      try {
        response = inner.apply(request);
      } catch (Exception | Error e) {
        answered(key, start, 500);
        throw e;
      }
      // on the completing thread: Pekko's stage would run a plain whenComplete on the common pool
      return response.whenCompleteAsync(
          (r, failure) -> answered(key, start, failure != null ? 500 : r.status().intValue()),
          Runnable::run);
    };
  }

  private void answered(RouteKey key, long startNanos, int code) {
    httpInFlight.dec();
    durations
        .computeIfAbsent(key, k -> httpDuration.labelValues(k.route, k.endpoint))
        .observe((System.nanoTime() - startNanos) / 1e9);
    codes
        .computeIfAbsent(
            new CodeKey(key, code),
            k ->
                httpRequests.labelValues(k.route.route, k.route.endpoint, Integer.toString(k.code)))
        .inc();
  }

  /**
   * A gRPC call answered with {@code code} (a status code's name) {@code nanos} after it came;
   * {@code endpoint}: the model or endpoint it named, "other" for one not served.
   */
  void grpcCall(String method, String endpoint, String code, long nanos) {
    if (!counting) {
      return;
    }
    grpcDurations.computeIfAbsent(method, m -> grpcDuration.labelValues(m)).observe(nanos / 1e9);
    grpcCodes
        .computeIfAbsent(
            new GrpcKey(method, endpoint.isEmpty() ? NONE : endpoint(endpoint), code),
            k -> grpcCalls.labelValues(k.method(), k.endpoint(), k.code()))
        .inc();
  }

  private record GrpcKey(String method, String endpoint, String code) {}

  /** Requests that are not users' (the node's own warm-up): not counted. */
  private volatile java.util.function.Predicate<HttpRequest> notCounted = r -> false;

  void notCounted(java.util.function.Predicate<HttpRequest> which) {
    notCounted = which;
  }

  /** Whether HTTP requests are counted now (an operator may pause it at run time). */
  private volatile boolean counting = true;

  void counting(boolean on) {
    counting = on;
  }

  boolean counting() {
    return counting;
  }

  /** The server's request handler, as Pekko HTTP takes it. */
  interface Handler
      extends org.apache.pekko.japi.function.Function<
          HttpRequest, java.util.concurrent.CompletionStage<HttpResponse>> {}

  private static final String NONE = "";
  private static final String OTHER = "other";

  /**
   * Routes of the paths seen, so that a request's path is parsed once; bounded, since a client may
   * send any path (those beyond the bound are parsed each time).
   */
  private final Map<String, RouteKey> routesByPath = new ConcurrentHashMap<>();

  private static final int ROUTES_CACHED = 1024;

  /** The route a request is for, and the endpoint or model it names (a known one only). */
  RouteKey classify(HttpRequest request) {
    String path = request.getUri().path();
    if (path.startsWith("/predict")) {
      // the endpoint is in the query
      return parse(request, path);
    }
    RouteKey known = routesByPath.get(path);
    if (known != null) {
      return known;
    }
    RouteKey parsed = parse(request, path);
    // a name not yet an endpoint may become one: only known names are kept
    if (routesByPath.size() < ROUTES_CACHED && !parsed.endpoint.equals(OTHER)) {
      routesByPath.put(path, parsed);
    }
    return parsed;
  }

  private RouteKey parse(HttpRequest request, String path) {
    String[] parts = path.split("/");
    // parts[0] is empty: the path starts with "/"
    String first = parts.length > 1 ? parts[1] : "";
    switch (first) {
      case "predict":
        return new RouteKey(
            "predict", endpoint(request.getUri().query().get("endpoint").orElse("rendezvous")));
      case "v2":
        if (parts.length == 2) {
          return new RouteKey("server-metadata", NONE);
        }
        if (parts[2].equals("models") && parts.length >= 4) {
          String last = parts[parts.length - 1];
          String route =
              last.equals("infer")
                  ? "infer"
                  : last.equals("ready") ? "model-ready" : "model-metadata";
          return new RouteKey(route, endpoint(parts[3]));
        }
        if (parts[2].equals("health")) {
          return new RouteKey("health", NONE);
        }
        if (parts[2].equals("repository")) {
          return new RouteKey("repository", NONE);
        }
        return new RouteKey(OTHER, NONE);
      case "admin":
        return new RouteKey("admin", NONE);
      case "internal":
        return new RouteKey("internal", NONE);
      case "metrics":
        return new RouteKey("metrics", NONE);
      case "dashboard":
      case "watch":
        return new RouteKey("dashboard", NONE);
      default:
        return new RouteKey(OTHER, NONE);
    }
  }

  private String endpoint(String name) {
    return knownEndpoint.test(name) ? name : OTHER;
  }

  /** The journal's own counts: records and bytes appended, append time, free space, retention. */
  void journal(JournalWriter journal) {
    CounterWithCallback.builder()
        .name("rendezvous_journal_records")
        .help("Records appended to the journal")
        .callback(cb -> cb.call(journal.appended()))
        .register(registry);
    CounterWithCallback.builder()
        .name("rendezvous_journal_bytes")
        .help("Bytes of record content appended to the journal")
        .callback(cb -> cb.call(journal.appendedBytes()))
        .register(registry);
    CounterWithCallback.builder()
        .name("rendezvous_journal_append_batches")
        .help("Batches of records the journal's writer appended")
        .callback(cb -> cb.call(journal.batchAppendTotal().count()))
        .register(registry);
    CounterWithCallback.builder()
        .name("rendezvous_journal_append_seconds")
        .help(
            "Time spent appending batches; over rendezvous_journal_append_batches_total, the mean"
                + " append time")
        .callback(cb -> cb.call(journal.batchAppendTotal().totalMicros() / 1e6))
        .register(registry);
    GaugeWithCallback.builder()
        .name("rendezvous_journal_append_max_seconds")
        .help("The longest batch append since the node became ready")
        .callback(cb -> cb.call(journal.batchAppend().maxMicros() / 1e6))
        .register(registry);
    GaugeWithCallback.builder()
        .name("rendezvous_journal_queue_wait_mean_seconds")
        .help("Mean wait of acknowledged records before their batch's append, since ready")
        .callback(cb -> cb.call(journal.queueWait().meanMicros() / 1e6))
        .register(registry);
    GaugeWithCallback.builder()
        .name("rendezvous_journal_pending_records")
        .help("Records offered to the journal and not yet appended")
        .callback(cb -> cb.call(journal.pending()))
        .register(registry);
    CounterWithCallback.builder()
        .name("rendezvous_journal_refused_records")
        .help("Records the journal refused (queue full or unwritable)")
        .callback(cb -> cb.call(journal.refused()))
        .register(registry);
    CounterWithCallback.builder()
        .name("rendezvous_journal_append_failures")
        .help("Appends that failed")
        .callback(cb -> cb.call(journal.failures()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("rendezvous_journal_free_bytes")
        .help("Free bytes on the journal's disk at the last housekeeping check")
        .callback(
            cb -> {
              long free = journal.freeBytes();
              if (free >= 0) {
                cb.call(free);
              }
            })
        .register(registry);
    CounterWithCallback.builder()
        .name("rendezvous_journal_retention_removed_files")
        .help("Journal cycle files removed by retention")
        .callback(cb -> cb.call(journal.retentionRemovedFiles()))
        .register(registry);
    CounterWithCallback.builder()
        .name("rendezvous_journal_retention_removed_bytes")
        .help("Bytes of the journal cycle files removed by retention")
        .callback(cb -> cb.call(journal.retentionRemovedBytes()))
        .register(registry);
  }

  /** The HTTP edge: its adaptive limit, what waits, and what it refused by reason. */
  void edge(HttpEdge edge) {
    GaugeWithCallback.builder()
        .name("rendezvous_edge_limit")
        .help("The edge's adaptive limit of requests in flight")
        .callback(cb -> cb.call(edge.limit()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("rendezvous_edge_queued")
        .help("Requests waiting at the edge for a slot")
        .callback(cb -> cb.call(edge.queued()))
        .register(registry);
    CounterWithCallback.builder()
        .name("rendezvous_edge_refusals")
        .help("Requests the edge refused with 503 and Retry-After, by reason")
        .labelNames("reason")
        .callback(cb -> edge.refusals().forEach((reason, n) -> cb.call(n, reason)))
        .register(registry);
  }

  /** Each model version's pool: workers serving and hung, queue depth, batches. */
  void pools(PoolHealth health) {
    poolGauge(
        "rendezvous_model_workers_serving",
        "Workers of the version's pool that take work",
        () -> health.statuses(),
        PoolHealth.Status::serving);
    poolGauge(
        "rendezvous_model_workers_hung",
        "Workers of the version's pool held by calls past the watchdog's hang-after",
        () -> health.statuses(),
        PoolHealth.Status::hung);
    poolCounter(
        "rendezvous_model_hung_calls",
        "Calls the watchdog found hung since the pool started",
        () -> health.statuses(),
        PoolHealth.Status::hungTotal);
    poolGauge(
        "rendezvous_model_queue_depth",
        "Requests waiting for a worker of the version's pool",
        () -> health.loads(),
        PoolHealth.Load::waiting);
    poolGauge(
        "rendezvous_model_in_service",
        "Requests being scored by the version's workers",
        () -> health.loads(),
        PoolHealth.Load::inService);
    poolCounter(
        "rendezvous_model_batches",
        "Batches handed to the version's workers",
        () -> health.loads(),
        PoolHealth.Load::batches);
    poolCounter(
        "rendezvous_model_batched_requests",
        "Requests in those batches; over rendezvous_model_batches_total, the mean batch size",
        () -> health.loads(),
        PoolHealth.Load::batchedRequests);
  }

  /** A gauge with a series per pool (model and version), read from {@code pools} at each scrape. */
  private <T> void poolGauge(
      String name,
      String help,
      java.util.function.Supplier<Map<String, T>> pools,
      java.util.function.ToDoubleFunction<T> value) {
    GaugeWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames("model", "version")
        .callback(
            cb ->
                pools
                    .get()
                    .forEach(
                        (key, p) -> cb.call(value.applyAsDouble(p), modelOf(key), versionOf(key))))
        .register(registry);
  }

  /** As {@link #poolGauge}, for a figure that only grows. */
  private <T> void poolCounter(
      String name,
      String help,
      java.util.function.Supplier<Map<String, T>> pools,
      java.util.function.ToDoubleFunction<T> value) {
    CounterWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames("model", "version")
        .callback(
            cb ->
                pools
                    .get()
                    .forEach(
                        (key, p) -> cb.call(value.applyAsDouble(p), modelOf(key), versionOf(key))))
        .register(registry);
  }

  private static String modelOf(String key) {
    int at = key.indexOf('@');
    return at < 0 ? key : key.substring(0, at);
  }

  private static String versionOf(String key) {
    int at = key.indexOf('@');
    return at < 0 ? "" : key.substring(at + 1);
  }

  /** Late deliveries per endpoint, and how each canary compares with its live answers. */
  void requests(LateDeliveries late, CanaryComparison canaries) {
    CounterWithCallback.builder()
        .name("rendezvous_late_deliveries")
        .help("Answers decided in time and delivered after the SLA (the journal confirmed late)")
        .labelNames("endpoint")
        .callback(cb -> late.endpoints().forEach(e -> cb.call(late.count(e), e)))
        .register(registry);
    GaugeWithCallback.builder()
        .name("rendezvous_canary_agreement_ratio")
        .help("Share of recent requests where the canary gave the label the answer gave")
        .labelNames("endpoint", "canary", "live")
        .callback(
            cb ->
                canaries
                    .figures()
                    .forEach(
                        f ->
                            cb.call(
                                f.agreement(),
                                f.endpoint(),
                                f.canary(),
                                f.live() == null ? "" : f.live())))
        .register(registry);
    GaugeWithCallback.builder()
        .name("rendezvous_canary_divergence_psi")
        .help(
            "Population stability index of the canary's recent labels against the answers' (canary"
                + " divergence)")
        .labelNames("endpoint", "canary", "live")
        .callback(
            cb ->
                canaries
                    .figures()
                    .forEach(
                        f -> {
                          if (f.compared() > 0 && Double.isFinite(f.psi())) {
                            cb.call(
                                f.psi(),
                                f.endpoint(),
                                f.canary(),
                                f.live() == null ? "" : f.live());
                          }
                        }))
        .register(registry);
  }

  /** The Kafka outbox: how far it is behind the journal, what it published, skipped, failed. */
  void outbox(JournalPublisher outbox) {
    GaugeWithCallback.builder()
        .name("rendezvous_kafka_outbox_lag_records")
        .help("Journal records not yet acknowledged by Kafka")
        .callback(cb -> cb.call(outbox.lag()))
        .register(registry);
    CounterWithCallback.builder()
        .name("rendezvous_kafka_published_records")
        .help("Journal records published to Kafka (acknowledged)")
        .callback(cb -> cb.call(outbox.published()))
        .register(registry);
    CounterWithCallback.builder()
        .name("rendezvous_kafka_skipped_records")
        .help("Journal records the outbox could not decode and skipped")
        .callback(cb -> cb.call(outbox.unreadable()))
        .register(registry);
    CounterWithCallback.builder()
        .name("rendezvous_kafka_publish_errors")
        .help("Times publishing failed and started again from the last acknowledged record")
        .callback(cb -> cb.call(outbox.failures()))
        .register(registry);
  }

  /** Stream mode's consumer: records on the requests topic not yet consumed. */
  void streamLag(java.util.function.LongSupplier lag) {
    GaugeWithCallback.builder()
        .name("rendezvous_kafka_stream_consumer_lag_records")
        .help(
            "Stream mode: records on the requests topic's partitions this node's consumer has not yet"
                + " consumed (as of the previous scrape)")
        .callback(
            cb -> {
              long n = lag.getAsLong();
              if (n >= 0) {
                cb.call(n);
              }
            })
        .register(registry);
  }

  /** Cluster members by status, as this node sees them, and the shards it hosts. */
  void cluster(ActorSystem<?> system, LocalShards shards) {
    GaugeWithCallback.builder()
        .name("rendezvous_cluster_members")
        .help("Cluster members by status, as this node sees them")
        .labelNames("status")
        .callback(
            cb -> {
              Map<String, Integer> byStatus = new java.util.TreeMap<>();
              for (Member m : Cluster.get(system).state().getMembers()) {
                byStatus.merge(
                    m.status().toString().toLowerCase(java.util.Locale.ROOT), 1, Integer::sum);
              }
              int unreachable = Cluster.get(system).state().getUnreachable().size();
              byStatus.put("unreachable", unreachable);
              byStatus.forEach((status, n) -> cb.call(n, status));
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("rendezvous_shards")
        .help("Request shards hosted on this node")
        .callback(cb -> cb.call(shards.size()))
        .register(registry);
  }

  /**
   * {@code GET /metrics}: the Prometheus text format, or OpenMetrics when the Accept header asks.
   */
  Route route() {
    return path(
        "metrics",
        () ->
            get(
                () ->
                    optionalHeaderValueByName(
                        "Accept", accept -> complete(scrape(accept.orElse(null))))));
  }

  HttpResponse scrape(String accept) {
    ExpositionFormatWriter writer = formats.findWriter(accept);
    if (writer instanceof io.prometheus.metrics.expositionformats.PrometheusProtobufWriter) {
      // the protobuf format needs a module this build does not ship: text it is
      writer = formats.getPrometheusTextFormatWriter();
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(64 * 1024);
    try {
      writer.write(out, registry.scrape());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    ContentType type = ContentTypes.parse(writer.getContentType());
    return HttpResponse.create().withEntity(HttpEntities.create(type, out.toByteArray()));
  }

  /** A route and the endpoint or model it names ("" when none). */
  record RouteKey(String route, String endpoint) {}

  private record CodeKey(RouteKey route, int code) {}

  /** A step of the freshness trainer (it runs on one node at a time). */
  public void freshnessEvent(String endpoint, String model, String event) {
    freshnessEvents.labelValues(endpoint, model, event).inc();
  }
}
