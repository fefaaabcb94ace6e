package io.rendezvous.node.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.node.TestNode;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
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
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stream mode against the real broker: N requests on the input topic give answers for N distinct
 * keys on the output topic, a malformed record lands in the dead-letter topic with its reason, and
 * stopping the consumer (its node) mid-way and starting it again loses no request.
 */
@Tag("integration")
class KafkaRequestsIT {
  @TempDir Path dir;

  @Test
  void requestsFromATopicAreAnsweredOnAnotherAndMalformedOnesGoToTheDeadLetters() throws Exception {
    List<FashionMnist.Sample> holdout = FashionMnist.load().holdout();
    try (TestKafka kafka = new TestKafka(dir.resolve("kafka")).start()) {
      String overrides =
          String.join(
              "\n",
              "rendezvous.kafka.bootstrap-servers = \"" + kafka.bootstrapServers() + "\"",
              "rendezvous.kafka-requests.enabled = on");
      Map<String, JsonNode> answers = new HashMap<>();
      List<ConsumerRecord<String, String>> dead = new java.util.ArrayList<>();
      try (KafkaProducer<String, String> producer = producer(kafka);
          KafkaConsumer<String, String> out = consumer(kafka)) {
        TestNode first = TestNode.start(dir.resolve("node-a"), overrides);
        for (int i = 0; i < 30; i++) {
          ProducerRecord<String, String> request =
              new ProducerRecord<>(
                  "rendezvous-requests", "req-" + i, HoldoutBodies.json(holdout.get(i)));
          // the producer's trace, continued by the node and sent on with the answer
          request
              .headers()
              .add("traceparent", (TRACE_PREFIX + "-00f067aa0ba902b7-01").getBytes(UTF_8));
          producer.send(request).get();
        }
        producer
            .send(new ProducerRecord<>("rendezvous-requests", "bad-1", "{\"instances\": [[1, 2]]}"))
            .get();
        poll(out, answers, dead, 20);
        first.close(); // the consumer stops mid-way; offsets of answered requests are committed

        for (int i = 30; i < 60; i++) {
          producer
              .send(
                  new ProducerRecord<>(
                      "rendezvous-requests", "req-" + i, HoldoutBodies.json(holdout.get(i))))
              .get();
        }
        try (TestNode second = TestNode.start(dir.resolve("node-b"), overrides)) {
          poll(out, answers, dead, 60);
        }
      }
      Set<String> expected = new HashSet<>();
      for (int i = 0; i < 60; i++) {
        expected.add("req-" + i);
      }
      assertEquals(
          expected, answers.keySet(), "an answer for every request, none lost across the restart");
      answers
          .values()
          .forEach(
              a -> {
                assertEquals(200, a.get("status").asInt(), a.toString());
                // answered on the stream's endpoint, whose deadline suits a record nobody waits on
                assertEquals(
                    "rendezvous-stream", a.get("predictions").get(0).get("endpoint").asText());
              });
      for (int i = 0; i < 60; i++) {
        String trace = traces.get("req-" + i);
        assertTrue(
            trace != null && trace.matches("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}"), trace);
        if (i < 30) {
          assertTrue(trace.startsWith(TRACE_PREFIX + "-") && trace.endsWith("-01"), trace);
        } else {
          assertTrue(!trace.startsWith(TRACE_PREFIX), "a new trace for a record without one");
        }
      }
      assertEquals(1, dead.stream().map(ConsumerRecord::key).distinct().count());
      assertEquals("bad-1", dead.get(0).key());
      assertTrue(dead.get(0).value().contains("has 2 values"), dead.get(0).value());
    }
  }

  static final String TRACE_PREFIX = "00-5a7e0000c0ffee0000000000000000aa";
  static final Map<String, String> traces = new java.util.concurrent.ConcurrentHashMap<>();

  static void poll(
      KafkaConsumer<String, String> out,
      Map<String, JsonNode> answers,
      List<ConsumerRecord<String, String>> dead,
      int wanted)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while ((answers.size() < wanted || dead.isEmpty()) && System.nanoTime() < deadline) {
      for (ConsumerRecord<String, String> r : out.poll(Duration.ofMillis(500))) {
        if (r.topic().equals("rendezvous-dead-letters")) {
          dead.add(r);
        } else {
          answers.put(r.key(), Json.MAPPER.readTree(r.value()));
          var trace = r.headers().lastHeader("traceparent");
          if (trace != null) {
            traces.put(r.key(), new String(trace.value(), UTF_8));
          }
        }
      }
    }
  }

  static KafkaProducer<String, String> producer(TestKafka kafka) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    // a fresh topic and several requests in flight can meet KAFKA-15591, as the node's own
    // producers could
    p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
    return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
  }

  static KafkaConsumer<String, String> consumer(TestKafka kafka) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "answers-check-" + System.nanoTime());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    KafkaConsumer<String, String> c =
        new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    c.subscribe(List.of("rendezvous-predictions", "rendezvous-dead-letters"));
    return c;
  }
}
