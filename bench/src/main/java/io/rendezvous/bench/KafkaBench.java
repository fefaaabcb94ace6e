package io.rendezvous.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.bench.Converters.AtLeastOne;
import io.rendezvous.bench.Converters.AtLeastZero;
import io.rendezvous.node.Node;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rendezvous-bench kafka}: starts the project's broker (its own JVM) and a node in this JVM,
 * then measures (1) stream mode: requests written to the input topic as fast as the producer goes
 * (or at a given rate), answers read from the output topic; throughput and produce-to-answer delay
 * p50/p99; (2) {@code POST /predict} throughput at 32 clients with the Kafka mirror on and off, in
 * the same run.
 */
@Command(
    name = "kafka",
    mixinStandardHelpOptions = true,
    version = "rendezvous-bench " + Node.VERSION,
    sortOptions = false,
    description = {
      "Starts a Kafka broker (node/bin/kafka-broker, port 29092) and a node, measures stream mode"
          + " (requests topic in, predictions topic out: throughput, produce-to-answer p50/p99),"
          + " then POST /predict at 32 clients with the Kafka mirror off and on."
    })
final class KafkaBench implements Callable<Integer> {
  private static final int PORT = 29092;

  @Option(
      names = "--requests",
      paramLabel = "N",
      defaultValue = "10000",
      converter = AtLeastOne.class,
      description = "Requests sent through stream mode (default: ${DEFAULT-VALUE}).")
  int requests;

  @Option(
      names = "--rate",
      paramLabel = "R",
      defaultValue = "0",
      converter = AtLeastZero.class,
      description =
          "Stream-mode requests per second; 0 sends them as fast as the producer goes (default:"
              + " ${DEFAULT-VALUE}).")
  int rate;

  @Option(
      names = "--seconds",
      paramLabel = "S",
      defaultValue = "10",
      converter = AtLeastOne.class,
      description = "Length of each POST /predict run (default: ${DEFAULT-VALUE}).")
  int seconds;

  @Override
  public Integer call() throws Exception {
    PrintStream out = System.out;
    Path home = Path.of(System.getenv().getOrDefault("RENDEZVOUS_HOME", "."));
    Path run = Files.createTempDirectory("rendezvous-kafka-bench");
    ProcessBuilder pb =
        new ProcessBuilder(
            home.resolve("node/bin/kafka-broker").toString(),
            "--port",
            Integer.toString(PORT),
            "--controller-port",
            Integer.toString(PORT + 1));
    pb.environment().put("KAFKA_DATA_DIR", run.resolve("kafka").toString());
    pb.redirectErrorStream(true).redirectOutput(run.resolve("kafka.log").toFile());
    Process broker = pb.start();
    try {
      awaitPort(PORT, broker);
      List<FashionMnist.Sample> holdout = FashionMnist.load().holdout();
      out.printf(
          "Kafka benchmark: %d cores; broker and node on this machine (node and load generator in one JVM)%n",
          Runtime.getRuntime().availableProcessors());
      stream(out, run, holdout, requests, rate);
      // a first off/on round warms the JVM up (not reported: the first node of a run is measurably
      // slower); then off, on, off, on, alternating so that what warming is left favours neither
      // side
      http(run.resolve("warm-off"), holdout, false, seconds);
      http(run.resolve("warm-on"), holdout, true, seconds);
      double[] off = new double[2];
      double[] on = new double[2];
      for (int round = 0; round < 2; round++) {
        off[round] = http(run.resolve("off-" + round), holdout, false, seconds);
        on[round] = http(run.resolve("on-" + round), holdout, true, seconds);
      }
      double offMean = (off[0] + off[1]) / 2;
      double onMean = (on[0] + on[1]) / 2;
      out.printf(
          "POST /predict at 32 clients, %d s each: mirror off %.0f / %.0f req/s, on %.0f / %.0f req/s:"
              + " the mirror costs %.1f%%%n",
          seconds, off[0], off[1], on[0], on[1], 100 * (offMean - onMean) / offMean);
    } finally {
      broker.destroy();
      broker.waitFor(60, TimeUnit.SECONDS);
    }
    return 0;
  }

  /** {@code rate} requests a second, or as fast as the producer goes when 0. */
  private static void stream(
      PrintStream out, Path run, List<FashionMnist.Sample> holdout, int requests, int rate)
      throws Exception {
    Node node = Node.start(config(run.resolve("stream"), true, true));
    // as a user waits for ready: the node's own warm-up is over before the records come
    node.warmedUp().toCompletableFuture().get(120, TimeUnit.SECONDS);
    try {
      Map<String, Long> sentAt = new java.util.concurrent.ConcurrentHashMap<>();
      List<Long> delays = java.util.Collections.synchronizedList(new ArrayList<>());
      java.util.concurrent.atomic.AtomicInteger answered =
          new java.util.concurrent.atomic.AtomicInteger();
      Map<Integer, Integer> failures = new java.util.concurrent.ConcurrentSkipListMap<>();
      Set<String> answeredKeys = java.util.concurrent.ConcurrentHashMap.newKeySet();
      java.util.concurrent.atomic.AtomicInteger duplicates =
          new java.util.concurrent.atomic.AtomicInteger();
      java.util.concurrent.atomic.AtomicInteger deadLetters =
          new java.util.concurrent.atomic.AtomicInteger();
      Properties pp = new Properties();
      pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + PORT);
      pp.put(ProducerConfig.LINGER_MS_CONFIG, 5);
      Properties cp = new Properties();
      cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + PORT);
      cp.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-" + System.nanoTime());
      cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      try (KafkaProducer<String, String> producer =
              new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer());
          KafkaConsumer<String, String> consumer =
              new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
        consumer.subscribe(List.of("rendezvous-predictions", "rendezvous-dead-letters"));
        consumer.poll(Duration.ofMillis(500));
        // as Python's json.dumps writes them: 17 significant digits
        List<String> bodies = holdout.stream().limit(500).map(HoldoutBodies::pythonJson).toList();
        long start = System.nanoTime();
        long[] last = {start};
        // answers are read on their own thread while requests are still being written
        Thread reader =
            new Thread(
                () -> {
                  long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
                  while (answered.get() < requests && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                      if (r.topic().equals("rendezvous-dead-letters")) {
                        deadLetters.incrementAndGet();
                      }
                      if (!answeredKeys.add(r.key())) {
                        // at least once: a key answered twice counts once, and is reported
                        duplicates.incrementAndGet();
                        continue;
                      }
                      Long t0 = sentAt.remove(r.key());
                      if (t0 == null) {
                        continue;
                      }
                      answered.incrementAndGet();
                      // an answer that is not a 200 is no scored request: counted apart
                      int status = statusOf(r.value());
                      if (status == 200) {
                        last[0] = System.nanoTime();
                        delays.add(last[0] - t0);
                      } else {
                        failures.merge(status, 1, Integer::sum);
                      }
                    }
                  }
                },
                "kafka-bench-reader");
        reader.start();
        for (int i = 0; i < requests; i++) {
          if (rate > 0) {
            long wait = start + i * (1_000_000_000L / rate) - System.nanoTime();
            if (wait > 0) {
              TimeUnit.NANOSECONDS.sleep(wait);
            }
          }
          String key = "b" + i;
          sentAt.put(key, System.nanoTime());
          producer.send(
              new ProducerRecord<>("rendezvous-requests", key, bodies.get(i % bodies.size())));
        }
        producer.flush();
        reader.join();
        double elapsed = (last[0] - start) / 1e9;
        out.printf(
            "stream mode (%s): %d requests, %d answered 200 in %.1f s: %.0f answers 200/s = %.0f"
                + " inferences/s (3 models each); produce-to-answer delay p50 %.0f ms, p99 %.0f ms;"
                + " not answered 200: %d %s; keys answered twice: %d; dead letters: %d%n",
            rate > 0 ? rate + " requests/s offered" : "all at once",
            requests,
            delays.size(),
            elapsed,
            delays.size() / elapsed,
            3 * delays.size() / elapsed,
            pct(delays, 50) / 1e6,
            pct(delays, 99) / 1e6,
            requests - delays.size(),
            answered.get() < requests
                ? failures + " and " + (requests - answered.get()) + " with no answer"
                : failures,
            duplicates.get(),
            deadLetters.get());
      }
    } finally {
      node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
  }

  /** The status of a stream-mode answer ({@code {"key":..,"status":..,"predictions":[..]}}). */
  static int statusOf(String answer) {
    try {
      return Json.MAPPER.readTree(answer).path("status").asInt(-1);
    } catch (java.io.IOException e) {
      return -1;
    }
  }

  private static double http(
      Path data, List<FashionMnist.Sample> holdout, boolean mirror, int seconds) throws Exception {
    // no warm-up of the node's own: its requests would run beside the measured ones (the runs
    // alternate off and on after a first unreported round, which warms this JVM for both)
    Node node =
        Node.start(
            ConfigFactory.parseString("rendezvous.warm-up.requests = 0")
                .withFallback(config(data, mirror, false)));
    try {
      List<byte[]> bodies =
          holdout.stream()
              .limit(500)
              .map(s -> HoldoutBodies.json(s).getBytes(StandardCharsets.UTF_8))
              .toList();
      HttpLoad.closedRate(node.httpPort(), "/predict", bodies, 8, Duration.ofSeconds(3)); // warm-up
      return HttpLoad.closedRate(
          node.httpPort(), "/predict", bodies, 32, Duration.ofSeconds(seconds));
    } finally {
      node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
  }

  private static Config config(Path data, boolean mirror, boolean requests) {
    return ConfigFactory.load(
        ConfigFactory.parseString(
                String.join(
                    "\n",
                    "rendezvous.data-dir = \"" + data + "\"",
                    "rendezvous.http.port = 0",
                    "rendezvous.grpc.port = 0",
                    "pekko.management.http.port = 0",
                    "pekko.remote.artery.canonical.port = 0",
                    "pekko.coordinated-shutdown.exit-jvm = off",
                    "pekko.loglevel = WARNING",
                    "rendezvous.kafka.enabled = " + mirror,
                    "rendezvous.kafka.bootstrap-servers = \"127.0.0.1:" + PORT + "\"",
                    "rendezvous.kafka-requests.enabled = " + requests))
            .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  private static void awaitPort(int port, Process broker) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (!broker.isAlive()) {
        throw new IllegalStateException("kafka broker exited");
      }
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
        return;
      } catch (IOException e) {
        TimeUnit.MILLISECONDS.sleep(200);
      }
    }
    throw new IllegalStateException("kafka broker not listening");
  }

  static double pct(List<Long> values, int p) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    long[] sorted = values.stream().mapToLong(Long::longValue).toArray();
    java.util.Arrays.sort(sorted);
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
  }
}
