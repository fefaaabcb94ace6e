package io.rendezvous.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.rendezvous.journal.JournalReader;
import io.rendezvous.journal.JournalRecord;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real node on free loopback ports with its own data dir, for tests; talks to it over real HTTP.
 */
public final class TestNode implements AutoCloseable {
  private static final AtomicInteger count = new AtomicInteger();

  public final Node node;
  public final Path dataDir;
  public final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private TestNode(Node node, Path dataDir) {
    this.node = node;
    this.dataDir = dataDir;
  }

  /** Starts a node; {@code overrides} is HOCON applied over the test configuration. */
  public static TestNode start(Path dataDir, String overrides) throws Exception {
    return start(dataDir, overrides, java.util.List.of());
  }

  /** Starts a node that also serves the routes {@code extensions} build. */
  public static TestNode start(
      Path dataDir, String overrides, java.util.List<RouteExtension> extensions) throws Exception {
    // one resolve over overrides + application.conf + reference.conf, so that settings derived by
    // substitution (the journal under data-dir) follow the overrides
    Config config =
        ConfigFactory.load(
            ConfigFactory.parseString(overrides)
                .withFallback(
                    ConfigFactory.parseString(
                        "rendezvous.data-dir = \""
                            + dataDir.toString().replace("\\", "/")
                            + "\"\n"
                            + "rendezvous.http.port = 0\n"
                            + "rendezvous.grpc.port = 0\n"
                            + "pekko.coordinated-shutdown.exit-jvm = off\n"
                            + "pekko.remote.artery.canonical.port = 0\n"
                            + "pekko.management.http.port = 0\n"
                            + "rendezvous.node-name = \"test-node-"
                            + count.incrementAndGet()
                            + "\"\n"))
                .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
    Node node = Node.start(config, extensions);
    // as a user waits for /v2/health/ready: the node's own warm-up is over before the test's
    // requests
    node.warmedUp().toCompletableFuture().get(2, TimeUnit.MINUTES);
    return new TestNode(node, dataDir);
  }

  /**
   * {@code GET /v2/health/ready} until it says 200 or {@code patience} has passed, as a user (or a
   * load balancer) waits for it; the last answer.
   */
  public HttpResponse<String> awaitReady(Duration patience)
      throws IOException, InterruptedException {
    long until = System.nanoTime() + patience.toNanos();
    HttpResponse<String> ready = get("/v2/health/ready");
    while (ready.statusCode() != 200 && System.nanoTime() < until) {
      Thread.sleep(100);
      ready = get("/v2/health/ready");
    }
    return ready;
  }

  public URI uri(String path) {
    return URI.create("http://127.0.0.1:" + node.httpPort() + path);
  }

  public HttpResponse<String> post(String path, String contentType, byte[] body)
      throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(uri(path))
            .header("Content-Type", contentType)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .timeout(Duration.ofSeconds(30))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  public HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(uri(path)).GET().timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  public Path journalDir() {
    return node.journal().settings().dir();
  }

  public List<JournalRecord> journal() {
    return JournalReader.readAll(journalDir());
  }

  /** The journal's requests' records: without the lifecycle records (endpoint tables, versions). */
  public List<JournalRecord> requestRecords() {
    return requestRecords(journal());
  }

  public static List<JournalRecord> requestRecords(List<JournalRecord> all) {
    return all.stream().filter(r -> !(r instanceof JournalRecord.Lifecycle)).toList();
  }

  @Override
  public void close() throws Exception {
    node.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
