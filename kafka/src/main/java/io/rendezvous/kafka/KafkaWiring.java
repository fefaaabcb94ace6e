package io.rendezvous.kafka;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.edge.InputDecoder;
import io.rendezvous.actors.edge.RendezvousClient;
import io.rendezvous.journal.JournalWriter;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.UniqueKillSwitch;

/**
 * A node's Kafka features, each on when configured: the journal mirrored to topics (the journal is
 * the outbox: retention keeps what is not yet published) and stream mode (requests from a topic).
 * Both stop with the node through its CoordinatedShutdown.
 */
public final class KafkaWiring {
  private KafkaWiring() {}

  /** What a node's other parts need from a node's Kafka features once they are started. */
  public record Started(
      Optional<JournalPublisher> outbox, Optional<java.util.function.LongSupplier> streamLag) {}

  public static Started start(
      ActorSystem<?> system,
      KafkaSettings kafka,
      KafkaRequestsSettings requests,
      JournalWriter journal,
      String node,
      Map<String, EndpointSettings> endpoints,
      InputDecoder decoder,
      RendezvousClient client)
      throws IOException {
    Optional<JournalPublisher> outbox = Optional.empty();
    Optional<java.util.function.LongSupplier> streamLag = Optional.empty();
    if (kafka.enabled()) {
      JournalPublisher.createTopics(kafka);
      JournalPublisher publisher =
          JournalPublisher.start(kafka, journal.settings().dir(), node, journal::appended);
      journal.retainFrom(publisher::position);
      outbox = Optional.of(publisher);
      // whatever is not yet published when the node stops is published by its next start
      system.getWhenTerminated().thenRun(publisher::close);
    }
    if (requests.enabled()) {
      EndpointSettings endpoint = endpoints.get(requests.endpoint());
      if (endpoint == null) {
        throw new IllegalArgumentException(
            "rendezvous.kafka-requests.endpoint names no endpoint: " + requests.endpoint());
      }
      JournalPublisher.createTopics(
          kafka, List.of(requests.topic(), requests.outputTopic(), requests.deadLetterTopic()));
      KafkaRequestStream.Running running =
          KafkaRequestStream.start(system, requests, kafka, decoder, client, endpoint);
      UniqueKillSwitch stream = running.killSwitch();
      streamLag = Optional.of(running.lag());
      // stop taking records from the topic when the node starts to leave: in-flight ones finish
      CoordinatedShutdown.get(system)
          .addTask(
              CoordinatedShutdown.PhaseBeforeServiceUnbind(),
              "rendezvous-kafka-requests",
              () -> {
                stream.shutdown();
                return CompletableFuture.completedFuture(Done.getInstance());
              });
    }
    return new Started(outbox, streamLag);
  }
}
