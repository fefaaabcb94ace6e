package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model hung on a real node over HTTP: injected through the admin route, every request is still
 * answered 200, readiness names the model degraded, a replacement worker answers the model's own
 * endpoint, and once the stuck call returns the node is whole again.
 */
class HungModelTest {
  @TempDir static Path dir;
  static TestNode node;
  static final HttpClient http = HttpClient.newHttpClient();
  static final String ADMIN = "admin-token-77c1";
  static final long HOLD_MILLIS = 4_000;

  @BeforeAll
  static void start() throws Exception {
    node =
        TestNode.start(
            dir,
            "rendezvous.admin.fault-injection = on\n"
                + "rendezvous.auth.admin = \""
                + ADMIN
                + "\"\n"
                + "rendezvous.models.m3.watchdog { hang-after = 300ms, check-every = 50ms }");
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  static HttpResponse<String> send(String method, String path, String body, Optional<String> token)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(node.uri(path))
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(30))
            .method(method, HttpRequest.BodyPublishers.ofString(body));
    token.ifPresent(t -> b.header("Authorization", "Bearer " + t));
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode ready() throws Exception {
    HttpResponse<String> r = send("GET", "/v2/health/ready", "", Optional.empty());
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body());
  }

  static String error(HttpResponse<String> r, int status) throws Exception {
    assertEquals(status, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body()).get("error").asText();
  }

  @Test
  void aHungModelIsReplacedAndEveryRequestIsAnswered() throws Exception {
    String faults = "/admin/models/m3/faults";
    String hang = "{\"hang_calls\": 1, \"hang_for_ms\": " + HOLD_MILLIS + "}";
    assertTrue(error(send("POST", faults, hang, Optional.empty()), 401).contains("bearer token"));
    assertTrue(
        error(send("POST", faults, "{\"hang_calls\": -1}", Optional.of(ADMIN)), 400)
            .contains("hang_for_ms"));
    assertTrue(
        error(send("POST", "/admin/models/nope/faults", hang, Optional.of(ADMIN)), 404)
            .contains("nope"));

    HttpResponse<String> injected = send("POST", faults, hang, Optional.of(ADMIN));
    assertEquals(200, injected.statusCode(), injected.body());
    assertEquals(1, Json.MAPPER.readTree(injected.body()).get("hang_calls").asInt());

    // m3's next call holds its thread: the schedule answers without it, every time
    String body = BearerAuthTest.infer();
    for (int i = 0; i < 30; i++) {
      HttpResponse<String> r = send("POST", "/v2/models/rendezvous/infer", body, Optional.empty());
      assertEquals(200, r.statusCode(), r.body());
    }
    JsonNode degraded = null;
    for (int i = 0; i < 100 && degraded == null; i++) {
      JsonNode r = ready();
      if (r.has("degraded") && r.get("degraded").has("m3@1")) {
        degraded = r;
      } else {
        Thread.sleep(50);
      }
    }
    assertTrue(degraded != null, "readiness never named m3 degraded");
    assertTrue(degraded.get("ready").asBoolean());
    assertEquals(1, degraded.get("figures").get("model_workers_hung.m3").asInt());
    assertEquals(1, degraded.get("figures").get("model_hung_total.m3").asInt());
    assertEquals(1, degraded.get("figures").get("model_workers_serving.m3").asInt());
    assertFalse(degraded.get("degraded").has("m1@1"), degraded.toString());

    // the replacement answers m3's own endpoint while the stuck call is still held
    for (int i = 0; i < 5; i++) {
      HttpResponse<String> r = send("POST", "/v2/models/m3/infer", body, Optional.empty());
      assertEquals(200, r.statusCode(), r.body());
    }

    // the call returns: its worker is retired and the node is whole
    JsonNode whole = null;
    for (int i = 0; i < 200 && whole == null; i++) {
      JsonNode r = ready();
      if (!r.has("degraded") && r.get("figures").get("model_workers_hung.m3").asInt() == 0) {
        whole = r;
      } else {
        Thread.sleep(50);
      }
    }
    assertTrue(whole != null, "m3 still degraded after its hung call returned");
    assertEquals(1, whole.get("figures").get("model_hung_total.m3").asInt());
  }
}
