package io.rendezvous.kafka;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.edge.InputDecoder;
import io.rendezvous.actors.edge.InvalidInput;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.actors.edge.RendezvousClient;
import io.rendezvous.actors.edge.ReplyRenderer;
import io.rendezvous.actors.edge.TraceContext;
import io.rendezvous.model.TensorData;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.kafka.CommitterSettings;
import org.apache.pekko.kafka.ConsumerMessage;
import org.apache.pekko.kafka.ConsumerSettings;
import org.apache.pekko.kafka.ProducerMessage;
import org.apache.pekko.kafka.ProducerSettings;
import org.apache.pekko.kafka.Subscriptions;
import org.apache.pekko.kafka.javadsl.Committer;
import org.apache.pekko.kafka.javadsl.Consumer;
import org.apache.pekko.kafka.javadsl.Producer;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stream mode: prediction requests from a topic go through the same sharded rendezvous as HTTP
 * ({@code mapAsync} with an ask, bounded parallelism: the consumer takes no more records than are
 * in flight), each answer is produced to the output topic keyed like the request, and the request's
 * offset is committed only after that (at least once). A record has no client waiting on a
 * deadline, and a record given up on is lost: an instance refused for load ({@link
 * Reply.Rejected#forLoad()}: models overloaded, no decision in time, the journal unable to take it)
 * is asked again after a backoff, for as long as it takes, which holds its slot and so slows the
 * consumer. Only what coming again cannot fix goes to the dead-letter topic with the reason: a
 * malformed record, or one a model truly failed on. The whole source is restarted with backoff when
 * it fails (broker away, say).
 */
public final class KafkaRequestStream {
  private static final Logger log = LoggerFactory.getLogger(KafkaRequestStream.class);

  private KafkaRequestStream() {}

  /**
   * A running stream: its kill switch, and the consumer's lag (records on the topic's partitions
   * not yet consumed, summed; -1 until the consumer has fetched), as of the previous call.
   */
  public record Running(UniqueKillSwitch killSwitch, java.util.function.LongSupplier lag) {}

  public static Running start(
      ActorSystem<?> system,
      KafkaRequestsSettings c,
      KafkaSettings kafka,
      InputDecoder decoder,
      RendezvousClient client,
      EndpointSettings endpoint) {
    ConsumerSettings<String, byte[]> consumer =
        ConsumerSettings.create(system, new StringDeserializer(), new ByteArrayDeserializer())
            .withBootstrapServers(kafka.bootstrapServers())
            .withGroupId(c.groupId())
            .withProperty(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    ProducerSettings<String, String> producer =
        ProducerSettings.create(system, new StringSerializer(), new StringSerializer())
            .withBootstrapServers(kafka.bootstrapServers())
            .withProperty("enable.idempotence", "true")
            .withProperty("acks", "all")
            // as the journal's publisher: one request in flight, or a first request to an empty
            // partition can be overtaken and then refused as out of order until it expires
            // (KAFKA-15591)
            .withProperty("max.in.flight.requests.per.connection", "1");
    CommitterSettings committer = CommitterSettings.create(system);
    RestartSettings restart =
        RestartSettings.create(
            c.restartMinBackoff(), c.restartMaxBackoff(), c.restartRandomFactor());
    int parallelism = c.parallelism();
    log.info(
        "serving requests from kafka topic {} on endpoint {} (answers to {}, malformed to {})",
        c.topic(),
        endpoint.name(),
        c.outputTopic(),
        c.deadLetterTopic());
    // the consumer of the current incarnation (the stream restarts on failures): its client's
    // metrics give the lag
    java.util.concurrent.atomic.AtomicReference<Consumer.Control> control =
        new java.util.concurrent.atomic.AtomicReference<>();
    java.util.concurrent.atomic.AtomicLong lastLag = new java.util.concurrent.atomic.AtomicLong(-1);
    java.util.function.LongSupplier lag =
        () -> {
          Consumer.Control current = control.get();
          if (current != null) {
            current
                .getMetrics()
                .thenAccept(
                    metrics -> {
                      double total = -1;
                      for (var e : metrics.entrySet()) {
                        if ("records-lag".equals(e.getKey().name())
                            && e.getValue().metricValue() instanceof Number n
                            && !Double.isNaN(n.doubleValue())) {
                          total = Math.max(total, 0) + n.doubleValue();
                        }
                      }
                      lastLag.set((long) total);
                    });
          }
          return lastLag.get();
        };
    UniqueKillSwitch killSwitch =
        RestartSource.onFailuresWithBackoff(
                restart,
                () ->
                    Consumer.committableSource(consumer, Subscriptions.topics(c.topic()))
                        .mapMaterializedValue(
                            m -> {
                              control.set(m);
                              return m;
                            })
                        .mapAsync(
                            parallelism, msg -> answer(system, msg, decoder, client, endpoint, c))
                        .via(Producer.flexiFlow(producer))
                        .map(ProducerMessage.Results::passThrough)
                        .via(Committer.flow(committer)))
            .viaMat(KillSwitches.single(), Keep.right())
            .toMat(Sink.ignore(), Keep.left())
            .run(system);
    return new Running(killSwitch, lag);
  }

  private static CompletionStage<
          ProducerMessage.Envelope<String, String, ConsumerMessage.Committable>>
      answer(
          ActorSystem<?> system,
          ConsumerMessage.CommittableMessage<String, byte[]> msg,
          InputDecoder decoder,
          RendezvousClient client,
          EndpointSettings endpoint,
          KafkaRequestsSettings c) {
    String key = msg.record().key();
    ConsumerMessage.Committable offset = msg.committableOffset();
    // the producer's trace continued (or a new one): kept with the request, sent on with its answer
    org.apache.kafka.common.header.Header incoming =
        msg.record().headers().lastHeader(TraceContext.HEADER);
    String traceparent =
        TraceContext.continueOrStart(
            incoming == null
                ? null
                : new String(incoming.value(), java.nio.charset.StandardCharsets.UTF_8));
    List<TensorData> instances;
    try {
      instances = decoder.instances(msg.record().value(), endpoint.input());
    } catch (InvalidInput e) {
      return CompletableFuture.completedFuture(
          ProducerMessage.single(deadLetter(c, msg, e.getMessage(), null), offset));
    }
    return new RetryRefusedForLoad(
            system,
            asked -> client.predict(endpoint, asked, key, "kafka", null, traceparent),
            key,
            c.retryMinBackoff(),
            c.retryMaxBackoff(),
            c.retryLogEvery())
        .answerAll(instances)
        .thenApply(
            replies -> {
              ObjectNode body = ReplyRenderer.streamBody(key, replies, endpoint.labels());
              if (ReplyRenderer.status(replies) != 200) {
                // a model failed on this input: coming again would not change it
                return ProducerMessage.single(
                    deadLetter(c, msg, ReplyRenderer.firstError(replies), body), offset);
              }
              String outKey = key != null ? key : replies.get(0).requestId();
              ProducerRecord<String, String> out =
                  new ProducerRecord<>(c.outputTopic(), outKey, body.toString());
              out.headers()
                  .add(
                      TraceContext.HEADER,
                      traceparent.getBytes(java.nio.charset.StandardCharsets.UTF_8));
              return ProducerMessage.single(out, offset);
            });
  }

  private static ProducerRecord<String, String> deadLetter(
      KafkaRequestsSettings c,
      ConsumerMessage.CommittableMessage<String, byte[]> msg,
      String why,
      ObjectNode answer) {
    ObjectNode dead = Json.object();
    dead.put("error", why);
    dead.put("topic", msg.record().topic());
    dead.put("partition", msg.record().partition());
    dead.put("offset", msg.record().offset());
    dead.put("value", new String(msg.record().value(), StandardCharsets.UTF_8));
    if (answer != null) {
      dead.set("answer", answer);
    }
    return new ProducerRecord<>(c.deadLetterTopic(), msg.record().key(), dead.toString());
  }
}
