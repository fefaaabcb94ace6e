package io.rendezvous.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.CanaryComparison;
import io.rendezvous.actors.EndpointRegistry;
import io.rendezvous.actors.Endpoints;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.model.ModelStore;
import io.rendezvous.workers.ModelManager;
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
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's admin API, behind {@code rendezvous.auth.admin}'s bearer tokens (401 without):
 *
 * <ul>
 *   <li>{@code GET /admin/models}: every model version on this node, its state and accuracy;
 *   <li>{@code POST /admin/models/{name}/versions/{v}/load}: load a version from the model store,
 *       check it and serve it (200 when served, 422 with the reason when it failed its check);
 *   <li>{@code POST /admin/models/{name}/versions/{v}/retire}: stop serving it and close it;
 *   <li>{@code POST /admin/models/{model}/faults} with {@code {"hang_calls": n, "hang_for_ms": t}}:
 *       the next n predict calls of this node's pool of that model hold their thread for t ms
 *       (chaos runs); off unless {@code rendezvous.admin.fault-injection} is on (403 otherwise).
 * </ul>
 */
public final class AdminRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(AdminRoutes.class);

  /** Settings of the admin routes ({@code rendezvous.admin}). */
  public record Settings(
      boolean faultInjection,
      Duration askTimeout,
      Duration loadTimeout,
      long maxBodyBytes,
      long maxUploadBytes,
      ModelArchive.Limits archiveLimits,
      Duration requestTimeout) {
    static Settings fromConfig(com.typesafe.config.Config root) {
      com.typesafe.config.Config c = root.getConfig("rendezvous.admin");
      return new Settings(
          c.getBoolean("fault-injection"),
          c.getDuration("ask-timeout"),
          c.getDuration("load-timeout"),
          c.getBytes("max-body"),
          c.getBytes("max-upload"),
          new ModelArchive.Limits(c.getBytes("max-extracted"), c.getInt("max-upload-entries")),
          c.getDuration("request-timeout"));
    }
  }

  /** The node's parts the admin API works on. */
  record Parts(
      WorkerDirectory directory,
      ActorRef<ModelManager.Command> manager,
      Endpoints endpoints,
      ActorRef<EndpointRegistry.Command> registry,
      CanaryComparison canaries,
      io.rendezvous.actors.schedule.Rewards rewards,
      ModelStore store,
      RepositoryRoutes.ModelEndpoints modelEndpoints) {}

  private final ActorSystem<?> system;
  private final WorkerDirectory directory;
  private final ActorRef<ModelManager.Command> manager;
  private final Endpoints endpoints;
  private final ModelStore store;
  private final Parts parts;
  private final EndpointAdminRoutes endpointRoutes;
  private final RepositoryRoutes repositoryRoutes;
  private final java.util.concurrent.Executor blocking;
  private final BearerAuth auth;
  private final Settings settings;
  private final boolean loopbackOnly;

  /** {@code loopbackOnly}: the node's HTTP binds a loopback address (see {@link BearerAuth}). */
  private final ActorRef<ClusterModels.Command> clusterModels;

  /** {@code /admin/watch}: watching paused and resumed ({@link WatchRoutes#adminRoute}). */
  private final Route watchAdmin;

  AdminRoutes(
      ActorSystem<?> system,
      Parts parts,
      ActorRef<ClusterModels.Command> clusterModels,
      BearerAuth auth,
      Settings settings,
      boolean loopbackOnly,
      Route watchAdmin) {
    this.watchAdmin = watchAdmin;
    this.clusterModels = clusterModels;
    this.loopbackOnly = loopbackOnly;
    this.system = system;
    this.directory = parts.directory();
    this.manager = parts.manager();
    this.endpoints = parts.endpoints();
    this.store = parts.store();
    this.parts = parts;
    this.blocking =
        system
            .dispatchers()
            .lookup(
                org.apache.pekko.actor.typed.DispatcherSelector.fromConfig(
                    ModelManager.BLOCKING_DISPATCHER));
    this.endpointRoutes =
        new EndpointAdminRoutes(
            system,
            parts.endpoints(),
            clusterModels,
            parts.manager(),
            parts.canaries(),
            parts.rewards(),
            parts.store(),
            blocking,
            settings,
            this::withBody);
    this.repositoryRoutes =
        new RepositoryRoutes(
            system,
            parts,
            clusterModels,
            settings,
            blocking,
            parts.modelEndpoints(),
            this::withBody);
    this.auth = auth;
    this.settings = settings;
  }

  /** The model repository extension, which gRPC serves too. */
  RepositoryRoutes repository() {
    return repositoryRoutes;
  }

  /** Whether the admin API is open without tokens here (a loopback bind and no admin tokens). */
  boolean loopbackOnly() {
    return loopbackOnly;
  }

  public Route routes() {
    // a change waits for every node to apply it (loading and checking a version there): longer
    // than the server's request timeout allows a user's request
    return concat(
        pathPrefix(
            "admin",
            () ->
                withRequestTimeout(
                    settings.requestTimeout(),
                    () ->
                        auth.requireAdmin(
                            Materializer.matFromSystem(system),
                            loopbackOnly,
                            () ->
                                concat(
                                    pathPrefix("models", this::models),
                                    pathPrefix("endpoints", endpointRoutes::routes),
                                    watchAdmin,
                                    path(
                                        "cluster",
                                        () -> get(() -> completeWithFuture(cluster()))))))),
        pathPrefix(
            "v2",
            () ->
                pathPrefix(
                    "repository",
                    () ->
                        withRequestTimeout(
                            settings.requestTimeout(),
                            () ->
                                auth.requireAdmin(
                                    Materializer.matFromSystem(system),
                                    loopbackOnly,
                                    repositoryRoutes::routes)))));
  }

  /**
   * {@code GET /admin/cluster}: the cluster's desired model state (its generation and last change)
   * and the generation each Up node has applied: 200 when all stand there, 202 while some do not.
   */
  private CompletionStage<HttpResponse> cluster() {
    return AskPattern.<ClusterModels.Command, ClusterModels.Outcome>ask(
            clusterModels, ClusterModels.GetStatus::new, settings.askTimeout(), system.scheduler())
        .thenApply(
            o -> {
              ObjectNode body = Json.object();
              body.put("generation", o.generation());
              body.put("change", o.detail());
              body.put("applied_everywhere", o.status() == 200);
              body.set("nodes", EndpointAdminRoutes.nodes(o));
              return HttpJson.response(o.status(), body);
            })
        .exceptionally(e -> HttpJson.internalError(log, "reading the cluster's model state", e));
  }

  /** {@code handler} given the request's body as text, read up to {@code max-body} (413 past). */
  Route withBody(java.util.function.Function<String, CompletionStage<HttpResponse>> handler) {
    return StrictBody.route(
        system,
        settings.askTimeout(),
        settings.maxBodyBytes(),
        log,
        "an admin request",
        bytes -> handler.apply(new String(bytes, java.nio.charset.StandardCharsets.UTF_8)));
  }

  private Route models() {
    return concat(
        pathEnd(() -> get(() -> completeWithFuture(listVersions()))),
        pathPrefix(this::modelRoutes));
  }

  private Route modelRoutes(String model) {
    return concat(
        path("faults", () -> post(() -> faults(model))),
        path("versions", () -> post(() -> upload(model))),
        pathPrefix("versions", () -> pathPrefix(version -> versionRoutes(model, version))));
  }

  private Route versionRoutes(String model, String version) {
    return concat(
        path("load", () -> post(() -> withBody(body -> load(model, version, body)))),
        path("retire", () -> post(() -> completeWithFuture(retire(model, version)))));
  }

  private Route faults(String model) {
    return extractRequestEntity(
        entity ->
            completeWithFuture(
                entity
                    .toStrict(settings.askTimeout().toMillis(), settings.maxBodyBytes(), system)
                    .thenCompose(strict -> injectFault(model, strict.getData()))
                    .exceptionally(StrictBody::unreadable)));
  }

  private CompletionStage<HttpResponse> listVersions() {
    return AskPattern.<ModelManager.Command, ModelManager.Versions>ask(
            manager, ModelManager.ListVersions::new, settings.askTimeout(), system.scheduler())
        .thenApply(
            v -> {
              ObjectNode body = Json.object();
              ArrayNode list = body.putArray("versions");
              v.versions().forEach(s -> list.add(json(s)));
              return HttpJson.response(200, body);
            })
        .exceptionally(e -> HttpJson.internalError(log, "listing model versions", e));
  }

  private CompletionStage<HttpResponse> load(String model, String version) {
    return load(model, version, "");
  }

  /**
   * Loads a version; {@code body} may set its pool: {@code {"workers": n, "queue_capacity": n,
   * "max_batch_size": n, "max_batch_delay_ms": n}}.
   */
  private CompletionStage<HttpResponse> load(String model, String version, String body) {
    String bad = badVersion(model, version);
    if (bad != null) {
      return done(HttpJson.error(400, bad));
    }
    ModelManager.PoolOverrides pool;
    try {
      pool = poolOverrides(body);
    } catch (IllegalArgumentException e) {
      return done(HttpJson.error(400, e.getMessage()));
    }
    log.info("admin: load model {} version {}", model, version);
    return AskPattern.<ModelManager.Command, ModelManager.VersionState>ask(
            manager,
            replyTo -> new ModelManager.Load(model, version, pool, replyTo),
            settings.loadTimeout(),
            system.scheduler())
        .thenCompose(
            s -> {
              if (s.state() != ModelManager.State.READY) {
                // failed its check (or retiring): not served here, and so asked of no other node
                return done(
                    HttpJson.response(s.state() == ModelManager.State.FAILED ? 422 : 409, json(s)));
              }
              // checked here: now on every node of the cluster
              return AskPattern.<ClusterModels.Command, ClusterModels.Outcome>ask(
                      clusterModels,
                      replyTo -> new ClusterModels.LoadEverywhere(model, version, pool, replyTo),
                      settings.loadTimeout().multipliedBy(2),
                      system.scheduler())
                  .thenApply(
                      o -> {
                        ObjectNode answer = json(s);
                        if (o.status() / 100 != 2) {
                          answer.put("error", o.detail());
                        } else {
                          answer.set("nodes", EndpointAdminRoutes.nodes(o));
                        }
                        return HttpJson.response(o.status(), answer);
                      });
            })
        .exceptionally(e -> HttpJson.internalError(log, "loading " + model + " " + version, e));
  }

  /**
   * A SavedModel archive (tar.gz) as the next version of {@code model} in the store: 201 with the
   * version; {@code ?load=true} also loads and checks it (then 200 or 422 as load does).
   */
  private Route upload(String model) {
    return parameterOptional(
        "load",
        load ->
            extractRequestEntity(
                entity -> {
                  String bad = badName(model);
                  if (bad != null) {
                    entity.discardBytes(system);
                    return complete(HttpJson.error(400, bad));
                  }
                  java.io.InputStream in =
                      entity
                          .withSizeLimit(settings.maxUploadBytes())
                          .getDataBytes()
                          .runWith(
                              org.apache.pekko.stream.javadsl.StreamConverters.asInputStream(
                                  settings.loadTimeout()),
                              Materializer.matFromSystem(system));
                  CompletionStage<HttpResponse> installed =
                      java.util.concurrent.CompletableFuture.supplyAsync(
                              () -> install(model, in), blocking)
                          .thenCompose(
                              r ->
                                  r.version() != null && "true".equals(load.orElse(null))
                                      ? load(model, r.version())
                                      : done(r.response()));
                  return completeWithFuture(installed);
                }));
  }

  private record InstallResult(String version, HttpResponse response) {}

  /** Blocking: extracts and moves the archive in. */
  private InstallResult install(String model, java.io.InputStream in) {
    try (in) {
      ModelArchive.Installed v = ModelArchive.install(store, model, in, settings.archiveLimits());
      log.info("admin: model {} version {} uploaded to {}", model, v.version(), v.directory());
      ObjectNode o = Json.object();
      o.put("name", model);
      o.put("version", v.version());
      o.put("state", "stored");
      o.put("holdout_accuracy", v.metadata().holdoutAccuracy());
      o.put("content_hash", v.metadata().contentHash());
      return new InstallResult(v.version(), HttpJson.response(201, o));
    } catch (ModelArchive.Refused r) {
      log.info("admin: upload of model {} refused: {}", model, r.getMessage());
      return new InstallResult(null, HttpJson.error(400, r.getMessage()));
    } catch (java.io.IOException | RuntimeException e) {
      Throwable t = e;
      while (t.getCause() != null && !(t instanceof EntityStreamSizeException)) {
        t = t.getCause();
      }
      if (t instanceof EntityStreamSizeException) {
        return new InstallResult(null, StrictBody.unreadable(t));
      }
      return new InstallResult(
          null, HttpJson.internalError(log, "storing an upload of " + model, e));
    }
  }

  private CompletionStage<HttpResponse> retire(String model, String version) {
    String bad = badVersion(model, version);
    if (bad != null) {
      return done(HttpJson.error(400, bad));
    }
    log.info("admin: retire model {} version {}", model, version);
    // retired on every node, each once no endpoint of its names it
    return AskPattern.<ClusterModels.Command, ClusterModels.Outcome>ask(
            clusterModels,
            replyTo -> new ClusterModels.RetireEverywhere(model, version, replyTo),
            settings.loadTimeout().multipliedBy(2),
            system.scheduler())
        .thenApply(
            o -> {
              if (o.status() / 100 != 2) {
                return HttpJson.error(o.status(), o.detail());
              }
              ObjectNode body = Json.object();
              body.put("name", model);
              body.put("version", version);
              body.put("state", o.status() == 200 ? "retired" : "retiring");
              body.put("generation", o.generation());
              body.set("nodes", EndpointAdminRoutes.nodes(o));
              return HttpJson.response(o.status(), body);
            })
        .exceptionally(e -> HttpJson.internalError(log, "retiring " + model + " " + version, e));
  }

  static ModelManager.PoolOverrides poolOverrides(String body) {
    if (body == null || body.isBlank()) {
      return ModelManager.PoolOverrides.NONE;
    }
    JsonNode json;
    try {
      json = Json.MAPPER.readTree(body);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("body is not JSON: " + e.getOriginalMessage());
    }
    if (json == null || !json.isObject()) {
      throw new IllegalArgumentException("the body must be a JSON object");
    }
    java.util.Set<String> known =
        java.util.Set.of("workers", "queue_capacity", "max_batch_size", "max_batch_delay_ms");
    json.fieldNames()
        .forEachRemaining(
            f -> {
              if (!known.contains(f)) {
                throw new IllegalArgumentException(
                    "unknown pool setting '" + f + "'; known: " + new java.util.TreeSet<>(known));
              }
            });
    return new ModelManager.PoolOverrides(
        wholeNumber(json, "workers", 1),
        wholeNumber(json, "queue_capacity", 0),
        wholeNumber(json, "max_batch_size", 1),
        json.has("max_batch_delay_ms")
            ? Duration.ofMillis(wholeNumber(json, "max_batch_delay_ms", 0))
            : null);
  }

  private static Integer wholeNumber(JsonNode json, String field, int min) {
    if (!json.has(field)) {
      return null;
    }
    JsonNode v = json.get(field);
    if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min) {
      throw new IllegalArgumentException("\"" + field + "\" must be a whole number >= " + min);
    }
    return v.asInt();
  }

  private static String badName(String model) {
    try {
      ModelStore.checkName(model);
      return null;
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
  }

  private static String badVersion(String model, String version) {
    try {
      ModelStore.checkName(model);
      ModelStore.checkVersion(version);
      return null;
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
  }

  static ObjectNode json(ModelManager.VersionState s) {
    ObjectNode o = Json.object();
    o.put("name", s.name());
    o.put("version", s.version());
    o.put("state", s.state().name().toLowerCase(java.util.Locale.ROOT));
    o.put("detail", s.detail());
    if (!Double.isNaN(s.claimedAccuracy())) {
      o.put("holdout_accuracy", s.claimedAccuracy());
    }
    if (!Double.isNaN(s.measuredAccuracy())) {
      o.put("holdout_accuracy_measured", s.measuredAccuracy());
    }
    o.put("loaded_at_start", s.atStart());
    return o;
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
}
