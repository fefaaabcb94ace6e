package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.workers.data.FashionMnist;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Slack slash commands against a real node: Slack's own test vector verifies; a bad or stale
 * signature is 401; /predict, /predict-rendezvous and /fix answer as Slack messages; an image URL
 * is fetched only from allowed hosts and never through a redirect to a loopback address, its result
 * posted to the response_url.
 */
class SlackTest {
  static final String SECRET = "test-signing-secret-91f3";
  @TempDir static Path dir;
  static TestNode node;
  static HttpServer images;
  static final BlockingQueue<String> posted = new LinkedBlockingQueue<>();
  static byte[] png;
  static final FashionMnist.Sample SAMPLE = FashionMnist.load().holdout().get(0);

  @BeforeAll
  static void start() throws Exception {
    png = png(SAMPLE);
    images = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    int port = images.getAddress().getPort();
    images.createContext(
        "/img.png",
        x -> {
          x.getResponseHeaders().add("Content-Type", "image/png");
          x.sendResponseHeaders(200, png.length);
          x.getResponseBody().write(png);
          x.close();
        });
    images.createContext(
        "/redirect",
        x -> {
          x.getResponseHeaders().add("Location", "http://localhost:" + port + "/img.png");
          x.sendResponseHeaders(302, -1);
          x.close();
        });
    images.createContext(
        "/hook",
        x -> {
          posted.add(new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
          x.sendResponseHeaders(200, -1);
          x.close();
        });
    images.start();
    node =
        TestNode.start(
            dir,
            String.join(
                "\n",
                "rendezvous.slack.signing-secret = \"" + SECRET + "\"",
                // 127.0.0.1 stands for an image store inside the network; localhost is allowed
                // as a name but, resolving to loopback, only as such a store could be
                "rendezvous.slack.images.allowed-hosts = [\"127.0.0.1\", \"localhost\"]",
                "rendezvous.slack.images.private-hosts = [\"127.0.0.1\"]",
                "rendezvous.slack.response-url.allowed-hosts = [\"127.0.0.1\"]",
                "rendezvous.slack.response-url.private-hosts = [\"127.0.0.1\"]"));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    images.stop(0);
  }

  static byte[] png(FashionMnist.Sample s) throws Exception {
    BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
    float[] x = s.scaled();
    for (int i = 0; i < 784; i++) {
      img.getRaster().setSample(i % 28, i / 28, 0, Math.round(x[i] * 255));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "png", out);
    return out.toByteArray();
  }

  static String form(String command, String text, String responseUrl) {
    return "token=ignored&team_id=T1&user_id=U7&user_name=ada&command="
        + URLEncoder.encode(command, StandardCharsets.UTF_8)
        + "&text="
        + URLEncoder.encode(text, StandardCharsets.UTF_8)
        + "&response_url="
        + URLEncoder.encode(responseUrl, StandardCharsets.UTF_8);
  }

  static HttpResponse<String> send(String body, long timestamp, String secret) throws Exception {
    byte[] raw = body.getBytes(StandardCharsets.UTF_8);
    String ts = Long.toString(timestamp);
    String sig =
        "v0=" + new SlackSignature(secret, Duration.ofMinutes(5), Clock.systemUTC()).sign(ts, raw);
    return node.http.send(
        HttpRequest.newBuilder(node.uri("/slack/commands"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Slack-Request-Timestamp", ts)
            .header("X-Slack-Signature", sig)
            .timeout(Duration.ofSeconds(30))
            .POST(HttpRequest.BodyPublishers.ofByteArray(raw))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> send(String body) throws Exception {
    return send(body, Instant.now().getEpochSecond(), SECRET);
  }

  static String hook() {
    return "http://127.0.0.1:" + images.getAddress().getPort() + "/hook";
  }

  @Test
  void slacksOwnTestVectorVerifies() {
    String body =
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
            + "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
            + "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
            + "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            + "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    String signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    Clock then = Clock.fixed(Instant.ofEpochSecond(1531420618), ZoneOffset.UTC);
    SlackSignature slack =
        new SlackSignature("8f742231b10e8888abcd99yyyzzz85a5", Duration.ofMinutes(5), then);
    byte[] raw = body.getBytes(StandardCharsets.UTF_8);
    assertNull(slack.problem(Optional.of("1531420618"), Optional.of(signature), raw));
    assertNotNull(
        slack.problem(
            Optional.of("1531420618"),
            Optional.of(signature),
            body.replace("roadrunner", "coyote").getBytes(StandardCharsets.UTF_8)),
        "a changed body");
    SlackSignature later =
        new SlackSignature(
            "8f742231b10e8888abcd99yyyzzz85a5",
            Duration.ofMinutes(5),
            Clock.offset(then, Duration.ofMinutes(6)));
    assertTrue(
        later
            .problem(Optional.of("1531420618"), Optional.of(signature), raw)
            .contains("more than 5 minutes"),
        "a replay six minutes later");
  }

  @Test
  void aBadOrStaleSignatureIs401() throws Exception {
    String body = form("/predict", "data:image/png;base64,AAAA", hook());
    HttpResponse<String> wrongSecret = send(body, Instant.now().getEpochSecond(), "not-the-secret");
    assertEquals(401, wrongSecret.statusCode(), wrongSecret.body());
    HttpResponse<String> stale = send(body, Instant.now().getEpochSecond() - 600, SECRET);
    assertEquals(401, stale.statusCode(), stale.body());
    assertTrue(stale.body().contains("minutes"), stale.body());
    HttpResponse<String> unsigned =
        node.post(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            body.getBytes(StandardCharsets.UTF_8));
    assertEquals(401, unsigned.statusCode(), unsigned.body());
  }

  @Test
  void predictThenFixFromSlack() throws Exception {
    String dataUrl = "data:image/png;base64," + Base64.getEncoder().encodeToString(png);
    HttpResponse<String> r = send(form("/predict", dataUrl, hook()));
    assertEquals(200, r.statusCode(), r.body());
    JsonNode message = Json.MAPPER.readTree(r.body());
    assertEquals("in_channel", message.get("response_type").asText());
    String text = message.get("text").asText();
    assertTrue(text.contains("/fix "), text);
    String id = text.substring(text.indexOf('`') + 1, text.indexOf('`', text.indexOf('`') + 1));

    HttpResponse<String> all = send(form("/predict-rendezvous", "<" + dataUrl + ">", hook()));
    String every = Json.MAPPER.readTree(all.body()).get("text").asText();
    for (String m : new String[] {"m1@", "m2@", "m3@"}) {
      assertTrue(every.contains(m), every);
    }

    HttpResponse<String> fix = send(form("/fix", id + " Ankle boot", hook()));
    assertEquals(200, fix.statusCode(), fix.body());
    assertTrue(fix.body().contains("Thanks"), fix.body());
    JournalRecord.Feedback f =
        FeedbackTest.feedbackRecords(node).stream()
            .filter(x -> x.requestId().equals(id))
            .findFirst()
            .orElseThrow();
    assertEquals("slack:T1:U7", f.source());
    assertEquals("Ankle boot", f.label());
    assertEquals("slack", f.input().source());
    HttpResponse<String> again = send(form("/fix", id + " Bag", hook()));
    assertTrue(again.body().contains("already corrected"), "one per user: " + again.body());
  }

  @Test
  void imageUrlsAreFetchedOnlyWhereAllowed() throws Exception {
    int port = images.getAddress().getPort();
    posted.clear();
    HttpResponse<String> ok =
        send(form("/predict", "http://127.0.0.1:" + port + "/img.png", hook()));
    assertEquals(200, ok.statusCode(), ok.body());
    assertTrue(ok.body().contains("Fetching"), ok.body());
    String result = posted.poll(30, TimeUnit.SECONDS);
    assertNotNull(result, "the result is posted to the response_url");
    assertTrue(result.contains("/fix "), result);

    send(form("/predict", "http://127.0.0.1:" + port + "/redirect", hook()));
    String redirected = posted.poll(30, TimeUnit.SECONDS);
    assertNotNull(redirected);
    assertTrue(redirected.contains("private or loopback"), redirected);

    send(form("/predict", "http://example.org/cat.png", hook()));
    String elsewhere = posted.poll(30, TimeUnit.SECONDS);
    assertNotNull(elsewhere);
    assertTrue(elsewhere.contains("allow-list"), elsewhere);

    send(form("/predict", "file:///etc/passwd", hook()));
    String file = posted.poll(30, TimeUnit.SECONDS);
    assertTrue(file.contains("only http and https"), file);
  }
}
