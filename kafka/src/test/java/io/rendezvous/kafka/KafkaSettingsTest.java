package io.rendezvous.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class KafkaSettingsTest {
  static KafkaSettings with(String overrides) {
    return KafkaSettings.fromConfig(
        ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()).resolve());
  }

  @Test
  void everyRecordTypeIsMirroredByDefault() {
    KafkaSettings s = with("");
    for (String type : new String[] {"input", "score", "answer"}) {
      assertTrue(s.publishes(type), type);
    }
    assertEquals(Duration.ofMillis(200), s.acknowledgeEvery());
  }

  @Test
  void recordTypesCanBeLeftInTheJournal() {
    KafkaSettings s = with("rendezvous.kafka.outbox.publish = [answer]");
    assertTrue(s.publishes("answer"));
    assertFalse(s.publishes("input"));
    assertFalse(s.publishes("score"));
  }

  @Test
  void anUnknownRecordTypeIsRefusedWithTheKnownOnes() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> with("rendezvous.kafka.outbox.publish = [answers]"));
    assertTrue(e.getMessage().contains("input, score, answer and feedback"), e.getMessage());
  }

  @Test
  void theWarmUpTopicIsItsOwnAndNeverAUsersTopic() {
    KafkaSettings s = with("");
    assertTrue(s.mirrorsWarmUp());
    assertEquals("rendezvous-warm-up", s.warmUpTopic());
    assertFalse(with("rendezvous.kafka.topics.warm-up = \"\"").mirrorsWarmUp());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> with("rendezvous.kafka.topics.warm-up = \"rendezvous-answers\""));
    assertTrue(e.getMessage().contains("topics.answers"), e.getMessage());
  }
}
