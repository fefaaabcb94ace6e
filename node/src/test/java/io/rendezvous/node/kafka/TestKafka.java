package io.rendezvous.node.kafka;

import io.rendezvous.kafka.KafkaBrokerMain;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The project's Kafka broker started as its own JVM (as {@code node/bin/kafka-broker} does), on
 * free loopback ports, for tests: it can be stopped and started again on the same data dir.
 */
public final class TestKafka implements AutoCloseable {
  private final Path dataDir;
  private final int port;
  private final int controllerPort;
  private final Path log;
  private Process process;

  public TestKafka(Path dataDir) throws IOException {
    this.dataDir = dataDir;
    this.port = freePort();
    this.controllerPort = freePort();
    this.log = dataDir.resolveSibling(dataDir.getFileName() + ".log");
  }

  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public TestKafka start() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    process =
        new ProcessBuilder(
                List.of(
                    java,
                    "-Xmx512m",
                    "-cp",
                    System.getProperty("java.class.path"),
                    KafkaBrokerMain.class.getName(),
                    "--data-dir",
                    dataDir.toString(),
                    "--port",
                    Integer.toString(port),
                    "--controller-port",
                    Integer.toString(controllerPort)))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("kafka broker exited; see " + log);
      }
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
        return this;
      } catch (IOException notYet) {
        TimeUnit.MILLISECONDS.sleep(200);
      }
    }
    throw new IllegalStateException("kafka broker not listening within 60 s; see " + log);
  }

  /** SIGTERM, and wait for the broker to exit. */
  public void stop() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
