package io.rendezvous.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.EndpointEdit;
import io.rendezvous.actors.EndpointRegistry;
import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.Endpoints;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.ModelRef;
import io.rendezvous.model.ModelStore;
import io.rendezvous.workers.ModelManager;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Open Inference Protocol's model repository extension, behind the admin tokens:
 *
 * <ul>
 *   <li>{@code POST /v2/repository/index}: every version in the model store with its state on this
 *       node ({@code READY}, {@code LOADING}, {@code UNAVAILABLE} with the reason); {@code
 *       {"ready": true}} lists the ready ones only;
 *   <li>{@code POST /v2/repository/models/{name}/load}: loads and checks the newest version (or
 *       {@code {"parameters": {"version": "2"}}}); a model without an endpoint of its name gets
 *       one, that version live, so {@code /v2/models/{name}/infer} serves it;
 *   <li>{@code POST /v2/repository/models/{name}/unload}: removes the model's own endpoint and
 *       retires its versions; refused (409) while another endpoint names the model.
 * </ul>
 */
final class RepositoryRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(RepositoryRoutes.class);

  private final ActorSystem<?> system;
  private final AdminRoutes.Parts parts;
  private final ActorRef<ClusterModels.Command> clusterModels;
  private final AdminRoutes.Settings settings;
  private final Executor blocking;
  private final ModelEndpoints modelEndpoints;
  private final Function<Function<String, CompletionStage<HttpResponse>>, Route> withBody;

  /** Makes the endpoint a model loaded at run time is served by under its own name. */
  @FunctionalInterface
  interface ModelEndpoints {
    EndpointSettings of(String name, String member, ModelMetadata metadata);
  }

  RepositoryRoutes(
      ActorSystem<?> system,
      AdminRoutes.Parts parts,
      ActorRef<ClusterModels.Command> clusterModels,
      AdminRoutes.Settings settings,
      Executor blocking,
      ModelEndpoints modelEndpoints,
      Function<Function<String, CompletionStage<HttpResponse>>, Route> withBody) {
    this.system = system;
    this.parts = parts;
    this.clusterModels = clusterModels;
    this.settings = settings;
    this.blocking = blocking;
    this.modelEndpoints = modelEndpoints;
    this.withBody = withBody;
  }

  Route routes() {
    return concat(
        path("index", () -> post(() -> withBody.apply(b -> http(indexOf(b))))),
        pathPrefix(
            "models",
            () ->
                pathPrefix(
                    name ->
                        concat(
                            path(
                                "load",
                                () -> post(() -> withBody.apply(b -> http(loadOf(name, b))))),
                            path(
                                "unload",
                                () -> post(() -> withBody.apply(b -> http(unload(name)))))))));
  }

  private static CompletionStage<HttpResponse> http(CompletionStage<JsonAnswer> answer) {
    return answer.thenApply(JsonAnswer::http);
  }

  private CompletionStage<JsonAnswer> indexOf(String body) {
    boolean readyOnly;
    try {
      readyOnly = object(body).path("ready").asBoolean(false);
    } catch (IllegalArgumentException bad) {
      return done(JsonAnswer.error(400, bad.getMessage()));
    }
    return index(readyOnly);
  }

  /**
   * Every version in the store and every loaded one, with its state on this node; {@code
   * readyOnly}: the ready ones only. The body is the index's array.
   */
  CompletionStage<JsonAnswer> index(boolean readyOnly) {
    CompletionStage<Map<String, List<String>>> stored =
        CompletableFuture.supplyAsync(this::storedVersions, blocking);
    return stored
        .thenCombine(versions(), (inStore, loaded) -> indexBody(inStore, loaded, readyOnly))
        .exceptionally(e -> JsonAnswer.internalError(log, "listing the model repository", e));
  }

  private Map<String, List<String>> storedVersions() {
    Map<String, List<String>> out = new LinkedHashMap<>();
    try {
      for (String name : parts.store().names()) {
        out.put(name, parts.store().versions(name));
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out;
  }

  private JsonAnswer indexBody(
      Map<String, List<String>> inStore, ModelManager.Versions loaded, boolean readyOnly) {
    Map<String, ModelManager.VersionState> byKey = new LinkedHashMap<>();
    loaded.versions().forEach(v -> byKey.put(ModelRef.of(v.name(), v.version()), v));
    List<String[]> rows = new ArrayList<>();
    inStore.forEach((name, versions) -> versions.forEach(v -> rows.add(new String[] {name, v})));
    // loaded but since removed from the store: still listed with its state
    byKey.values().stream()
        .filter(v -> !inStore.getOrDefault(v.name(), List.of()).contains(v.version()))
        .forEach(v -> rows.add(new String[] {v.name(), v.version()}));
    ArrayNode out = Json.MAPPER.createArrayNode();
    for (String[] row : rows) {
      ModelManager.VersionState s = byKey.get(ModelRef.of(row[0], row[1]));
      String state =
          s == null
              ? "UNAVAILABLE"
              : switch (s.state()) {
                case READY -> "READY";
                case LOADING -> "LOADING";
                case RETIRING -> "UNLOADING";
                default -> "UNAVAILABLE";
              };
      if (readyOnly && !"READY".equals(state)) {
        continue;
      }
      ObjectNode o = out.addObject();
      o.put("name", row[0]);
      o.put("version", row[1]);
      o.put("state", state);
      o.put(
          "reason",
          s == null
              ? "in the store, not loaded"
              : s.state() == ModelManager.State.READY ? "" : s.detail());
    }
    return new JsonAnswer(200, out);
  }

  private CompletionStage<JsonAnswer> loadOf(String name, String body) {
    String version;
    try {
      version = object(body).path("parameters").path("version").asText(null);
    } catch (IllegalArgumentException bad) {
      return done(JsonAnswer.error(400, bad.getMessage()));
    }
    return load(name, version);
  }

  /**
   * Loads and checks {@code version} of model {@code name} (null: the newest) on every node, and
   * serves it under its name if no endpoint has that name yet.
   */
  CompletionStage<JsonAnswer> load(String name, String version) {
    try {
      ModelStore.checkName(name);
      if (version != null) {
        ModelStore.checkVersion(version);
      }
    } catch (IllegalArgumentException bad) {
      return done(JsonAnswer.error(400, bad.getMessage()));
    }
    CompletionStage<Stored> resolved =
        CompletableFuture.supplyAsync(() -> resolve(name, version), blocking);
    return resolved.thenCompose(
        stored -> {
          if (stored.error() != null) {
            return done(JsonAnswer.error(404, stored.error()));
          }
          return AskPattern.<ModelManager.Command, ModelManager.VersionState>ask(
                  parts.manager(),
                  replyTo -> new ModelManager.Load(name, stored.version(), replyTo),
                  settings.loadTimeout(),
                  system.scheduler())
              .thenCompose(
                  s ->
                      s.state() != ModelManager.State.READY
                          ? done(
                              new JsonAnswer(
                                  s.state() == ModelManager.State.FAILED ? 422 : 409,
                                  AdminRoutes.json(s).put("error", s.detail())))
                          : ownEndpoint(name, stored));
        });
  }

  private record Stored(String version, ModelMetadata metadata, String error) {}

  /** Blocking: the version asked for, or the newest, and its metadata. */
  private Stored resolve(String name, String version) {
    try {
      java.nio.file.Path dir = parts.store().resolve(name, version == null ? "latest" : version);
      ModelMetadata m = ModelMetadata.read(dir);
      return new Stored(dir.getFileName().toString(), m, null);
    } catch (IOException | RuntimeException e) {
      return new Stored(null, null, e.getMessage());
    }
  }

  /** The model's own endpoint, made for it if it has none; what it serves is left as it is. */
  private CompletionStage<JsonAnswer> ownEndpoint(String name, Stored stored) {
    String member = ModelRef.of(name, stored.version());
    ObjectNode ok = Json.object().put("name", name).put("version", stored.version());
    if (parts.endpoints().current().byName().containsKey(name)) {
      ok.put("state", "READY");
      ok.put("endpoint", name);
      return done(new JsonAnswer(200, ok));
    }
    EndpointSettings e;
    try {
      e = modelEndpoints.of(name, member, stored.metadata());
    } catch (IllegalArgumentException bad) {
      return done(JsonAnswer.error(422, bad.getMessage()));
    }
    return change(name, EndpointEdit.put(e))
        .thenApply(
            c ->
                c.status() / 100 == 2
                    ? new JsonAnswer(
                        c.status(),
                        ok.put("state", "READY")
                            .put("endpoint", name)
                            .put("generation", c.generation()))
                    : JsonAnswer.error(c.status(), c.detail()));
  }

  /** Takes model {@code name}'s own endpoint away and retires its versions on every node. */
  CompletionStage<JsonAnswer> unload(String name) {
    try {
      ModelStore.checkName(name);
    } catch (IllegalArgumentException bad) {
      return done(JsonAnswer.error(400, bad.getMessage()));
    }
    for (EndpointSettings e : parts.endpoints().all().values()) {
      boolean names = e.models().stream().anyMatch(m -> ModelRef.parse(m).name().equals(name));
      if (names && !e.name().equals(name)) {
        return done(
            JsonAnswer.error(
                409,
                "endpoint "
                    + e.name()
                    + " names model "
                    + name
                    + " ("
                    + EndpointRegistry.describe(e)
                    + "); take it out of that endpoint first"));
      }
    }
    CompletionStage<ClusterModels.Outcome> removed =
        parts.endpoints().current().byName().containsKey(name)
            ? change(name, EndpointEdit.remove())
            : done(new ClusterModels.Outcome(200, "no endpoint", 0, null, Map.of()));
    return removed
        .thenCompose(
            c -> {
              if (c.status() / 100 != 2) {
                return done(JsonAnswer.error(c.status(), c.detail()));
              }
              return versions()
                  .thenCompose(
                      all -> {
                        // retired on every node, one version after the other, each outcome said
                        ObjectNode o = Json.object().put("name", name);
                        ArrayNode retired = o.putArray("retired");
                        CompletionStage<Void> chain = done(null);
                        for (ModelManager.VersionState v : all.versions()) {
                          if (v.name().equals(name) && v.state() == ModelManager.State.READY) {
                            chain =
                                chain
                                    .thenCompose(
                                        before ->
                                            AskPattern
                                                .<ClusterModels.Command, ClusterModels.Outcome>ask(
                                                    clusterModels,
                                                    replyTo ->
                                                        new ClusterModels.RetireEverywhere(
                                                            name, v.version(), replyTo),
                                                    settings.loadTimeout().multipliedBy(2),
                                                    system.scheduler()))
                                    .thenAccept(
                                        res ->
                                            retired.add(
                                                res.status() / 100 != 2
                                                    ? res.detail()
                                                    : res.status() == 200
                                                        ? "retired"
                                                        : "retiring"));
                          }
                        }
                        return chain.thenApply(ignored -> new JsonAnswer(200, o));
                      });
            })
        .exceptionally(e -> JsonAnswer.internalError(log, "unloading " + name, e));
  }

  private CompletionStage<ModelManager.Versions> versions() {
    return AskPattern.ask(
        parts.manager(), ModelManager.ListVersions::new, settings.askTimeout(), system.scheduler());
  }

  private CompletionStage<ClusterModels.Outcome> change(String name, EndpointEdit edit) {
    return AskPattern.ask(
        clusterModels,
        replyTo -> new ClusterModels.Edit(name, edit, replyTo),
        settings.loadTimeout().multipliedBy(2),
        system.scheduler());
  }

  private static JsonNode object(String body) {
    try {
      JsonNode json = Json.MAPPER.readTree(body == null || body.isBlank() ? "{}" : body);
      if (json == null || !json.isObject()) {
        throw new IllegalArgumentException("the body must be a JSON object");
      }
      return json;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("body is not JSON: " + e.getOriginalMessage());
    }
  }

  private static <T> CompletionStage<T> done(T r) {
    return CompletableFuture.completedFuture(r);
  }

  /** The endpoints, as {@link Endpoints} has them (for tests). */
  Endpoints endpoints() {
    return parts.endpoints();
  }
}
