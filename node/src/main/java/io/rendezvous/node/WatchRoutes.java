package io.rendezvous.node;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Label;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.rendezvous.actors.RendezvousRuntime;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.monitor.JournalWatch;
import io.rendezvous.monitor.PredictionWindows;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Set;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.CacheControl;
import org.apache.pekko.http.javadsl.model.headers.CacheDirectives;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The live dashboard: {@code GET /dashboard} (one page, no script from elsewhere) and what it
 * polls, {@code GET /watch/api/overview}: the prediction windows of the journal watch (label
 * frequency and confidence per model version, the answer mix and decision times per endpoint),
 * drift, canary divergence, and the node's metrics the page shows (requests, refusals, latency,
 * pools, cluster members), read from the same registry {@code /metrics} serves.
 */
final class WatchRoutes extends AllDirectives {
  /** The metric families the dashboard shows, as {@code /metrics} has them. */
  static final Set<String> DASHBOARD_METRICS =
      Set.of(
          "rendezvous_http_requests",
          "rendezvous_http_request_duration_seconds",
          "rendezvous_http_requests_in_flight",
          "rendezvous_edge_refusals",
          "rendezvous_answers",
          "rendezvous_scores",
          "rendezvous_predictions",
          "rendezvous_input_drift_psi",
          "rendezvous_prediction_drift_psi",
          "rendezvous_canary_agreement_ratio",
          "rendezvous_canary_divergence_psi",
          "rendezvous_cluster_members",
          "rendezvous_shards",
          "rendezvous_model_queue_depth",
          "rendezvous_model_workers_serving",
          "rendezvous_model_workers_hung",
          "rendezvous_late_deliveries",
          "rendezvous_watch_lag_seconds",
          "rendezvous_kafka_outbox_lag_records",
          "rendezvous_journal_free_bytes");

  private final JournalWatch watch;
  private final NodeMetrics metrics;
  private final RendezvousRuntime runtime;
  private final String node;
  private final byte[] page;

  /** {@code watch}: null when the models are not watched. */
  WatchRoutes(JournalWatch watch, NodeMetrics metrics, RendezvousRuntime runtime, String node) {
    this.watch = watch;
    this.metrics = metrics;
    this.runtime = runtime;
    this.node = node;
    this.page = resource("dashboard/index.html");
  }

  private static byte[] resource(String name) {
    try (InputStream in = WatchRoutes.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException(name + " is missing from the node's jar");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Route routes() {
    return concat(
        path(
            "dashboard",
            () ->
                get(
                    () ->
                        complete(
                            HttpResponse.create()
                                .withEntity(HttpEntities.create(ContentTypes.TEXT_HTML_UTF8, page))
                                .addHeader(CacheControl.create(CacheDirectives.NO_CACHE))))),
        path(
            segment("watch").slash("api").slash("overview"),
            () -> get(() -> complete(HttpJson.response(200, overview())))));
  }

  /**
   * {@code /admin/watch} below the admin API's prefix, which authenticates it ({@link
   * AdminRoutes}).
   */
  Route adminRoute() {
    return path(
        "watch",
        () ->
            concat(
                get(() -> complete(HttpJson.response(200, watching()))),
                put(
                    () ->
                        entity(
                            org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller
                                .entityToString(),
                            body -> complete(setWatching(body))))));
  }

  /** Whether HTTP requests are counted and the models watched now. */
  private ObjectNode watching() {
    return Json.object()
        .put("metrics", metrics.counting())
        .put("watch", watch != null && !watch.paused());
  }

  /**
   * {@code PUT /admin/watch {"enabled": false}}: stops counting HTTP requests and pauses the watch
   * (its figures miss what comes meanwhile); {@code true} resumes both. What was configured off
   * stays off.
   */
  private org.apache.pekko.http.javadsl.model.HttpResponse setWatching(String body) {
    com.fasterxml.jackson.databind.JsonNode enabled;
    try {
      enabled = Json.MAPPER.readTree(body).get("enabled");
    } catch (java.io.IOException e) {
      return HttpJson.error(400, "body is not JSON: " + e.getMessage());
    }
    if (enabled == null || !enabled.isBoolean()) {
      return HttpJson.error(400, "send {\"enabled\": true} or {\"enabled\": false}");
    }
    metrics.counting(enabled.asBoolean());
    if (watch != null) {
      watch.paused(!enabled.asBoolean());
    }
    return HttpJson.response(200, watching());
  }

  /** Everything the page shows, as of now. */
  ObjectNode overview() {
    ObjectNode body = Json.object();
    body.put("node", node);
    body.put("atMillis", System.currentTimeMillis());
    ObjectNode w = body.putObject("watch");
    w.put("enabled", watch != null);
    if (watch != null) {
      w.put("lagSeconds", watch.lagSeconds());
      w.put("recordsRead", watch.processed());
      w.put("caughtUp", watch.caughtUp());
      PredictionWindows.View view = watch.windows().view();
      body.put("windowMillis", view.windowMillis());
      body.put("horizonMillis", view.horizonMillis());
      ArrayNode windows = body.putArray("windows");
      for (PredictionWindows.WindowView v : view.windows()) {
        ObjectNode o = windows.addObject();
        o.put("startMillis", v.startMillis());
        o.put("endMillis", v.endMillis());
        ArrayNode predictions = o.putArray("predictions");
        for (PredictionWindows.SeriesCounts c : v.predictions()) {
          ObjectNode p = predictions.addObject();
          p.put("endpoint", c.series().endpoint());
          p.put("model", c.series().model());
          p.put("version", c.series().version());
          ArrayNode labels = p.putArray("labels");
          List<String> names = watch.labels(c.series().model(), c.series().version());
          for (int i = 0; i < c.counts().length; i++) {
            labels.add(i < names.size() ? names.get(i) : Integer.toString(i));
          }
          ArrayNode counts = p.putArray("counts");
          for (long n : c.counts()) {
            counts.add(n);
          }
          ArrayNode confidence = p.putArray("meanConfidence");
          for (double d : c.meanConfidence()) {
            confidence.add(d);
          }
        }
        ArrayNode answers = o.putArray("answers");
        for (PredictionWindows.AnswerCounts a : v.answers()) {
          ObjectNode n = answers.addObject();
          n.put("endpoint", a.endpoint());
          n.put("count", a.count());
          n.put("decidedMeanMs", a.decidedMeanMicros() / 1000.0);
          n.put("decidedP50Ms", a.decidedP50Micros() / 1000.0);
          n.put("decidedP99Ms", a.decidedP99Micros() / 1000.0);
          ObjectNode mix = n.putObject("mix");
          a.mix().forEach(mix::put);
        }
      }
    }
    ObjectNode endpoints = body.putObject("endpoints");
    runtime
        .endpoints()
        .all()
        .forEach(
            (name, e) -> {
              ObjectNode o = endpoints.putObject(name);
              o.put("policy", e.policy().name());
              ArrayNode members = o.putArray("members");
              for (int i = 0; i < e.models().size(); i++) {
                members
                    .addObject()
                    .put("model", e.models().get(i))
                    .put("role", e.role(i).name().toLowerCase(java.util.Locale.ROOT));
              }
            });
    body.set("metrics", metricsJson(metrics.registry().scrape(DASHBOARD_METRICS::contains)));
    return body;
  }

  /**
   * The samples of {@code snapshots}: per family, each sample's labels and value (or histogram).
   */
  static ObjectNode metricsJson(MetricSnapshots snapshots) {
    ObjectNode out = Json.object();
    for (MetricSnapshot s : snapshots) {
      ArrayNode samples = out.putArray(s.getMetadata().getPrometheusName());
      if (s instanceof CounterSnapshot c) {
        c.getDataPoints()
            .forEach(d -> labelled(samples.addObject(), d.getLabels()).put("value", d.getValue()));
      } else if (s instanceof GaugeSnapshot g) {
        g.getDataPoints()
            .forEach(
                d -> {
                  if (Double.isFinite(d.getValue())) {
                    labelled(samples.addObject(), d.getLabels()).put("value", d.getValue());
                  }
                });
      } else if (s instanceof HistogramSnapshot h) {
        h.getDataPoints()
            .forEach(
                d -> {
                  ObjectNode o = labelled(samples.addObject(), d.getLabels());
                  o.put("count", d.getCount());
                  o.put("sum", d.getSum());
                  ArrayNode buckets = o.putArray("buckets");
                  d.getClassicBuckets()
                      .forEach(
                          b ->
                              buckets
                                  .addObject()
                                  .put("le", b.getUpperBound())
                                  .put("count", b.getCount()));
                });
      }
    }
    return out;
  }

  private static ObjectNode labelled(ObjectNode sample, Labels labels) {
    ObjectNode l = sample.putObject("labels");
    for (Label label : labels) {
      l.put(label.getName(), label.getValue());
    }
    return sample;
  }
}
