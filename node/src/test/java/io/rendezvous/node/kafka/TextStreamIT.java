package io.rendezvous.node.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.model.TensorData;
import io.rendezvous.node.TestNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stream mode on the text endpoint: records of texts on the requests topic are answered on the
 * predictions topic by the sections models, the journal keeps the texts as sent, and a record of
 * numbers goes to the dead letters saying the endpoint takes text.
 */
class TextStreamIT {
  @TempDir Path dir;

  @Test
  void textRecordsAreAnsweredAndNumbersAreDeadLetters() throws Exception {
    try (TestKafka kafka = new TestKafka(dir.resolve("kafka")).start();
        TestNode node =
            TestNode.start(
                dir.resolve("node"),
                String.join(
                    "\n",
                    "rendezvous.kafka.bootstrap-servers = \"" + kafka.bootstrapServers() + "\"",
                    "rendezvous.kafka-requests.enabled = on",
                    "rendezvous.endpoints.sections-stream = ${rendezvous.endpoints.sections}"
                        + " { sla = 10s }",
                    "rendezvous.kafka-requests.endpoint = sections-stream"));
        KafkaProducer<String, String> producer = KafkaRequestsIT.producer(kafka);
        KafkaConsumer<String, String> out = KafkaRequestsIT.consumer(kafka)) {
      List<String> texts =
          List.of("IMAP and POP3 mail server", "chess engine", "vector graphics editor");
      for (int i = 0; i < texts.size(); i++) {
        producer
            .send(
                new ProducerRecord<>(
                    "rendezvous-requests", "t-" + i, "{\"instances\": [\"" + texts.get(i) + "\"]}"))
            .get();
      }
      producer
          .send(new ProducerRecord<>("rendezvous-requests", "bad", "{\"instances\": [[1, 2]]}"))
          .get();
      Map<String, JsonNode> answers = new HashMap<>();
      List<ConsumerRecord<String, String>> dead = new ArrayList<>();
      KafkaRequestsIT.poll(out, answers, dead, texts.size());
      assertEquals(texts.size(), answers.size(), answers.toString());
      for (JsonNode a : answers.values()) {
        assertEquals(200, a.get("status").asInt(), a.toString());
        JsonNode p = a.get("predictions").get(0);
        assertEquals("sections-stream", p.get("endpoint").asText());
        assertTrue(p.get("model").asText().startsWith("sections-"), p.toString());
      }
      assertEquals("bad", dead.get(0).key());
      assertTrue(dead.get(0).value().contains("takes text"), dead.get(0).value());
      List<String> journaled =
          node.journal().stream()
              .filter(
                  r ->
                      r instanceof JournalRecord.Input in
                          && "sections-stream".equals(in.endpoint()))
              .map(r -> ((JournalRecord.Input) r).tensor())
              .filter(t -> TensorData.TEXT.equals(t.dtype()))
              .flatMap(t -> t.texts().stream())
              .sorted()
              .toList();
      assertEquals(texts.stream().sorted().toList(), journaled);
    }
  }
}
