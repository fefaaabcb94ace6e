package io.rendezvous.node;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.Endpoints;
import io.rendezvous.actors.Reply;
import io.rendezvous.actors.edge.InputDecoder;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.actors.edge.RendezvousClient;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Slack slash commands on {@code POST /slack/commands} (Slack's form-encoded body): {@code /predict
 * <image>} (the answer), {@code /predict-rendezvous <image>} (every model's score and the one
 * chosen, as {@code ?detail=all} shows), {@code /fix <request-id> <label>} (a correction, from
 * source {@code slack:<team>:<user>}). Every request is checked against the app's signing secret
 * over its raw bytes before anything is parsed ({@link SlackSignature}). An image is a {@code
 * data:} URL (answered at once) or an http(s) URL: that one is fetched through the {@link UrlGuard}
 * (allow-list, no private addresses, size cap, timeout), so the command is acknowledged at once and
 * the answer posted to the command's {@code response_url}, within Slack's 3 seconds either way.
 */
final class SlackRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(SlackRoutes.class);

  /** {@code rendezvous.slack}, read once. */
  record Settings(
      String signingSecret,
      Duration maxAge,
      long maxBody,
      Duration bodyTimeout,
      String endpoint,
      UrlGuard.Settings images,
      UrlGuard.Settings responseUrls) {
    static Settings fromConfig(Config root) {
      Config c = root.getConfig("rendezvous.slack");
      return new Settings(
          c.getString("signing-secret"),
          c.getDuration("max-age"),
          c.getBytes("max-body"),
          c.getDuration("body-timeout"),
          c.getString("endpoint"),
          guard(c.getConfig("images")),
          guard(c.getConfig("response-url")));
    }

    private static UrlGuard.Settings guard(Config c) {
      return new UrlGuard.Settings(
          c.getStringList("allowed-hosts"),
          c.getStringList("private-hosts"),
          c.getBytes("max-bytes"),
          c.getDuration("timeout"),
          c.getInt("max-redirects"));
    }
  }

  private final Settings settings;
  private final SlackSignature signature;
  private final UrlGuard images;
  private final UrlGuard responseUrls;
  private final InputDecoder decoder;
  private final RendezvousClient client;
  private final Endpoints endpoints;
  private final FeedbackClient feedback;
  private final ActorSystem<?> system;
  private final Executor blocking;

  SlackRoutes(
      Settings settings,
      Clock clock,
      InputDecoder decoder,
      RendezvousClient client,
      Endpoints endpoints,
      FeedbackClient feedback,
      ActorSystem<?> system,
      Executor blocking) {
    this.settings = settings;
    this.signature = new SlackSignature(settings.signingSecret(), settings.maxAge(), clock);
    this.images = new UrlGuard(settings.images());
    this.responseUrls = new UrlGuard(settings.responseUrls());
    this.decoder = decoder;
    this.client = client;
    this.endpoints = endpoints;
    this.feedback = feedback;
    this.system = system;
    this.blocking = blocking;
  }

  Route routes() {
    return pathPrefix(
        "slack",
        () ->
            path(
                "commands",
                () ->
                    post(
                        () ->
                            optionalHeaderValueByName(
                                "X-Slack-Request-Timestamp",
                                ts ->
                                    optionalHeaderValueByName(
                                        "X-Slack-Signature",
                                        sig ->
                                            StrictBody.route(
                                                system,
                                                settings.bodyTimeout(),
                                                settings.maxBody(),
                                                log,
                                                "a Slack command",
                                                raw -> command(ts, sig, raw)))))));
  }

  private static CompletionStage<HttpResponse> done(HttpResponse r) {
    return CompletableFuture.completedFuture(r);
  }

  private CompletionStage<HttpResponse> command(
      java.util.Optional<String> ts, java.util.Optional<String> sig, byte[] raw) {
    if (settings.signingSecret().isEmpty()) {
      return done(
          HttpJson.error(
              403,
              "Slack commands are off: this node has no signing secret (set"
                  + " rendezvous.slack.signing-secret or RENDEZVOUS_SLACK_SIGNING_SECRET)"));
    }
    // the signature covers the bytes as sent: checked before the form is parsed
    String problem = signature.problem(ts, sig, raw);
    if (problem != null) {
      return done(HttpJson.error(401, problem));
    }
    Map<String, String> form = form(raw);
    String command = form.getOrDefault("command", "").toLowerCase(Locale.ROOT);
    String text = form.getOrDefault("text", "").trim();
    String responseUrl = form.get("response_url");
    String source =
        "slack:" + form.getOrDefault("team_id", "") + ":" + form.getOrDefault("user_id", "");
    return switch (command) {
      case "/predict" -> predict(text, responseUrl, false);
      case "/predict-rendezvous" -> predict(text, responseUrl, true);
      case "/fix" -> fix(text, source);
      default ->
          done(
              message(
                  false,
                  "Unknown command '"
                      + command
                      + "': this app knows /predict <image>, /predict-rendezvous <image> and /fix"
                      + " <request-id> <label>"));
    };
  }

  /** Slack's form body, each value URL-decoded. */
  static Map<String, String> form(byte[] raw) {
    Map<String, String> out = new HashMap<>();
    for (String pair : new String(raw, StandardCharsets.UTF_8).split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String value =
          eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      out.put(key, value);
    }
    return out;
  }

  /** A Slack message: in the channel for everyone, or only for whoever typed the command. */
  static HttpResponse message(boolean inChannel, String text) {
    return HttpJson.response(200, messageJson(inChannel, text));
  }

  static ObjectNode messageJson(boolean inChannel, String text) {
    ObjectNode body = Json.object();
    body.put("response_type", inChannel ? "in_channel" : "ephemeral");
    body.put("text", text);
    return body;
  }

  private CompletionStage<HttpResponse> predict(String text, String responseUrl, boolean detail) {
    String image = unwrap(text);
    EndpointSettings endpoint = endpoints.get(settings.endpoint());
    if (image.isEmpty()) {
      return done(
          message(
              false,
              "Usage: "
                  + (detail ? "/predict-rendezvous" : "/predict")
                  + " <image URL or data:image/png;base64,...>"));
    }
    if (endpoint == null) {
      return done(message(false, "This server has no endpoint '" + settings.endpoint() + "'"));
    }
    if (image.startsWith("data:")) {
      byte[] bytes;
      try {
        bytes = dataUrl(image, settings.images().maxBytes());
      } catch (IllegalArgumentException bad) {
        return done(message(false, bad.getMessage()));
      }
      return score(endpoint, bytes, detail)
          .exceptionally(e -> messageJson(false, "Could not score the image: " + rootMessage(e)))
          .thenApply(m -> HttpJson.response(200, m));
    }
    if (responseUrl == null || responseUrl.isBlank()) {
      return done(message(false, "An image URL needs the command's response_url to answer to"));
    }
    // fetched and scored after Slack has its acknowledgement: a slow image host must not make
    // the command time out
    CompletableFuture.supplyAsync(
            () -> {
              try {
                return images.fetch(image);
              } catch (UrlGuard.Refused refused) {
                throw new java.util.concurrent.CompletionException(refused);
              }
            },
            blocking)
        .thenCompose(bytes -> score(endpoint, bytes, detail))
        .exceptionally(e -> messageJson(false, "Could not score " + image + ": " + rootMessage(e)))
        .thenAcceptAsync(m -> post(responseUrl, m), blocking);
    return done(message(false, "Fetching " + image + " ..."));
  }

  private void post(String responseUrl, ObjectNode message) {
    try {
      int status = responseUrls.postJson(responseUrl, Json.MAPPER.writeValueAsBytes(message));
      if (status / 100 != 2) {
        log.warn("slack: the response_url answered {} to a command's result", status);
      }
    } catch (UrlGuard.Refused refused) {
      log.warn("slack: a command's result was not posted: {}", refused.getMessage());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      log.error("slack: a command's result could not be written", e);
    }
  }

  private CompletionStage<ObjectNode> score(
      EndpointSettings endpoint, byte[] bytes, boolean detail) {
    return CompletableFuture.supplyAsync(
            () -> {
              try {
                return decoder.image(bytes, endpoint.input());
              } catch (io.rendezvous.actors.edge.InvalidInput bad) {
                throw new java.util.concurrent.CompletionException(bad);
              }
            },
            blocking)
        .thenCompose(
            tensor ->
                client.predict(
                    endpoint, List.of(tensor), null, "slack", InputDecoder.sha256(bytes), null))
        .thenApply(replies -> describe(replies.get(0), detail));
  }

  static ObjectNode describe(Reply reply, boolean detail) {
    if (!(reply instanceof Reply.Prediction p)) {
      Reply.Rejected r = (Reply.Rejected) reply;
      return messageJson(false, "No answer (" + r.status() + "): " + r.error());
    }
    StringBuilder text = new StringBuilder();
    text.append(
        String.format(
            Locale.ROOT,
            "*%s* (%.2f) from %s@%s, request `%s`",
            p.label(),
            p.probabilities()[p.labelIndex()],
            p.model(),
            p.version(),
            p.requestId()));
    if (detail) {
      text.append("\nEvery model, as the rendezvous saw them (stage ")
          .append(p.stage())
          .append(" chose):");
      for (Reply.ModelScore s : p.scores()) {
        text.append(
            String.format(
                Locale.ROOT,
                "\n• %s@%s: %s%s after %.1f ms",
                s.model(),
                s.version(),
                s.outcome(),
                s.label() == null
                    ? ""
                    : String.format(
                        Locale.ROOT, ", *%s* (%.2f)", s.label(), max(s.probabilities())),
                s.arrivalMicros() / 1000.0));
      }
    }
    text.append("\nWrong? /fix ").append(p.requestId()).append(" <label>");
    return messageJson(true, text.toString());
  }

  private static float max(float[] p) {
    float m = 0;
    for (float v : p == null ? new float[0] : p) {
      m = Math.max(m, v);
    }
    return m;
  }

  private CompletionStage<HttpResponse> fix(String text, String source) {
    if (feedback == null) {
      return done(message(false, "This server takes no corrections (rendezvous.feedback is off)"));
    }
    String[] parts = text.split("\\s+", 2);
    if (parts.length < 2 || parts[1].isBlank()) {
      return done(message(false, "Usage: /fix <request-id> <label>"));
    }
    String id = parts[0];
    String label = parts[1].trim();
    return feedback
        .submit(id, label, source, null)
        .thenApply(
            o -> {
              if (o.status() != 200) {
                return message(false, "Not taken (" + o.status() + "): " + o.error());
              }
              FeedbackKeeper.Taken t = (FeedbackKeeper.Taken) o.reply();
              return message(
                  true,
                  "Thanks: request `"
                      + t.requestId()
                      + "` is *"
                      + t.label()
                      + "*"
                      + (t.answered() == null
                          ? ""
                          : " (answered *" + t.answered() + "* by " + t.answeredBy() + ")")
                      + (t.duplicate() ? "; you had said so already" : ""));
            })
        .exceptionally(e -> HttpJson.internalError(log, "a Slack /fix", e));
  }

  /** Slack writes a URL in a message as {@code <url>} or {@code <url|text>}. */
  static String unwrap(String text) {
    String t = text.trim();
    if (t.startsWith("<") && t.endsWith(">")) {
      t = t.substring(1, t.length() - 1);
      int bar = t.indexOf('|');
      if (bar >= 0) {
        t = t.substring(0, bar);
      }
    }
    return t;
  }

  /** The bytes of a {@code data:image/...;base64,...} URL, at most {@code maxBytes}. */
  static byte[] dataUrl(String url, long maxBytes) {
    int comma = url.indexOf(',');
    if (comma < 0 || !url.substring(0, comma).toLowerCase(Locale.ROOT).endsWith(";base64")) {
      throw new IllegalArgumentException(
          "a data: URL here is data:image/png;base64,<base64> (or image/jpeg)");
    }
    String b64 = url.substring(comma + 1).replaceAll("\\s", "");
    if (b64.length() / 4L * 3 > maxBytes + 3) {
      throw new IllegalArgumentException("the image is larger than " + maxBytes + " bytes");
    }
    try {
      return Base64.getDecoder().decode(b64);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the data: URL is not valid base64");
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while ((t instanceof java.util.concurrent.CompletionException
            || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }
}
