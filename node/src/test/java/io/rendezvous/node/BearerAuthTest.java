package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rendezvous.actors.edge.Json;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
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

/** An endpoint with tokens refuses requests without one; the others stay open. */
class BearerAuthTest {
  @TempDir static Path dir;
  static TestNode node;
  static final HttpClient http = HttpClient.newHttpClient();
  static final String TOKEN = "m1-token-0f9e";

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start(dir, "rendezvous.auth.tokens.m1 = [\"" + TOKEN + "\", \"second-token\"]");
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  static String infer() {
    float[] pixels = FashionMnist.load().holdout().get(0).scaled();
    StringBuilder data = new StringBuilder();
    for (int i = 0; i < pixels.length; i++) {
      data.append(i == 0 ? "" : ",").append(pixels[i]);
    }
    return "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":["
        + data
        + "]}]}";
  }

  static HttpResponse<String> post(String path, String body, Optional<String> authorization)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(node.uri(path))
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(30))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    authorization.ifPresent(a -> b.header("Authorization", a));
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static void refused(HttpResponse<String> r) throws Exception {
    assertEquals(401, r.statusCode(), r.body());
    assertTrue(r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));
    String error = Json.MAPPER.readTree(r.body()).get("error").asText();
    assertTrue(error.contains("requires a bearer token"), error);
    assertFalse(r.body().contains(TOKEN), r.body());
  }

  @Test
  void anEndpointWithTokensRefusesRequestsWithoutOne() throws Exception {
    String body = infer();
    refused(post("/v2/models/m1/infer", body, Optional.empty()));
    refused(post("/v2/models/m1/infer", body, Optional.of("Bearer wrong")));
    refused(post("/v2/models/m1/infer", body, Optional.of("Basic " + TOKEN)));
    // a version of the model, by its route or by name, takes the model's tokens
    refused(post("/v2/models/m1/versions/1/infer", body, Optional.empty()));
    refused(post("/v2/models/m1@1/infer", body, Optional.empty()));
    refused(post("/predict?endpoint=m1@1", body, Optional.empty()));
    assertEquals(
        200,
        post("/v2/models/m1/versions/1/infer", body, Optional.of("Bearer " + TOKEN)).statusCode());
    refused(
        post(
            "/predict?endpoint=m1",
            HoldoutBodies.json(FashionMnist.load().holdout().get(0)),
            Optional.empty()));
    assertEquals(
        200, post("/v2/models/m1/infer", body, Optional.of("Bearer " + TOKEN)).statusCode());
    assertEquals(
        200, post("/v2/models/m1/infer", body, Optional.of("bearer second-token")).statusCode());
    // the other endpoints have no tokens: open
    assertEquals(200, post("/v2/models/m2/infer", body, Optional.empty()).statusCode());
    assertEquals(
        200,
        post("/predict", HoldoutBodies.json(FashionMnist.load().holdout().get(1)), Optional.empty())
            .statusCode());
    // nothing refused reached the journal: one input record per request served
    long inputs =
        node.journal().stream()
            .filter(r -> r instanceof io.rendezvous.journal.JournalRecord.Input)
            .filter(r -> !io.rendezvous.actors.edge.RequestIds.isWarmUp(r.requestId()))
            .count();
    // four here, and the versioned route's answered request above
    assertEquals(5, inputs);
  }

  @Test
  void faultInjectionIsOffByDefault() throws Exception {
    HttpResponse<String> r =
        post("/admin/models/m3/faults", "{\"hang_calls\":1,\"hang_for_ms\":1}", Optional.empty());
    assertEquals(403, r.statusCode(), r.body());
    assertTrue(Json.MAPPER.readTree(r.body()).get("error").asText().contains("fault-injection"));
  }
}
