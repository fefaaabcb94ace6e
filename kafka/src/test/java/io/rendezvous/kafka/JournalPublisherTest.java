package io.rendezvous.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.journal.JournalSettings;
import io.rendezvous.journal.JournalWriter;
import io.rendezvous.model.TensorData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The outbox over a real journal, with Kafka's MockProducer in place of a broker. */
class JournalPublisherTest {
  @TempDir Path dir;

  static JournalRecord.Input input(String id) {
    return new JournalRecord.Input(
        id,
        null,
        "n1",
        "rendezvous",
        1L,
        "json",
        null,
        TensorData.float32(new long[] {1, 2}, new float[] {0.5f, 1f}));
  }

  void write(JournalSettings s, String... ids) {
    try (JournalWriter w = JournalWriter.start(s)) {
      for (String id : ids) {
        w.offer(input(id), null);
      }
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aRecordThatCannotBeDecodedIsSkippedCountedAndPublishingGoesOn() throws Exception {
    var config =
        ConfigFactory.parseString(
                "rendezvous.journal.dir = \""
                    + dir.resolve("journal")
                    + "\"\nrendezvous.kafka.outbox.position-file = \""
                    + dir.resolve("outbox/position")
                    + "\"")
            .withFallback(ConfigFactory.load())
            .resolve();
    JournalSettings journal = JournalSettings.fromConfig(config);
    KafkaSettings kafka = KafkaSettings.fromConfig(config);
    write(journal, "a", "b");
    // a poison record between the good ones, as a newer build or damage would leave
    try (SingleChronicleQueue q =
            SingleChronicleQueueBuilder.binary(journal.dir())
                .rollCycle(journal.rollCycle())
                .build();
        ExcerptAppender a = q.createAppender()) {
      a.writeDocument(w -> w.write("schema").int32(99));
    }
    write(journal, "c");
    MockProducer<String, byte[]> producer =
        new MockProducer<>(true, new StringSerializer(), new ByteArraySerializer());
    try (JournalPublisher p =
        JournalPublisher.start(kafka, journal.dir(), "n1", () -> 0, props -> producer)) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (p.lag() > 0 || producer.history().size() < 3) {
        assertTrue(System.nanoTime() < deadline, "published " + producer.history().size());
        Thread.sleep(20);
      }
      assertEquals(1, p.unreadable());
      assertEquals(0, p.lag());
      // appended later: the publisher is still running
      write(journal, "d");
      while (producer.history().size() < 4) {
        assertTrue(System.nanoTime() < deadline, "published " + producer.history().size());
        Thread.sleep(20);
      }
    }
    List<String> ids = producer.history().stream().map(ProducerRecord::key).toList();
    assertEquals(List.of("a", "b", "c", "d"), ids);
    ProducerRecord<String, byte[]> c = producer.history().get(2);
    assertEquals(kafka.inputsTopic(), c.topic());
    assertTrue(new String(c.value(), StandardCharsets.UTF_8).contains("\"id\":\"c\""));
  }
}
