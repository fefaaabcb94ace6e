package io.rendezvous.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import io.rendezvous.actors.edge.Json;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /feedback} and {@code POST /v2/models/{endpoint}/feedback}: "that answer was wrong,
 * it is X". The body names the request ({@code request_id}, as the answer gave it), the true {@code
 * label} (a label of the endpoint, or its index) and optionally who says so ({@code source}; one
 * correction per request and source). Behind {@code rendezvous.auth.feedback}'s tokens: whoever can
 * write feedback can steer what the models are retrained on.
 */
final class FeedbackRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(FeedbackRoutes.class);

  /** Who said it: a short name of letters, digits and {@code :._@/-}. */
  static final Pattern SOURCE = Pattern.compile("[A-Za-z0-9:._@/-]{1,128}");

  /** {@code rendezvous.feedback}, read once. */
  record Settings(
      boolean enabled, Duration askTimeout, long maxBodyBytes, Path ledger, String defaultSource) {
    static Settings fromConfig(Config root) {
      Config c = root.getConfig("rendezvous.feedback");
      Settings s =
          new Settings(
              c.getBoolean("enabled"),
              c.getDuration("ask-timeout"),
              c.getBytes("max-body"),
              Path.of(c.getString("ledger")),
              c.getString("default-source"));
      if (!SOURCE.matcher(s.defaultSource).matches()) {
        throw new IllegalArgumentException(
            "rendezvous.feedback.default-source: letters, digits and :._@/- (1 to 128)");
      }
      return s;
    }
  }

  private final FeedbackClient client;
  private final BearerAuth auth;
  private final Settings settings;
  private final ActorSystem<?> system;
  private final boolean loopbackOnly;

  FeedbackRoutes(
      FeedbackClient client,
      BearerAuth auth,
      Settings settings,
      ActorSystem<?> system,
      boolean loopbackOnly) {
    this.client = client;
    this.auth = auth;
    this.settings = settings;
    this.system = system;
    this.loopbackOnly = loopbackOnly;
  }

  Route routes() {
    Materializer mat = Materializer.matFromSystem(system);
    return concat(
        path(
            "feedback",
            () -> post(() -> auth.requireFeedback(mat, loopbackOnly, () -> withBody(null)))),
        pathPrefix(
            "v2",
            () ->
                pathPrefix(
                    "models",
                    () ->
                        pathPrefix(
                            endpoint ->
                                path(
                                    "feedback",
                                    () ->
                                        post(
                                            () ->
                                                auth.requireFeedback(
                                                    mat,
                                                    loopbackOnly,
                                                    () -> withBody(endpoint))))))));
  }

  private Route withBody(String endpoint) {
    return StrictBody.route(
        system,
        settings.askTimeout(),
        settings.maxBodyBytes(),
        log,
        "a correction",
        body -> submit(endpoint, body));
  }

  /** A correction as the client wrote it, checked; or why it is refused. */
  record Correction(String requestId, String label, String source, String problem) {}

  static Correction parse(byte[] body, String defaultSource) {
    JsonNode json;
    try {
      json = Json.MAPPER.readTree(body);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return refused("the body is not JSON: " + e.getOriginalMessage());
    } catch (java.io.IOException e) {
      return refused("the body could not be read: " + e.getMessage());
    }
    if (json == null || !json.isObject()) {
      return refused(
          "the body must be a JSON object: {\"request_id\": \"...\", \"label\": \"...\"}");
    }
    JsonNode id = json.has("request_id") ? json.get("request_id") : json.get("id");
    if (id == null || !id.isTextual() || id.asText().isBlank()) {
      return refused("request_id is required: the request id an answer gave (a string)");
    }
    JsonNode label = json.get("label");
    if (label == null
        || !(label.isTextual() || label.isIntegralNumber())
        || label.asText().isBlank()) {
      return refused("label is required: the true label (a string) or its index (an integer)");
    }
    if (label.asText().length() > 256) {
      return refused("label is longer than 256 characters");
    }
    String source = defaultSource;
    JsonNode s = json.get("source");
    if (s != null && !s.isNull()) {
      if (!s.isTextual() || !SOURCE.matcher(s.asText()).matches()) {
        return refused("source must be 1 to 128 letters, digits or :._@/- (who gives the label)");
      }
      source = s.asText();
    }
    return new Correction(id.asText().trim(), label.asText().trim(), source, null);
  }

  private static Correction refused(String why) {
    return new Correction(null, null, null, why);
  }

  private CompletionStage<HttpResponse> submit(String endpoint, byte[] body) {
    Correction c = parse(body, settings.defaultSource());
    if (c.problem() != null) {
      return CompletableFuture.completedFuture(HttpJson.error(400, c.problem()));
    }
    return client
        .submit(c.requestId(), c.label(), c.source(), endpoint)
        .thenApply(FeedbackRoutes::response)
        .exceptionally(e -> HttpJson.internalError(log, "feedback on request " + c.requestId(), e));
  }

  static HttpResponse response(FeedbackClient.Outcome o) {
    if (o.status() != 200) {
      return HttpJson.error(o.status(), o.error());
    }
    return HttpJson.response(200, json((FeedbackKeeper.Taken) o.reply()));
  }

  static ObjectNode json(FeedbackKeeper.Taken t) {
    ObjectNode body = Json.object();
    body.put("request_id", t.requestId());
    body.put("endpoint", t.endpoint());
    body.put("label", t.label());
    body.put("label_index", t.labelIndex());
    if (t.answered() != null) {
      ObjectNode answered = body.putObject("answered");
      answered.put("label", t.answered());
      answered.put("by", t.answeredBy());
      body.put("answer_was_right", t.answered().equals(t.label()));
    }
    body.put("scores", t.scores());
    body.put("joined_on", t.node());
    body.put("duplicate", t.duplicate());
    return body;
  }
}
