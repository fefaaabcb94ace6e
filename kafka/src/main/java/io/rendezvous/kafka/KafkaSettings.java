package io.rendezvous.kafka;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code rendezvous.kafka}, read once. */
public record KafkaSettings(
    boolean enabled,
    String bootstrapServers,
    String inputsTopic,
    String scoresTopic,
    String answersTopic,
    String feedbackTopic,
    String warmUpTopic,
    Duration warmUpRetention,
    int partitions,
    short replicationFactor,
    Duration retention,
    Path positionFile,
    int batch,
    Duration idleWait,
    Duration acknowledgeEvery,
    int maxUnacknowledged,
    Set<String> published,
    Map<String, Object> producerOverrides) {

  private static final Set<String> RECORD_TYPES = Set.of("input", "score", "answer", "feedback");

  public static KafkaSettings fromConfig(Config root) {
    Config c = root.getConfig("rendezvous.kafka");
    Map<String, Object> producer = new HashMap<>();
    for (Map.Entry<String, ConfigValue> e : c.getConfig("producer").entrySet()) {
      producer.put(e.getKey(), e.getValue().unwrapped());
    }
    Set<String> published = Set.copyOf(c.getStringList("outbox.publish"));
    if (!RECORD_TYPES.containsAll(published)) {
      throw new IllegalArgumentException(
          "rendezvous.kafka.outbox.publish: record types are input, score, answer and feedback;"
              + " got "
              + published);
    }
    String warmUpTopic = c.getString("topics.warm-up");
    for (String users : List.of("inputs", "scores", "answers", "feedback")) {
      if (warmUpTopic.equals(c.getString("topics." + users))) {
        throw new IllegalArgumentException(
            "rendezvous.kafka.topics.warm-up must not be a topic users read; it is topics."
                + users
                + " ("
                + warmUpTopic
                + ")");
      }
    }
    Duration acknowledgeEvery = c.getDuration("outbox.acknowledge-every");
    int maxUnacknowledged = c.getInt("outbox.max-unacknowledged");
    if (acknowledgeEvery.isNegative() || maxUnacknowledged < 1) {
      throw new IllegalArgumentException(
          "rendezvous.kafka.outbox: acknowledge-every must not be negative and max-unacknowledged"
              + " must be at least 1");
    }
    return new KafkaSettings(
        c.getBoolean("enabled"),
        c.getString("bootstrap-servers"),
        c.getString("topics.inputs"),
        c.getString("topics.scores"),
        c.getString("topics.answers"),
        c.getString("topics.feedback"),
        warmUpTopic,
        c.getDuration("topics.warm-up-retention"),
        c.getInt("topics.partitions"),
        (short) c.getInt("topics.replication-factor"),
        c.getDuration("topics.retention"),
        Path.of(c.getString("outbox.position-file")),
        c.getInt("outbox.batch"),
        c.getDuration("outbox.idle-wait"),
        acknowledgeEvery,
        maxUnacknowledged,
        published,
        Map.copyOf(producer));
  }

  /** Whether records of this type are mirrored (rendezvous.kafka.outbox.publish). */
  public boolean publishes(String recordType) {
    return published.contains(recordType);
  }

  /**
   * Whether the node's own warm-up records are mirrored (to {@link #warmUpTopic}, never to the
   * users' topics).
   */
  public boolean mirrorsWarmUp() {
    return !warmUpTopic.isEmpty();
  }

  public String topicFor(String recordType) {
    return switch (recordType) {
      case "input" -> inputsTopic;
      case "score" -> scoresTopic;
      case "feedback" -> feedbackTopic;
      default -> answersTopic;
    };
  }
}
