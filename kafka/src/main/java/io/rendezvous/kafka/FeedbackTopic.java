package io.rendezvous.kafka;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.kafka.ConsumerSettings;
import org.apache.pekko.kafka.Subscriptions;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The feedback topic read from its start: a consumer group of its own that commits nothing, so a
 * reader that starts anew (the freshness trainer on another node) gets every correction the topic
 * still keeps. The topic is made first if it is missing (a consumer of a missing topic only warns,
 * every second); the consumer restarts with a backoff while the broker is away.
 */
public final class FeedbackTopic {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(FeedbackTopic.class);

  private FeedbackTopic() {}

  /**
   * Gives each record's value to {@code onRecord} (on a stream thread) until the kill switch is
   * used; {@code blocking} makes the topic.
   */
  public static UniqueKillSwitch follow(
      ActorSystem<?> system, KafkaSettings kafka, Consumer<byte[]> onRecord, Executor blocking) {
    String group = "rendezvous-freshness-" + UUID.randomUUID();
    ConsumerSettings<String, byte[]> consumer =
        ConsumerSettings.create(system, new StringDeserializer(), new ByteArrayDeserializer())
            .withBootstrapServers(kafka.bootstrapServers())
            .withGroupId(group)
            .withProperty(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest")
            .withProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    RestartSettings restart =
        RestartSettings.create(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2);
    log.info("reading kafka topic {} from its start (group {})", kafka.feedbackTopic(), group);
    return RestartSource.onFailuresWithBackoff(
            restart,
            () ->
                Source.completionStageSource(
                    CompletableFuture.supplyAsync(
                        () -> {
                          JournalPublisher.createTopics(kafka, List.of(kafka.feedbackTopic()));
                          return org.apache.pekko.kafka.javadsl.Consumer.plainSource(
                              consumer, Subscriptions.topics(kafka.feedbackTopic()));
                        },
                        blocking)))
        .viaMat(KillSwitches.single(), Keep.right())
        .toMat(Sink.foreach(r -> onRecord.accept(r.value())), Keep.left())
        .run(system);
  }
}
