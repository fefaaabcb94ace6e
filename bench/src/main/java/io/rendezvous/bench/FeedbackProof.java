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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Corrections on a running cluster, measured as a client sees them: predictions go to the nodes in
 * turn at a steady rate, and each answered prediction is corrected (its true label, from images
 * neither the models' training nor their hold-out saw) on the next node, not the one that served
 * it, so every join crosses nodes whenever the node that took the request holds it. Prints the
 * corrections' rate and latency (the client's: the join and the journal write included), whether
 * every correction's joined record reached the feedback topic exactly once, and the predictions'
 * statuses meanwhile. Bounded: {@code --corrections} at {@code --rate}.
 */
@Command(
    name = "feedback-proof",
    mixinStandardHelpOptions = true,
    description = "Corrections on a running cluster: rate, join latency, none lost on the topic.")
final class FeedbackProof implements Callable<Integer> {
  @Option(names = "--nodes", required = true, split = ",", description = "HTTP base URLs")
  List<String> nodes;

  @Option(names = "--bootstrap", required = true, description = "Kafka bootstrap servers")
  String bootstrap;

  @Option(names = "--corrections", defaultValue = "1000")
  int corrections;

  @Option(
      names = "--rate",
      defaultValue = "100",
      description = "requests per second in all: half predictions, half corrections of them")
  int totalRate;

  private int rate;

  @Option(
      names = "--warm-seconds",
      defaultValue = "20",
      description = "predictions only, at the rate, before the counted run (their statuses apart)")
  int warmSeconds;

  @Option(names = "--token", defaultValue = "", description = "a feedback bearer token")
  String token;

  @Option(names = "--topic", defaultValue = "rendezvous-feedback")
  String topic;

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Override
  public Integer call() throws Exception {
    rate = Math.max(1, totalRate / 2);
    List<FashionMnist.Sample> samples = FashionMnist.corrections();
    String source = "proof-" + Long.toHexString(System.nanoTime());
    int warmTicks = warmSeconds * rate;
    List<CompletableFuture<?>> inFlight = new ArrayList<>();
    long periodNanos = 1_000_000_000L / rate;
    long start = System.nanoTime();
    long correctionsStart = 0;
    long correctionsEnd = 0;
    // the warm-up is the same traffic (predictions and their corrections, the latter under a source
    // of their own): the nodes compile the feedback path before anything is counted
    Phase warm = new Phase(source + "-warm", Integer.MAX_VALUE);
    Phase counted = new Phase(source, corrections);
    for (int i = 0; counted.sent.get() < corrections; i++) {
      long due = start + i * periodNanos;
      long wait = due - System.nanoTime();
      if (wait > 0) {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      }
      if (i > warmTicks + corrections * 3) {
        break; // predictions are failing: stop, the figures say why
      }
      boolean warming = i < warmTicks;
      if (!warming && correctionsStart == 0) {
        correctionsStart = System.nanoTime();
      }
      inFlight.add(
          round(
              samples.get(i % samples.size()),
              nodes.get(i % nodes.size()),
              nodes.get((i + 1) % nodes.size()),
              warming ? warm : counted));
    }
    CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).join();
    correctionsEnd = System.nanoTime();
    double seconds = (correctionsEnd - correctionsStart) / 1e9;

    Map<Integer, Integer> predictStatuses = counted.predictions;
    Map<Integer, Integer> feedbackStatuses = counted.feedback;
    ConcurrentLinkedQueue<Long> latencies = counted.latencies;
    Map<String, Boolean> corrected = counted.corrected;
    Map<String, Integer> onTopic = consume(source, corrected.size());
    int once = 0;
    int twice = 0;
    int missing = 0;
    for (String id : corrected.keySet()) {
      int n = onTopic.getOrDefault(id, 0);
      if (n == 1) {
        once++;
      } else if (n == 0) {
        missing++;
      } else {
        twice++;
      }
    }
    List<Long> sorted = new ArrayList<>(latencies);
    sorted.sort(null);
    System.out.printf(
        "%d nodes, %d requests/s: predictions at %d/s, each answered one corrected on the next"
            + " node:%n",
        nodes.size(), 2 * rate, rate);
    System.out.printf(
        "  corrections: %d sent in %.1f s (%.0f/s), statuses %s%n",
        latencies.size(), seconds, latencies.size() / seconds, feedbackStatuses);
    System.out.printf(
        "  join latency (the client's, HTTP to the holder's journal and back): p50 %.1f ms, p99 %.1f"
            + " ms, max %.1f ms%n",
        pct(sorted, 0.50), pct(sorted, 0.99), pct(sorted, 1.0));
    System.out.printf(
        "  on topic %s: %d of %d corrections once, %d more than once, %d missing (lost)%n",
        topic, once, corrected.size(), twice, missing);
    System.out.printf(
        "  predictions meanwhile: statuses %s%n"
            + "  the %d s of warm-up before (the same traffic, not counted): predictions %s,"
            + " corrections %s%n",
        predictStatuses, warmSeconds, warm.predictions, warm.feedback);
    boolean ok =
        missing == 0
            && twice == 0
            && corrected.size() == corrections
            && predictStatuses.keySet().stream().allMatch(c -> c == 200);
    System.out.println(ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
  }

  /** The figures of one phase of the run; {@code limit}: corrections it sends at most. */
  private static final class Phase {
    final String source;
    final int limit;
    final Map<Integer, Integer> predictions = new ConcurrentHashMap<>();
    final Map<Integer, Integer> feedback = new ConcurrentHashMap<>();
    final ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
    final Map<String, Boolean> corrected = new ConcurrentHashMap<>();
    final AtomicInteger sent = new AtomicInteger();

    Phase(String source, int limit) {
      this.source = source;
      this.limit = limit;
    }
  }

  /** A prediction on {@code served} and, once answered, its correction on {@code correctOn}. */
  private CompletableFuture<?> round(
      FashionMnist.Sample s, String served, String correctOn, Phase phase) {
    return post(served + "/predict", body(s), null)
        .thenCompose(
            r -> {
              phase.predictions.merge(r.statusCode(), 1, Integer::sum);
              if (r.statusCode() != 200 || phase.sent.incrementAndGet() > phase.limit) {
                return CompletableFuture.completedFuture(null);
              }
              String id = requestId(r.body());
              long t0 = System.nanoTime();
              return post(
                      correctOn + "/feedback",
                      "{\"request_id\":\""
                          + id
                          + "\",\"label\":"
                          + s.label()
                          + ",\"source\":\""
                          + phase.source
                          + "\"}",
                      token)
                  .thenAccept(
                      fr -> {
                        phase.latencies.add(System.nanoTime() - t0);
                        int n = phase.feedback.merge(fr.statusCode(), 1, Integer::sum);
                        if (fr.statusCode() == 200) {
                          phase.corrected.put(id, true);
                        } else if (n <= 5) {
                          System.out.println("correction " + fr.statusCode() + ": " + fr.body());
                        }
                      });
            });
  }

  private static double pct(List<Long> sorted, double p) {
    if (sorted.isEmpty()) {
      return Double.NaN;
    }
    int i = (int) Math.min(sorted.size() - 1, Math.ceil(p * sorted.size()) - 1);
    return sorted.get(Math.max(0, i)) / 1e6;
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

  private CompletableFuture<HttpResponse<String>> post(String url, String json, String bearer) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json));
    if (bearer != null && !bearer.isEmpty()) {
      b.header("Authorization", "Bearer " + bearer);
    }
    return http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Request id -> records of this run's source on the feedback topic, read until all came. */
  private Map<String, Integer> consume(String source, int expected) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "feedback-proof-" + System.nanoTime());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    Map<String, Integer> seen = new HashMap<>();
    int mine = 0;
    try (KafkaConsumer<String, String> c =
        new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
      c.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      long quietUntil = 0;
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
          try {
            JsonNode v = Json.MAPPER.readTree(r.value());
            if (source.equals(v.path("source").asText())) {
              seen.merge(r.key(), 1, Integer::sum);
              mine++;
            }
          } catch (java.io.IOException e) {
            System.out.println("not JSON on " + topic + ": " + r.value());
          }
        }
        // every correction arrived: read a little longer, so that a duplicate would show
        if (seen.size() >= expected && quietUntil == 0) {
          quietUntil = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        }
        if (quietUntil != 0 && System.nanoTime() > quietUntil) {
          break;
        }
      }
    }
    System.out.printf("  read %d records of this run from %s%n", mine, topic);
    return seen;
  }
}
