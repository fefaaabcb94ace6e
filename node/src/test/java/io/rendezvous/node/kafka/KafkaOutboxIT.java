package io.rendezvous.node.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rendezvous.actors.edge.Json;
import io.rendezvous.kafka.JournalPublisher;
import io.rendezvous.node.TestNode;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal as the outbox, against the project's real broker: every input, score and answer of
 * every HTTP request reaches its topic keyed by request id; with the broker stopped requests are
 * still answered, and after it returns every record arrives, none twice.
 */
@Tag("integration")
class KafkaOutboxIT {
  @TempDir Path dir;
  static final List<FashionMnist.Sample> holdout = FashionMnist.load().holdout();

  @Test
  void everyRecordReachesItsTopicOnceEvenAcrossABrokerOutage() throws Exception {
    try (TestKafka kafka = new TestKafka(dir.resolve("kafka")).start();
        TestNode node =
            TestNode.start(
                dir.resolve("node"),
                String.join(
                    "\n",
                    "rendezvous.kafka.enabled = on",
                    "rendezvous.kafka.bootstrap-servers = \"" + kafka.bootstrapServers() + "\"",
                    "rendezvous.endpoints.rendezvous.sla = 2s",
                    // mirrored to the warm-up topic alone: the topics below hold the test's
                    // requests only
                    "rendezvous.warm-up.requests = 40"))) {
      Set<String> ids = new HashSet<>(send(node, 0, 20));
      Map<String, Map<String, Integer>> seen = new HashMap<>();
      Set<String> nodeIndexPairs = new HashSet<>();
      int[] duplicates = {0};
      try (KafkaConsumer<String, String> consumer = consumer(kafka)) {
        consume(consumer, seen, nodeIndexPairs, duplicates, 100);
        assertCounts(seen, ids, 20);

        kafka.stop();
        ids.addAll(send(node, 20, 20)); // answered while the broker is down
        // corrections of five of the first requests, joined while the broker is down (twice
        // each: the second is the same correction, not a second record)
        List<String> corrected = new java.util.ArrayList<>(ids).subList(0, 5);
        for (String id : corrected) {
          for (int twice = 0; twice < 2; twice++) {
            HttpResponse<String> f =
                node.post(
                    "/feedback",
                    "application/json",
                    ("{\"request_id\":\"" + id + "\",\"label\":\"Bag\"}")
                        .getBytes(StandardCharsets.UTF_8));
            assertEquals(200, f.statusCode(), f.body());
          }
        }
        long lag =
            Json.MAPPER
                .readTree(node.get("/v2/health/ready").body())
                .get("figures")
                .get("kafka_outbox_lag")
                .asLong();
        assertTrue(lag > 0, "the outbox lag shows the records not yet in Kafka: " + lag);
        kafka.start();
        consume(consumer, seen, nodeIndexPairs, duplicates, 205);
        assertEquals(
            new HashSet<>(corrected),
            seen.get("rendezvous-feedback").keySet(),
            "every correction on the feedback topic");
        assertTrue(
            seen.get("rendezvous-feedback").values().stream().allMatch(c -> c == 1),
            "each once: " + seen.get("rendezvous-feedback"));
      }
      assertCounts(seen, ids, 40);
      assertEquals(0, duplicates[0], "no (node, journal index) pair published twice");
      // the node's warm-up ran through the mirror, onto its own topic: every request of it, no
      // other
      Set<String> warmUpInputs = new HashSet<>();
      Set<String> warmUpKeys = new HashSet<>();
      try (KafkaConsumer<String, String> c = consumer(kafka, List.of("rendezvous-warm-up"))) {
        for (long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            warmUpInputs.size() < 40 && System.nanoTime() < deadline; ) {
          for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
            warmUpKeys.add(r.key());
            if (r.value().contains("\"type\":\"input\"")) {
              warmUpInputs.add(r.key());
            }
          }
        }
      }
      assertEquals(40, warmUpInputs.size(), warmUpInputs.toString());
      assertTrue(
          warmUpKeys.stream().allMatch(io.rendezvous.actors.edge.RequestIds::isWarmUp),
          warmUpKeys.toString());
      // every record of a request (input, scores, answer) went out in the trace its client got back
      for (String id : ids) {
        assertEquals(Set.of(traces.get(id)), tracesSeen.get(id), id);
      }
      // the consumer may see the last batch a moment before the publisher counts its
      // acknowledgement
      long lagAfter = -1;
      for (long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
          System.nanoTime() < deadline; ) {
        lagAfter =
            Json.MAPPER
                .readTree(node.get("/v2/health/ready").body())
                .get("figures")
                .get("kafka_outbox_lag")
                .asLong();
        if (lagAfter == 0) {
          break;
        }
        Thread.sleep(100);
      }
      assertEquals(0, lagAfter);
    }
  }

  /** The traceparent each request's reply carried, by request id. */
  static final Map<String, String> traces = new java.util.concurrent.ConcurrentHashMap<>();

  /** The traceparent headers the topics' records carried, by request id. */
  static final Map<String, Set<String>> tracesSeen = new java.util.concurrent.ConcurrentHashMap<>();

  /** Sends requests {@code from} to {@code from + n}, every other one in a caller's trace. */
  static List<String> send(TestNode node, int from, int n) throws Exception {
    List<String> ids = new java.util.ArrayList<>();
    for (int i = from; i < from + n; i++) {
      java.net.http.HttpRequest.Builder request =
          java.net.http.HttpRequest.newBuilder(node.uri("/predict"))
              .header("Content-Type", "application/json")
              .POST(
                  java.net.http.HttpRequest.BodyPublishers.ofString(
                      HoldoutBodies.json(holdout.get(i))));
      String callerTrace = String.format("%032x", 0xabc000L + i);
      if (i % 2 == 0) {
        request.header("traceparent", "00-" + callerTrace + "-00f067aa0ba902b7-01");
      }
      HttpResponse<String> r =
          node.http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode(), r.body());
      String id =
          Json.MAPPER.readTree(r.body()).get("predictions").get(0).get("request_id").asText();
      String traceparent = r.headers().firstValue("traceparent").orElseThrow();
      if (i % 2 == 0) {
        // the caller's trace, continued in a span of the node's
        assertTrue(traceparent.startsWith("00-" + callerTrace + "-"), traceparent);
        assertTrue(traceparent.endsWith("-01"), traceparent);
      }
      traces.put(id, traceparent);
      ids.add(id);
    }
    return ids;
  }

  static void assertCounts(Map<String, Map<String, Integer>> seen, Set<String> ids, int n) {
    assertEquals(ids, seen.get("rendezvous-inputs").keySet());
    assertEquals(ids, seen.get("rendezvous-answers").keySet());
    assertEquals(ids, seen.get("rendezvous-scores").keySet());
    assertEquals(
        n, seen.get("rendezvous-inputs").values().stream().mapToInt(Integer::intValue).sum());
    assertEquals(
        3 * n, seen.get("rendezvous-scores").values().stream().mapToInt(Integer::intValue).sum());
    assertEquals(
        n, seen.get("rendezvous-answers").values().stream().mapToInt(Integer::intValue).sum());
  }

  static KafkaConsumer<String, String> consumer(TestKafka kafka) {
    return consumer(
        kafka,
        List.of(
            "rendezvous-inputs", "rendezvous-scores", "rendezvous-answers", "rendezvous-feedback"));
  }

  static KafkaConsumer<String, String> consumer(TestKafka kafka, List<String> topics) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "outbox-check-" + System.nanoTime());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    KafkaConsumer<String, String> c =
        new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    c.subscribe(topics);
    return c;
  }

  /** Polls until {@code total} records were seen (or 60 s passed). */
  static void consume(
      KafkaConsumer<String, String> consumer,
      Map<String, Map<String, Integer>> seen,
      Set<String> nodeIndexPairs,
      int[] duplicates,
      int total) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (count(seen) < total && System.nanoTime() < deadline) {
      for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
        seen.computeIfAbsent(r.topic(), t -> new HashMap<>()).merge(r.key(), 1, Integer::sum);
        String pair =
            new String(
                    r.headers().lastHeader(JournalPublisher.NODE_HEADER).value(),
                    StandardCharsets.UTF_8)
                + "/"
                + new String(
                    r.headers().lastHeader(JournalPublisher.INDEX_HEADER).value(),
                    StandardCharsets.UTF_8);
        if (!nodeIndexPairs.add(pair)) {
          duplicates[0]++;
        }
        var trace = r.headers().lastHeader("traceparent");
        tracesSeen
            .computeIfAbsent(r.key(), k -> java.util.concurrent.ConcurrentHashMap.newKeySet())
            .add(trace == null ? "none" : new String(trace.value(), StandardCharsets.UTF_8));
        assertTrue(r.value().contains("\"id\":\"" + r.key() + "\""));
      }
    }
  }

  static int count(Map<String, Map<String, Integer>> seen) {
    return seen.values().stream()
        .flatMap(m -> m.values().stream())
        .mapToInt(Integer::intValue)
        .sum();
  }
}
