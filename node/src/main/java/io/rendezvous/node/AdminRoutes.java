package io.rendezvous.node;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.workers.ModelPool;
import io.rendezvous.workers.WorkerDirectory;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's admin API, behind {@code rendezvous.auth.admin}'s bearer tokens. For now: {@code POST
 * /admin/models/{model}/faults} with {@code {"hang_calls": n, "hang_for_ms": t}} makes the next n
 * predict calls of this node's pool of that model hold their worker for t ms (chaos runs; the
 * watchdog's replacement is what they exercise). Off unless {@code
 * rendezvous.admin.fault-injection} is on: 403 with a JSON body otherwise.
 */
public final class AdminRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(AdminRoutes.class);

  /** Settings of the admin routes ({@code rendezvous.admin}). */
  public record Settings(boolean faultInjection, Duration askTimeout, long maxBodyBytes) {
    static Settings fromConfig(com.typesafe.config.Config root) {
      com.typesafe.config.Config c = root.getConfig("rendezvous.admin");
      return new Settings(
          c.getBoolean("fault-injection"), c.getDuration("ask-timeout"), c.getBytes("max-body"));
    }
  }

  private final ActorSystem<?> system;
  private final WorkerDirectory directory;
  private final BearerAuth auth;
  private final Settings settings;

  AdminRoutes(
      ActorSystem<?> system, WorkerDirectory directory, BearerAuth auth, Settings settings) {
    this.system = system;
    this.directory = directory;
    this.auth = auth;
    this.settings = settings;
  }

  public Route routes() {
    return pathPrefix(
        "admin",
        () ->
            pathPrefix(
                "models",
                () ->
                    pathPrefix(
                        model ->
                            path(
                                "faults",
                                () ->
                                    post(
                                        () ->
                                            auth.requireAdmin(
                                                org.apache.pekko.stream.Materializer.matFromSystem(
                                                    system),
                                                () ->
                                                    extractRequestEntity(
                                                        entity ->
                                                            completeWithFuture(
                                                                entity
                                                                    .toStrict(
                                                                        settings
                                                                            .askTimeout()
                                                                            .toMillis(),
                                                                        settings.maxBodyBytes(),
                                                                        system)
                                                                    .thenCompose(
                                                                        strict ->
                                                                            injectFault(
                                                                                model,
                                                                                strict.getData()))
                                                                    .exceptionally(
                                                                        e ->
                                                                            HttpJson.error(
                                                                                400,
                                                                                "could not read the body: "
                                                                                    + rootMessage(
                                                                                        e)))))))))));
  }

  private CompletionStage<HttpResponse> injectFault(String model, ByteString body) {
    if (!settings.faultInjection()) {
      return done(
          HttpJson.error(
              403, "fault injection is off on this node (rendezvous.admin.fault-injection)"));
    }
    Optional<ActorRef<ModelPool.Command>> pool = directory.local(model);
    if (pool.isEmpty()) {
      return done(
          HttpJson.error(
              404,
              "no pool of model '" + model + "' on this node; known: " + directory.available()));
    }
    JsonNode json;
    try {
      json = Json.MAPPER.readTree(body.toArray());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return done(HttpJson.error(400, "body is not JSON: " + e.getOriginalMessage()));
    } catch (java.io.IOException e) {
      return done(HttpJson.error(400, "body is not JSON: " + e.getMessage()));
    }
    if (json == null
        || !json.isObject()
        || !json.path("hang_calls").canConvertToInt()
        || !json.path("hang_for_ms").canConvertToLong()
        || !json.path("hang_calls").isIntegralNumber()
        || !json.path("hang_for_ms").isIntegralNumber()
        || json.get("hang_calls").asInt() < 0
        || json.get("hang_for_ms").asLong() < 0) {
      return done(
          HttpJson.error(
              400,
              "expected {\"hang_calls\": <calls, >= 0>, \"hang_for_ms\": <milliseconds, >= 0>}"));
    }
    int calls = json.get("hang_calls").asInt();
    long holdMillis = json.get("hang_for_ms").asLong();
    log.warn(
        "admin: fault injected into model {}: {} call(s) hold {} ms", model, calls, holdMillis);
    return AskPattern.<ModelPool.Command, ModelPool.HangInjected>ask(
            pool.get(),
            replyTo -> new ModelPool.InjectHang(calls, holdMillis, replyTo),
            settings.askTimeout(),
            system.scheduler())
        .thenApply(
            r ->
                HttpJson.response(
                    200,
                    Json.object()
                        .put("model", r.model())
                        .put("hang_calls", r.calls())
                        .put("hang_for_ms", r.holdMillis())))
        .exceptionally(e -> HttpJson.internalError(log, "fault injection into " + model, e));
  }

  private static CompletionStage<HttpResponse> done(HttpResponse r) {
    return java.util.concurrent.CompletableFuture.completedFuture(r);
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return String.valueOf(t.getMessage());
  }
}
