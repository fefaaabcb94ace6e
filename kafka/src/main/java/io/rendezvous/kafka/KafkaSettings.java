package io.rendezvous.kafka;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** {@code rendezvous.kafka}, read once. */
public record KafkaSettings(
    boolean enabled,
    String bootstrapServers,
    String inputsTopic,
    String scoresTopic,
    String answersTopic,
    int partitions,
    short replicationFactor,
    Duration retention,
    Path positionFile,
    int batch,
    Duration idleWait,
    Map<String, Object> producerOverrides) {

  public static KafkaSettings fromConfig(Config root) {
    Config c = root.getConfig("rendezvous.kafka");
    Map<String, Object> producer = new HashMap<>();
    for (Map.Entry<String, ConfigValue> e : c.getConfig("producer").entrySet()) {
      producer.put(e.getKey(), e.getValue().unwrapped());
    }
    return new KafkaSettings(
        c.getBoolean("enabled"),
        c.getString("bootstrap-servers"),
        c.getString("topics.inputs"),
        c.getString("topics.scores"),
        c.getString("topics.answers"),
        c.getInt("topics.partitions"),
        (short) c.getInt("topics.replication-factor"),
        c.getDuration("topics.retention"),
        Path.of(c.getString("outbox.position-file")),
        c.getInt("outbox.batch"),
        c.getDuration("outbox.idle-wait"),
        Map.copyOf(producer));
  }

  public String topicFor(String recordType) {
    return switch (recordType) {
      case "input" -> inputsTopic;
      case "score" -> scoresTopic;
      default -> answersTopic;
    };
  }
}
