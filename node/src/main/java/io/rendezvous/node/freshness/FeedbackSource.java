package io.rendezvous.node.freshness;

import io.rendezvous.kafka.KafkaSettings;
import java.time.Duration;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.kafka.ConsumerSettings;
import org.apache.pekko.kafka.Subscriptions;
import org.apache.pekko.kafka.javadsl.Consumer;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * The feedback topic, read from its start by the trainer of this incarnation: a consumer group of
 * its own that commits nothing, so a trainer that starts on another node reads every correction the
 * topic still keeps (its retention) and rebuilds its training set from them. A record that is not a
 * correction it can use is logged and passed over; the consumer restarts with a backoff when the
 * broker is away.
 */
public final class FeedbackSource {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(FeedbackSource.class);

  private FeedbackSource() {}

  public static UniqueKillSwitch start(
      ActorSystem<?> system,
      KafkaSettings kafka,
      double heldOutShare,
      ActorRef<Freshness.Command> trainer,
      java.util.concurrent.Executor blocking) {
    String group = "rendezvous-freshness-" + UUID.randomUUID();
    ConsumerSettings<String, byte[]> consumer =
        ConsumerSettings.create(system, new StringDeserializer(), new ByteArrayDeserializer())
            .withBootstrapServers(kafka.bootstrapServers())
            .withGroupId(group)
            .withProperty(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest")
            .withProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    RestartSettings restart =
        RestartSettings.create(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2);
    log.info(
        "freshness: reading corrections from kafka topic {} (group {})",
        kafka.feedbackTopic(),
        group);
    return RestartSource.onFailuresWithBackoff(
            restart,
            // the topic made first if it is missing (a node starts its trainer before its publisher
            // has made it): a consumer of a missing topic only warns, every second
            () ->
                org.apache.pekko.stream.javadsl.Source.completionStageSource(
                    java.util.concurrent.CompletableFuture.supplyAsync(
                        () -> {
                          io.rendezvous.kafka.JournalPublisher.createTopics(
                              kafka, java.util.List.of(kafka.feedbackTopic()));
                          return Consumer.plainSource(
                              consumer, Subscriptions.topics(kafka.feedbackTopic()));
                        },
                        blocking)))
        .viaMat(KillSwitches.single(), Keep.right())
        .toMat(
            Sink.foreach(
                record -> {
                  try {
                    Correction c = Correction.fromJson(record.value(), heldOutShare);
                    if (c != null) {
                      trainer.tell(new Freshness.Corrected(c));
                    }
                  } catch (java.io.IOException | RuntimeException e) {
                    log.warn(
                        "freshness: record {} at offset {} of {} is not a correction it can use: {}",
                        record.key(),
                        record.offset(),
                        record.topic(),
                        e.toString());
                  }
                }),
            Keep.left())
        .run(system);
  }
}
