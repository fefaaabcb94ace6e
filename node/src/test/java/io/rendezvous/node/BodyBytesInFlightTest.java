package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory is bounded by the bytes of bodies in flight, not only by the number of requests: a request
 * admitted beyond the budget gets 503 before its body is read.
 */
class BodyBytesInFlightTest {
  static final ActorTestKit kit = ActorTestKit.create();
  static final int BODY = 40 * 1024;
  @TempDir static Path dir;
  static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    node =
        TestNode.start(
            dir,
            "rendezvous.http.max-body = 64KiB\n"
                + "rendezvous.http.max-body-bytes-in-flight = 64KiB\n"
                + "rendezvous.http.body-timeout = 30s");
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    kit.shutdownTestKit();
  }

  /** A valid /predict body, padded with spaces to {@link #BODY} bytes. */
  static byte[] paddedBody() {
    String json = HoldoutBodies.json(FashionMnist.load().holdout().get(0));
    return (json + " ".repeat(BODY - json.length())).getBytes(StandardCharsets.UTF_8);
  }

  long bytesInFlight() throws Exception {
    JsonNode ready = Json.MAPPER.readTree(node.get("/v2/health/ready").body());
    return ready.get("figures").get("edge_body_bytes_in_flight").asLong();
  }

  @Test
  void aBodyBeyondTheBytesInFlightIsRefusedBeforeItIsRead() throws Exception {
    TestProbe<Object> wait = kit.createTestProbe();
    byte[] body = paddedBody();
    try (Socket slow = new Socket("127.0.0.1", node.node.httpPort())) {
      // a client that declares 40 KiB and sends one byte of it: admitted, its bytes reserved
      OutputStream out = slow.getOutputStream();
      out.write(
          ("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + "Content-Length: "
                  + BODY
                  + "\r\n\r\n{")
              .getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      wait.awaitAssert(
          Duration.ofSeconds(10),
          () -> {
            assertEquals(BODY, bytesInFlight());
            return null;
          });
      // another 40 KiB would pass the 64 KiB budget: 503, JSON, Retry-After
      HttpResponse<String> refused = node.post("/predict", "application/json", body);
      assertEquals(503, refused.statusCode(), refused.body());
      assertTrue(refused.headers().firstValue("Retry-After").isPresent());
      assertTrue(
          Json.MAPPER
              .readTree(refused.body())
              .get("error")
              .asText()
              .contains("max-body-bytes-in-flight"),
          refused.body());
    }
    // the slow client went away: its bytes are released and the same request is served
    wait.awaitAssert(
        Duration.ofSeconds(40),
        () -> {
          assertEquals(0, bytesInFlight());
          return null;
        });
    HttpResponse<String> served = node.post("/predict", "application/json", body);
    assertEquals(200, served.statusCode(), served.body());
  }
}
