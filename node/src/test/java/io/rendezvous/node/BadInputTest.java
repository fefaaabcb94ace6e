package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.HoldoutBodies;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every kind of bad input gets its 4xx and a JSON error; none reaches a model or the journal. */
class BadInputTest {
  @TempDir static Path dir;
  static TestNode node;
  static final org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit kit =
      org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit.create();

  @BeforeAll
  static void start() throws Exception {
    // two routes that fail inside the server: one through the edge, one in the route itself
    RouteExtension failing =
        parts ->
            org.apache.pekko.http.javadsl.server.Directives.concat(
                org.apache.pekko.http.javadsl.server.Directives.path(
                    "test-fail-in-edge",
                    () ->
                        org.apache.pekko.http.javadsl.server.Directives.onSuccess(
                            parts
                                .edge()
                                .admit(
                                    "the failing route",
                                    () -> {
                                      throw new IllegalStateException(SECRET);
                                    }),
                            org.apache.pekko.http.javadsl.server.Directives::complete)),
                org.apache.pekko.http.javadsl.server.Directives.path(
                    "test-fail-in-route",
                    () ->
                        org.apache.pekko.http.javadsl.server.Directives.extractRequest(
                            r -> {
                              throw new IllegalStateException(SECRET);
                            })));
    node =
        TestNode.start(
            dir,
            "rendezvous.http.max-instances = 4\nrendezvous.http.max-image-side = 1000",
            java.util.List.of(failing));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    kit.shutdownTestKit();
  }

  static String values(int n, String v) {
    return IntStream.range(0, n).mapToObj(i -> v).collect(Collectors.joining(","));
  }

  static String instance(String values) {
    return "{\"instances\":[[" + values + "]]}";
  }

  void expect(int status, String fragment, HttpResponse<String> r) throws Exception {
    assertEquals(status, r.statusCode(), r.body());
    assertTrue(
        r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"),
        r.headers().toString());
    JsonNode body = Json.MAPPER.readTree(r.body());
    String error = body.get("error").asText();
    assertTrue(error.contains(fragment), "'" + error + "' should mention '" + fragment + "'");
  }

  HttpResponse<String> json(String path, String body) throws Exception {
    return node.post(path, "application/json", body.getBytes(StandardCharsets.UTF_8));
  }

  static final String SECRET = "secret detail of /etc/rendezvous/keystore.p12";

  @Test
  void aFailureInsideTheServerIsA500WithAnErrorIdAndNoInternals() throws Exception {
    for (String path : new String[] {"/test-fail-in-edge", "/test-fail-in-route"}) {
      HttpResponse<String> r = node.get(path);
      assertEquals(500, r.statusCode(), r.body());
      assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
      JsonNode body = Json.MAPPER.readTree(r.body());
      assertTrue(body.get("error_id").asText().matches("[0-9a-f]+"), r.body());
      assertTrue(body.get("error").asText().contains(body.get("error_id").asText()), r.body());
      assertFalse(r.body().contains("secret"), r.body());
      assertFalse(r.body().contains("IllegalStateException"), r.body());
    }
  }

  /** Sends {@code raw} bytes as they are; returns the response's head and its body. */
  String[] raw(String raw) throws Exception {
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", node.node.httpPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      java.io.InputStream in = s.getInputStream();
      java.io.ByteArrayOutputStream head = new java.io.ByteArrayOutputStream();
      while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
        head.write(in.read());
      }
      String h = head.toString(StandardCharsets.ISO_8859_1);
      java.util.regex.Matcher m =
          java.util.regex.Pattern.compile("(?i)content-length: (\\d+)").matcher(h);
      byte[] body = m.find() ? in.readNBytes(Integer.parseInt(m.group(1))) : new byte[0];
      return new String[] {h, new String(body, StandardCharsets.UTF_8)};
    }
  }

  @Test
  void aRequestPekkoCannotParseGetsAJsonError() throws Exception {
    for (String bad :
        new String[] {
          // a control character in a header value
          "GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n",
          // a request line with a space too many (Pekko would answer 505 for its "version")
          "GET /v2/health live HTTP/1.1\r\nHost: x\r\n\r\n"
        }) {
      String[] response = raw(bad);
      assertTrue(response[0].startsWith("HTTP/1.1 400"), response[0]);
      assertTrue(response[0].contains("Content-Type: application/json"), response[0]);
      assertTrue(
          Json.MAPPER
              .readTree(response[1])
              .get("error")
              .asText()
              .startsWith("request could not be parsed"),
          response[1]);
    }
  }

  @Test
  void everyBadInputIsAClientErrorAndNothingReachesTheJournal() throws Exception {
    expect(400, "has 2 values", json("/predict", instance("0.1,0.2")));
    expect(400, "has 785 values", json("/predict", instance(values(785, "0"))));
    expect(400, "non-number", json("/predict", instance(values(783, "0") + ",\"x\"")));
    expect(400, "non-number", json("/predict", instance(values(783, "0") + ",null")));
    expect(400, "not valid JSON", json("/predict", instance(values(783, "0") + ",NaN")));
    expect(400, "not valid JSON", json("/predict", instance(values(783, "0") + ",Infinity")));
    expect(400, "not a finite float32", json("/predict", instance(values(783, "0") + ",1e999")));
    expect(400, "not a finite float32", json("/predict", instance(values(783, "0") + ",1e39")));
    expect(400, "body is empty", json("/predict", ""));
    expect(400, "not valid JSON", json("/predict", "{\"instances\": [[1,2"));
    expect(400, "\"instances\" array", json("/predict", "{\"inputs\": []}"));
    expect(400, "no instances", json("/predict", "{\"instances\": []}"));
    expect(400, "\"instances\" array", json("/predict", "{\"instances\": 5}"));
    expect(400, "must be a JSON object", json("/predict", "[[1,2]]"));
    expect(400, "must be an array of numbers", json("/predict", "{\"instances\": [7]}"));
    expect(400, "non-number", json("/predict", instance(values(783, "0") + ",{\"a\":1}")));
    expect(400, "content after", json("/predict", instance(values(784, "0")) + " {}"));
    expect(
        413,
        "limit is 4",
        json(
            "/predict",
            "{\"instances\":["
                + String.join(",", java.util.Collections.nCopies(5, "[" + values(784, "0") + "]"))
                + "]}"));
    expect(
        400,
        "not an image",
        node.post("/predict", "image/png", "not a png".getBytes(StandardCharsets.UTF_8)));
    expect(400, "body is empty", node.post("/predict", "image/jpeg", new byte[0]));
    byte[] png = HoldoutBodies.png(FashionMnist.load().holdout().get(0));
    expect(
        400,
        "cannot be decoded",
        node.post("/predict", "image/png", Arrays.copyOf(png, png.length / 2)));
    expect(413, "limit is 1000 per side", node.post("/predict", "image/png", bigPng(1200, 10)));
    expect(
        415,
        "not supported",
        node.post("/predict", "text/plain", "hello".getBytes(StandardCharsets.UTF_8)));
    expect(415, "not supported", node.post("/predict", "application/octet-stream", new byte[10]));
    expect(
        413,
        "over the limit",
        node.post("/predict", "application/json", new byte[1024 * 1024 + 1]));
    expect(404, "no endpoint 'nope'", json("/predict?endpoint=nope", instance(values(784, "0"))));
    expect(404, "no model or endpoint 'nope'", json("/v2/models/nope/infer", "{}"));
    expect(404, "no model or endpoint 'nope'", node.get("/v2/models/nope"));
    expect(404, "could not be found", node.get("/nothing-here"));
    expect(405, "supported methods: POST", node.get("/predict"));

    HttpResponse<String> badId =
        node.http.send(
            HttpRequest.newBuilder(node.uri("/predict"))
                .header("Content-Type", "application/json")
                .header("X-Request-Id", "has spaces and ;")
                .POST(HttpRequest.BodyPublishers.ofString(instance(values(784, "0"))))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    expect(400, "client request id", badId);

    String oip =
        "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"%s\",\"data\":["
            + values(784, "0")
            + "]}]}";
    expect(
        400,
        "datatype INT8 is not supported",
        json("/v2/models/m1/infer", String.format(oip, "INT8")));
    expect(
        400,
        "needs 1568",
        json("/v2/models/m1/infer", String.format(oip, "FP32").replace("[1,784]", "[2,784]")));
    expect(
        400,
        "does not fit",
        json("/v2/models/m1/infer", String.format(oip, "FP32").replace("[1,784]", "[1,783]")));
    expect(
        400,
        "named \"x\"",
        json("/v2/models/m1/infer", String.format(oip, "FP32").replace("\"input\"", "\"x\"")));
    expect(
        400,
        "exactly one tensor",
        json(
            "/v2/models/m1/infer",
            "{\"inputs\":["
                + String.format(oip, "FP32").substring(11, String.format(oip, "FP32").length() - 2)
                + ",{}]}"));
    expect(400, "exactly one tensor", json("/v2/models/m1/infer", "{\"inputs\":{}}"));
    expect(
        400,
        "positive integers",
        json("/v2/models/m1/infer", String.format(oip, "FP32").replace("[1,784]", "[1.5,784]")));
    expect(
        400,
        "\"data\" must be an array",
        json(
            "/v2/models/m1/infer",
            String.format(oip, "FP32").replace("\"data\":[", "\"data\":7,\"x\":[")));
    expect(
        400,
        "\"id\" must be a string",
        json("/v2/models/m1/infer", "{\"id\":5," + String.format(oip, "FP32").substring(1)));

    // the node still serves good input; once that request's five records are in, the journal holds
    // nothing else: none of the above reached a model
    HttpResponse<String> good = json("/predict", instance(values(784, "0.5")));
    assertEquals(200, good.statusCode());
    String id =
        Json.MAPPER.readTree(good.body()).get("predictions").get(0).get("request_id").asText();
    org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<Object> wait = kit.createTestProbe();
    wait.awaitAssert(
        java.time.Duration.ofSeconds(10),
        () -> {
          assertEquals(5, node.requestRecords().size());
          return null;
        });
    assertTrue(node.requestRecords().stream().allMatch(r -> r.requestId().equals(id)));
  }

  static byte[] bigPng(int w, int h) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY), "png", out);
    return out.toByteArray();
  }
}
