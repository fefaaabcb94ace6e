package io.rendezvous.kafka;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.Callable;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A real Apache Kafka broker for Rendezvous: one combined broker + KRaft controller on 127.0.0.1,
 * data in a directory of its own, started as its own JVM ({@code node/bin/kafka-broker}) so that
 * one broker can serve a whole local cluster, a node's classpath stays free of the broker, and an
 * outage test can really stop it. Storage is formatted on first start and reused after that.
 *
 * <p>{@code kafka-broker [--data-dir DIR] [--port 9092] [--controller-port 9093]}
 */
@Command(
    name = "kafka-broker",
    mixinStandardHelpOptions = true,
    description = "Run a Kafka broker (KRaft, broker and controller in one) on 127.0.0.1.")
public final class KafkaBrokerMain implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(KafkaBrokerMain.class);

  @Option(names = "--data-dir", defaultValue = "data/kafka", description = "Broker data.")
  Path dataDir;

  @Option(names = "--port", defaultValue = "9092", description = "Client port on 127.0.0.1.")
  int port;

  @Option(
      names = "--controller-port",
      defaultValue = "9093",
      description = "KRaft controller port on 127.0.0.1.")
  int controllerPort;

  public static void main(String[] args) {
    System.exit(new CommandLine(new KafkaBrokerMain()).execute(args));
  }

  /** Runs the broker until the JVM is stopped. */
  @Override
  public Integer call() throws Exception {
    Properties props = serverProperties(dataDir.toAbsolutePath(), port, controllerPort);
    formatIfNew(dataDir.toAbsolutePath(), props);
    KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  log.info("stopping kafka broker on 127.0.0.1:{}", props.getProperty("port"));
                  server.shutdown();
                  server.awaitShutdown();
                },
                "kafka-broker-shutdown"));
    server.startup();
    log.info("kafka broker ready on 127.0.0.1:{} (data in {})", port, dataDir.toAbsolutePath());
    server.awaitShutdown();
    return 0;
  }

  static Properties serverProperties(Path dataDir, int port, int controllerPort) {
    Properties p = new Properties();
    p.setProperty("process.roles", "broker,controller");
    p.setProperty("node.id", "1");
    p.setProperty("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    p.setProperty(
        "listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
    p.setProperty("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
    p.setProperty("controller.listener.names", "CONTROLLER");
    p.setProperty("inter.broker.listener.name", "PLAINTEXT");
    p.setProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.setProperty("log.dirs", dataDir.resolve("logs").toString());
    // one broker: every internal topic has a single replica
    p.setProperty("offsets.topic.replication.factor", "1");
    p.setProperty("transaction.state.log.replication.factor", "1");
    p.setProperty("transaction.state.log.min.isr", "1");
    p.setProperty("share.coordinator.state.topic.replication.factor", "1");
    // topics are created by the nodes with their configured partitions and retention
    p.setProperty("auto.create.topics.enable", "false");
    p.setProperty("group.initial.rebalance.delay.ms", "0");
    // Threads sized to the machine, not to a broker host: Kafka's defaults (8 request handlers, 3
    // network threads, 10 background threads) are for a dedicated server; beside a node on a laptop
    // they only add wake-ups and context switches for the same work.
    int cores = Runtime.getRuntime().availableProcessors();
    p.setProperty("num.io.threads", Integer.toString(Math.max(2, Math.min(8, cores))));
    p.setProperty("num.network.threads", Integer.toString(Math.max(1, Math.min(3, cores / 2))));
    p.setProperty("background.threads", Integer.toString(Math.max(2, Math.min(10, cores))));
    p.setProperty("port", Integer.toString(port));
    return p;
  }

  private static void formatIfNew(Path dataDir, Properties props) throws IOException {
    Path logs = dataDir.resolve("logs");
    if (Files.exists(logs.resolve("meta.properties"))) {
      return;
    }
    Files.createDirectories(dataDir);
    Path file = dataDir.resolve("server.properties");
    try (OutputStream out = Files.newOutputStream(file)) {
      props.store(out, "written by Rendezvous' KafkaBrokerMain");
    }
    String clusterId = Uuid.randomUuid().toString();
    int rc =
        StorageTool.execute(
            new String[] {"format", "-t", clusterId, "-c", file.toString(), "--ignore-formatted"},
            new PrintStream(System.out, true));
    if (rc != 0) {
      throw new IOException("formatting kafka storage in " + logs + " failed (exit " + rc + ")");
    }
    log.info("formatted kafka storage in {} (cluster id {})", logs, clusterId);
  }
}
