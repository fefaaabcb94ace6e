package io.rendezvous.node.freshness;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.node.HttpJson;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * {@code GET /admin/freshness}: the trainer's state (on whichever node it runs), each model's
 * phase, its candidate and what judged it, the last training's figures and the story so far. {@code
 * POST /admin/freshness/{model}/train} trains now ({@code {"shuffle_labels": true}}: a deliberately
 * bad version, through the same checks). Behind the admin API's tokens.
 */
public final class FreshnessRoutes extends AllDirectives {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(FreshnessRoutes.class);

  private final ActorSystem<?> system;
  private final ActorRef<Freshness.Command> trainer;
  private final String off;
  private final Duration timeout;

  /** {@code trainer} null: the trainer is off, for the reason {@code off}. */
  public FreshnessRoutes(
      ActorSystem<?> system, ActorRef<Freshness.Command> trainer, String off, Duration timeout) {
    this.system = system;
    this.trainer = trainer;
    this.off = off;
    this.timeout = timeout;
  }

  public Route adminRoute() {
    return pathPrefix(
        "freshness",
        () ->
            concat(
                pathEnd(() -> get(() -> completeWithFuture(status()))),
                pathPrefix(
                    segment ->
                        path(
                            "train",
                            () ->
                                post(
                                    () ->
                                        entity(
                                            Unmarshaller.entityToString(),
                                            body -> completeWithFuture(train(segment, body))))))));
  }

  private CompletionStage<HttpResponse> status() {
    if (trainer == null) {
      return done(HttpJson.error(503, "the freshness trainer is off: " + off));
    }
    return AskPattern.<Freshness.Command, Freshness.Status>ask(
            trainer, Freshness.GetStatus::new, timeout, system.scheduler())
        .thenApply(
            s -> {
              try {
                return HttpJson.response(200, Json.MAPPER.readTree(s.json()));
              } catch (java.io.IOException e) {
                return HttpJson.internalError(log, "reading the trainer's state", e);
              }
            })
        .exceptionally(
            e ->
                HttpJson.error(
                    503,
                    "the freshness trainer did not answer within " + timeout.toSeconds() + " s"));
  }

  private CompletionStage<HttpResponse> train(String model, String body) {
    if (trainer == null) {
      return done(HttpJson.error(503, "the freshness trainer is off: " + off));
    }
    boolean shuffle;
    try {
      JsonNode json = body == null || body.isBlank() ? Json.object() : Json.MAPPER.readTree(body);
      if (json == null || !json.isObject()) {
        return done(HttpJson.error(400, "the body must be a JSON object"));
      }
      JsonNode s = json.path("shuffle_labels");
      if (!s.isMissingNode() && !s.isBoolean()) {
        return done(HttpJson.error(400, "\"shuffle_labels\" must be true or false"));
      }
      shuffle = s.asBoolean(false);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return done(HttpJson.error(400, "body is not JSON: " + e.getOriginalMessage()));
    }
    return AskPattern.<Freshness.Command, Freshness.Accepted>ask(
            trainer,
            replyTo -> new Freshness.TrainNow(model, shuffle, replyTo),
            timeout,
            system.scheduler())
        .thenApply(
            a ->
                a.status() / 100 == 2
                    ? HttpJson.response(a.status(), Json.object().put("detail", a.detail()))
                    : HttpJson.error(a.status(), a.detail()))
        .exceptionally(
            e ->
                HttpJson.error(
                    503,
                    "the freshness trainer did not answer within " + timeout.toSeconds() + " s"));
  }

  private static CompletionStage<HttpResponse> done(HttpResponse r) {
    return java.util.concurrent.CompletableFuture.completedFuture(r);
  }
}
