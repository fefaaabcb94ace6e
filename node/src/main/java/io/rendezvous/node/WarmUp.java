package io.rendezvous.node;

import com.typesafe.config.Config;
import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.Reply;
import io.rendezvous.actors.edge.InputDecoder;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.actors.edge.RendezvousClient;
import io.rendezvous.actors.edge.ReplyRenderer;
import io.rendezvous.model.TensorSpec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warm before ready: the node's own requests through the whole request path, as a client's would go
 * (an Open Inference Protocol JSON body decoded, one rendezvous per instance, every model, the
 * journal, the reply rendered to bytes), before {@link Readiness} says ready. Inputs are random
 * values of each endpoint's shape, written with 17 significant digits as numpy and Python's json
 * write them (Triton's warm-up takes random data the same way). The requests are warm-up's by their
 * ids ({@link RendezvousClient#warmUp}): journaled, marked, kept out of Kafka and the figures.
 */
final class WarmUp {
  private static final Logger log = LoggerFactory.getLogger(WarmUp.class);

  /** {@code rendezvous.warm-up}. */
  record Settings(int requests, int concurrency, Duration timeout) {
    static Settings fromConfig(Config root) {
      Config c = root.getConfig("rendezvous.warm-up");
      Settings s =
          new Settings(c.getInt("requests"), c.getInt("concurrency"), c.getDuration("timeout"));
      if (s.requests < 0 || s.concurrency < 1) {
        throw new IllegalArgumentException(
            "rendezvous.warm-up: requests must be >= 0 and concurrency >= 1");
      }
      return s;
    }
  }

  /** What the warm-up did: requests run, how many answered 200, and how long it took. */
  record Summary(long requests, long answered, Duration took, boolean finished) {}

  private final ActorSystem<?> system;
  private final Settings settings;
  private final InputDecoder decoder;
  private final RendezvousClient client;
  private final List<EndpointSettings> endpoints;
  private final AtomicLong done = new AtomicLong();

  WarmUp(
      ActorSystem<?> system,
      Settings settings,
      InputDecoder decoder,
      RendezvousClient client,
      Map<String, EndpointSettings> endpoints) {
    this.system = system;
    this.settings = settings;
    this.decoder = decoder;
    this.client = client;
    // only endpoints whose input a random body can be written for; others go without warm-up
    this.endpoints =
        endpoints.values().stream()
            .filter(e -> "float32".equals(e.input().dtype()))
            .sorted((a, b) -> a.name().compareTo(b.name()))
            .toList();
  }

  /** Requests finished so far. */
  long done() {
    return done.get();
  }

  int planned() {
    return endpoints.isEmpty() ? 0 : settings.requests();
  }

  /** Runs the warm-up; completes when every request is answered, or at the timeout. */
  CompletionStage<Summary> run() {
    long start = System.nanoTime();
    if (planned() == 0) {
      return CompletableFuture.completedFuture(new Summary(0, 0, Duration.ZERO, true));
    }
    SplittableRandom random = new SplittableRandom();
    List<byte[]> bodies = endpoints.stream().map(e -> body(e.input(), random)).toList();
    AtomicLong answered = new AtomicLong();
    CompletableFuture<Summary> result = new CompletableFuture<>();
    Source.range(0, settings.requests() - 1)
        .mapAsyncUnordered(
            settings.concurrency(),
            i -> {
              int k = i % endpoints.size();
              return one(endpoints.get(k), bodies.get(k))
                  .handle(
                      (ok, e) -> {
                        done.incrementAndGet();
                        if (Boolean.TRUE.equals(ok)) {
                          answered.incrementAndGet();
                        }
                        return i;
                      });
            })
        .completionTimeout(settings.timeout())
        .runWith(Sink.ignore(), system)
        .whenComplete(
            (d, e) ->
                result.complete(
                    new Summary(
                        done.get(),
                        answered.get(),
                        Duration.ofNanos(System.nanoTime() - start),
                        e == null)));
    return result;
  }

  /** One request as a client's: decoded from bytes, answered, rendered to bytes. */
  private CompletionStage<Boolean> one(EndpointSettings endpoint, byte[] body) {
    InputDecoder.InferRequest request;
    try {
      request = decoder.inferRequest(body, endpoint.input());
    } catch (Exception e) {
      log.warn("warm-up: endpoint {} refused its own body: {}", endpoint.name(), e.toString());
      return CompletableFuture.completedFuture(false);
    }
    return client
        .warmUp(endpoint, request.instances())
        .thenApply(
            (List<Reply> replies) -> {
              byte[] rendered =
                  ReplyRenderer.inferBody(endpoint, request.clientId(), replies)
                      .toString()
                      .getBytes(StandardCharsets.UTF_8);
              return rendered.length > 0 && ReplyRenderer.status(replies) == 200;
            });
  }

  /** An OIP v2 request of one instance of {@code spec}, random values in [0, 1), 17 digits. */
  static byte[] body(TensorSpec spec, SplittableRandom random) {
    long elements = spec.elementsPerInstance();
    StringBuilder b = new StringBuilder("{\"inputs\":[{\"name\":");
    b.append(Json.MAPPER.valueToTree(spec.name()).toString()).append(",\"shape\":[1");
    for (long dim : spec.shape().subList(1, spec.shape().size())) {
      b.append(',').append(dim);
    }
    b.append("],\"datatype\":\"FP32\",\"data\":[");
    for (long i = 0; i < elements; i++) {
      if (i > 0) {
        b.append(',');
      }
      b.append(String.format(java.util.Locale.ROOT, "%.17g", random.nextDouble()));
    }
    return b.append("]}]}").toString().getBytes(StandardCharsets.UTF_8);
  }
}
