package io.rendezvous.kafka;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * {@code rendezvous.kafka-requests}, read once: stream mode, where prediction requests come from a
 * topic and their answers go to another.
 */
public record KafkaRequestsSettings(
    boolean enabled,
    String topic,
    String outputTopic,
    String deadLetterTopic,
    String groupId,
    String endpoint,
    int parallelism,
    Duration retryMinBackoff,
    Duration retryMaxBackoff,
    int retryLogEvery,
    Duration restartMinBackoff,
    Duration restartMaxBackoff,
    double restartRandomFactor) {

  public static KafkaRequestsSettings fromConfig(Config root) {
    Config c = root.getConfig("rendezvous.kafka-requests");
    return new KafkaRequestsSettings(
        c.getBoolean("enabled"),
        c.getString("topic"),
        c.getString("output-topic"),
        c.getString("dead-letter-topic"),
        c.getString("group-id"),
        c.getString("endpoint"),
        c.getInt("parallelism"),
        c.getDuration("retry.min-backoff"),
        c.getDuration("retry.max-backoff"),
        c.getInt("retry.log-every"),
        c.getDuration("restart-backoff.min"),
        c.getDuration("restart-backoff.max"),
        c.getDouble("restart-backoff.random-factor"));
  }
}
