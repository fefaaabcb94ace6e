package io.rendezvous.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.CanaryComparison;
import io.rendezvous.actors.EndpointEdit;
import io.rendezvous.actors.EndpointRegistry;
import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.EndpointSettings.Role;
import io.rendezvous.actors.EndpointSettings.Stage;
import io.rendezvous.actors.Endpoints;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.actors.schedule.DecisionPolicies;
import io.rendezvous.actors.schedule.DecisionPolicy;
import io.rendezvous.model.ModelRef;
import io.rendezvous.workers.ModelManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
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
 * The admin API's endpoints ({@code /admin/endpoints}, behind the admin tokens): what each endpoint
 * is made of and how its canary compares, and every change to it, each published as a new
 * generation of the node's endpoint table by {@link EndpointRegistry}:
 *
 * <ul>
 *   <li>{@code GET /admin/endpoints}, {@code GET /admin/endpoints/{e}};
 *   <li>{@code PUT /admin/endpoints/{e}}: create or replace, {@code {"models": [{"model": "m3@2",
 *       "role": "live", "after_ms": 0}, ...], "policy": ..., "sla_ms": ..., "like": "rendezvous"}}
 *       (input, labels and timings not given come from {@code like}, or the endpoint itself);
 *   <li>{@code DELETE /admin/endpoints/{e}};
 *   <li>{@code PUT /admin/endpoints/{e}/models/{model}} with {@code {"role": "shadow"}} (or {@code
 *       canary}, or {@code live} with {@code after_ms}), {@code DELETE} to take it out;
 *   <li>{@code POST /admin/endpoints/{e}/promote} and {@code .../demote} with {@code {"model":
 *       "m3@2"}};
 *   <li>{@code PUT /admin/endpoints/{e}/policy} with {@code {"policy": "highest-confidence"}}.
 * </ul>
 *
 * A version an endpoint names that this node has not loaded is loaded and checked first (a new
 * endpoint's versions go live once they pass); one that fails its check is 422 and the endpoint
 * does not change.
 */
final class EndpointAdminRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(EndpointAdminRoutes.class);

  private final ActorSystem<?> system;
  private final Endpoints endpoints;
  private final ActorRef<ClusterModels.Command> clusterModels;
  private final ActorRef<ModelManager.Command> manager;
  private final CanaryComparison canaries;
  private final io.rendezvous.actors.schedule.Rewards rewards;
  private final io.rendezvous.model.ModelStore store;
  private final java.util.concurrent.Executor blocking;
  private final AdminRoutes.Settings settings;
  private final Function<Function<String, CompletionStage<HttpResponse>>, Route> withBody;

  EndpointAdminRoutes(
      ActorSystem<?> system,
      Endpoints endpoints,
      ActorRef<ClusterModels.Command> clusterModels,
      ActorRef<ModelManager.Command> manager,
      CanaryComparison canaries,
      io.rendezvous.actors.schedule.Rewards rewards,
      io.rendezvous.model.ModelStore store,
      java.util.concurrent.Executor blocking,
      AdminRoutes.Settings settings,
      Function<Function<String, CompletionStage<HttpResponse>>, Route> withBody) {
    this.system = system;
    this.endpoints = endpoints;
    this.clusterModels = clusterModels;
    this.manager = manager;
    this.canaries = canaries;
    this.rewards = rewards;
    this.store = store;
    this.blocking = blocking;
    this.settings = settings;
    this.withBody = withBody;
  }

  Route routes() {
    return concat(
        pathEnd(() -> get(() -> complete(list()))),
        pathPrefix(
            name ->
                concat(
                    pathEnd(
                        () ->
                            concat(
                                get(() -> complete(one(name))),
                                put(() -> withBody.apply(body -> put(name, body))),
                                delete(
                                    () ->
                                        completeWithFuture(change(name, EndpointEdit.remove()))))),
                    path("policy", () -> put(() -> withBody.apply(body -> policy(name, body)))),
                    path(
                        "promote",
                        () ->
                            post(
                                () ->
                                    withBody.apply(
                                        body -> memberEdit(name, body, EndpointEdit::promote)))),
                    path(
                        "demote",
                        () ->
                            post(
                                () ->
                                    withBody.apply(
                                        body -> memberEdit(name, body, EndpointEdit::demote)))),
                    pathPrefix(
                        "models",
                        () ->
                            path(
                                member ->
                                    concat(
                                        put(() -> withBody.apply(body -> role(name, member, body))),
                                        delete(
                                            () ->
                                                completeWithFuture(
                                                    change(
                                                        name,
                                                        EndpointEdit.removeMember(member))))))))));
  }

  private HttpResponse list() {
    Endpoints.Table t = endpoints.current();
    ObjectNode o = Json.object();
    o.put("generation", t.generation());
    ArrayNode list = o.putArray("endpoints");
    t.byName().keySet().stream().sorted().forEach(n -> list.add(json(t.byName().get(n))));
    return HttpJson.response(200, o);
  }

  private HttpResponse one(String name) {
    EndpointSettings e = endpoints.current().byName().get(name);
    return e == null
        ? HttpJson.error(404, "no endpoint '" + name + "'; known: " + endpoints.names())
        : HttpJson.response(200, json(e));
  }

  ObjectNode json(EndpointSettings e) {
    ObjectNode o = Json.object();
    o.put("name", e.name());
    o.put("generation", e.generation());
    o.put("policy", e.policy().name());
    o.put("sla_ms", e.sla().toMillis());
    ObjectNode input = o.putObject("input");
    input.put("name", e.input().name()).put("datatype", e.input().dtype());
    e.input().shape().forEach(input.putArray("shape")::add);
    e.labels().forEach(o.putArray("labels")::add);
    ArrayNode models = o.putArray("models");
    for (String m : e.models()) {
      ObjectNode mo = models.addObject().put("model", m).put("role", e.role(m).wireName());
      int k = e.stageOf(m);
      if (k >= 0) {
        mo.put("after_ms", e.schedule().get(k).after().toMillis());
        mo.put("stage", k);
      }
    }
    ArrayNode comparisons = o.putArray("canary_comparison");
    for (CanaryComparison.Figures f : canaries.figures(e.name())) {
      ObjectNode c = comparisons.addObject();
      c.put("canary", f.canary());
      c.put("live", f.live());
      c.put("compared", f.compared());
      if (!Double.isNaN(f.agreement())) {
        c.put("agreement", f.agreement());
      }
      c.put("psi", f.psi());
      c.put("total", f.total());
      c.put("current", e.role(f.canary()) == Role.CANARY);
    }
    // what corrections said of each version's own scores on this endpoint (Thompson sampling's
    // rewards; every node hears of every correction)
    ObjectNode learned = o.putObject("feedback_rewards");
    rewards
        .of(e.name())
        .forEach(
            (version, t) ->
                learned
                    .putObject(version)
                    .put("right", t.successes())
                    .put("wrong", t.failures())
                    .put(
                        "posterior_mean",
                        (rewards.priorSuccesses() + t.successes())
                            / (rewards.priorSuccesses() + rewards.priorFailures() + t.total())));
    return o;
  }

  private CompletionStage<HttpResponse> put(String name, String body) {
    JsonNode json;
    EndpointSettings next;
    try {
      ModelStoreNames.checkEndpoint(name);
      json = parse(body);
      next = endpointFrom(name, json);
    } catch (IllegalArgumentException bad) {
      return done(HttpJson.error(400, bad.getMessage()));
    }
    return loadAll(next.models())
        .thenCompose(
            failed ->
                failed != null
                    ? done(failed)
                    : CompletableFuture.supplyAsync(() -> fittedToModels(next), blocking)
                        .thenCompose(
                            fitted ->
                                fitted.error() != null
                                    ? done(fitted.error())
                                    : change(name, EndpointEdit.put(fitted.endpoint()))));
  }

  /** An endpoint whose input and labels are its models', or the answer saying why it cannot be. */
  private record Fitted(EndpointSettings endpoint, HttpResponse error) {}

  /**
   * {@code e} taking the input and giving the labels its models' metadata say (a text endpoint of a
   * user's categories made {@code like} another text endpoint takes that one's timings, not its
   * labels); 400 when its models disagree. A member the store does not know keeps {@code e}'s.
   */
  private Fitted fittedToModels(EndpointSettings e) {
    io.rendezvous.model.ModelMetadata first = null;
    String firstMember = null;
    for (String member : e.models()) {
      io.rendezvous.model.ModelMetadata meta = metadataOf(member);
      if (meta == null) {
        continue;
      }
      if (first == null) {
        first = meta;
        firstMember = member;
      } else if (!first.labels().equals(meta.labels())
          || !sameInput(first.requestInput(), meta.requestInput())) {
        return new Fitted(
            null,
            HttpJson.error(
                400,
                "the endpoint's models disagree: "
                    + firstMember
                    + " takes "
                    + first.requestInput()
                    + " and says "
                    + first.labels()
                    + ", "
                    + member
                    + " takes "
                    + meta.requestInput()
                    + " and says "
                    + meta.labels()));
      }
    }
    if (first == null) {
      return new Fitted(e, null);
    }
    return new Fitted(
        new EndpointSettings(
            e.name(),
            e.models(),
            first.requestInput(),
            e.schedule(),
            e.policy(),
            e.sla(),
            e.journalMargin(),
            e.linger(),
            first.labels(),
            e.deliveryGrace(),
            e.canaries(),
            e.generation()),
        null);
  }

  /** Blocking: the stored metadata of the version {@code member} names; null when not stored. */
  private io.rendezvous.model.ModelMetadata metadataOf(String member) {
    ModelRef ref = ModelRef.parse(member);
    try {
      return io.rendezvous.model.ModelMetadata.read(
          store.resolve(
              ref.name(), ref.versioned() ? ref.version() : io.rendezvous.model.ModelStore.LATEST));
    } catch (java.io.IOException | IllegalArgumentException unknown) {
      return null;
    }
  }

  private static boolean sameInput(
      io.rendezvous.model.TensorSpec a, io.rendezvous.model.TensorSpec b) {
    return a.dtype().equals(b.dtype()) && a.shape().equals(b.shape());
  }

  /**
   * 422 when the version {@code member} names takes another input or says other labels than the
   * endpoint {@code name} (a member is scored on the endpoint's requests and compared with its
   * answers); null when it fits or the endpoint is not there yet.
   */
  private HttpResponse misfit(String name, String member) {
    EndpointSettings e = endpoints.current().byName().get(name);
    io.rendezvous.model.ModelMetadata meta = e == null ? null : metadataOf(member);
    if (meta == null) {
      return null;
    }
    if (meta.labels().equals(e.labels()) && sameInput(meta.requestInput(), e.input())) {
      return null;
    }
    return HttpJson.error(
        422,
        member
            + " takes "
            + meta.requestInput()
            + " and says "
            + meta.labels()
            + "; endpoint "
            + name
            + " takes "
            + e.input()
            + " and says "
            + e.labels());
  }

  /** The endpoint {@code json} describes; what it does not give comes from its base. */
  private EndpointSettings endpointFrom(String name, JsonNode json) {
    String likeName = json.path("like").asText(null);
    EndpointSettings base =
        likeName != null ? endpoints.get(likeName) : endpoints.current().byName().get(name);
    if (base == null) {
      base = endpoints.current().byName().get(PredictRoutes.DEFAULT_ENDPOINT);
    }
    if (base == null) {
      throw new IllegalArgumentException(
          "no endpoint to take input, labels and timings from: give \"like\": <endpoint>");
    }
    JsonNode members = json.path("models");
    if (!members.isArray() || members.isEmpty()) {
      throw new IllegalArgumentException(
          "expected \"models\": [{\"model\": \"m3@2\", \"role\": \"live\", \"after_ms\": 0},"
              + " ...]");
    }
    List<String> models = new ArrayList<>();
    List<Stage> schedule = new ArrayList<>();
    List<String> canaryList = new ArrayList<>();
    for (JsonNode m : members) {
      String member = m.path("model").asText(null);
      if (member == null) {
        throw new IllegalArgumentException("every entry of \"models\" needs a \"model\"");
      }
      ModelRef.parse(member);
      Role role = Role.parse(m.path("role").asText("live"));
      models.add(member);
      switch (role) {
        case LIVE -> schedule.add(new Stage(member, Duration.ofMillis(afterMs(m))));
        case CANARY -> canaryList.add(member);
        case SHADOW -> {}
      }
    }
    DecisionPolicy policy = base.policy();
    if (json.has("policy")) {
      policy = policyNamed(json.get("policy").asText());
    }
    Duration sla = json.has("sla_ms") ? Duration.ofMillis(positive(json, "sla_ms")) : base.sla();
    return new EndpointSettings(
        name,
        models,
        base.input(),
        schedule,
        policy,
        sla,
        base.journalMargin(),
        base.linger(),
        base.labels(),
        base.deliveryGrace(),
        canaryList,
        0);
  }

  private CompletionStage<HttpResponse> policy(String name, String body) {
    String policy;
    try {
      policy = parse(body).path("policy").asText(null);
      if (policy == null) {
        throw new IllegalArgumentException(
            "expected {\"policy\": " + DecisionPolicies.names() + "}");
      }
    } catch (IllegalArgumentException bad) {
      return done(HttpJson.error(400, bad.getMessage()));
    }
    return change(name, EndpointEdit.policy(policy));
  }

  private CompletionStage<HttpResponse> role(String name, String member, String body) {
    Role role;
    Duration after;
    try {
      ModelRef.parse(member);
      JsonNode json = parse(body);
      role = Role.parse(json.path("role").asText(""));
      after = json.has("after_ms") ? Duration.ofMillis(afterMs(json)) : null;
    } catch (IllegalArgumentException bad) {
      return done(HttpJson.error(400, bad.getMessage()));
    }
    return loadAll(List.of(member))
        .thenCompose(
            failed ->
                failed != null
                    ? done(failed)
                    : CompletableFuture.supplyAsync(() -> misfit(name, member), blocking)
                        .thenCompose(
                            misfit ->
                                misfit != null
                                    ? done(misfit)
                                    : change(name, EndpointEdit.role(member, role, after))));
  }

  private CompletionStage<HttpResponse> memberEdit(
      String name, String body, Function<String, EndpointEdit> edit) {
    String member;
    try {
      member = parse(body).path("model").asText(null);
      if (member == null) {
        throw new IllegalArgumentException("expected {\"model\": \"<name>@<version>\"}");
      }
      ModelRef.parse(member);
    } catch (IllegalArgumentException bad) {
      return done(HttpJson.error(400, bad.getMessage()));
    }
    return change(name, edit.apply(member));
  }

  /**
   * Loads and checks every named version this node does not serve yet: null when all are served,
   * else the answer saying which failed.
   */
  private CompletionStage<HttpResponse> loadAll(List<String> members) {
    CompletionStage<HttpResponse> chain = CompletableFuture.completedFuture(null);
    for (String m : members) {
      ModelRef ref = ModelRef.parse(m);
      if (!ref.versioned()) {
        continue;
      }
      chain =
          chain.thenCompose(
              failed -> {
                if (failed != null) {
                  return done(failed);
                }
                return AskPattern.<ModelManager.Command, ModelManager.VersionState>ask(
                        manager,
                        replyTo -> new ModelManager.Load(ref.name(), ref.version(), replyTo),
                        settings.loadTimeout(),
                        system.scheduler())
                    .thenApply(
                        s ->
                            s.state() == ModelManager.State.READY
                                ? null
                                : HttpJson.response(
                                    s.state() == ModelManager.State.FAILED ? 422 : 409,
                                    AdminRoutes.json(s)
                                        .put(
                                            "error",
                                            m + " is not served on this node: " + s.detail())));
              });
    }
    return chain;
  }

  /**
   * The change as the cluster's next desired state: answered once every node applied it (200), or
   * with where each node stands after the apply timeout (202), or refused.
   */
  private CompletionStage<HttpResponse> change(String name, EndpointEdit edit) {
    return AskPattern.<ClusterModels.Command, ClusterModels.Outcome>ask(
            clusterModels,
            replyTo -> new ClusterModels.Edit(name, edit, replyTo),
            settings.loadTimeout().multipliedBy(2),
            system.scheduler())
        .thenApply(
            o -> {
              if (o.status() / 100 != 2) {
                ObjectNode err = Json.object().put("error", o.detail());
                err.put("generation", o.generation());
                return HttpJson.response(o.status(), err);
              }
              log.info(
                  "admin: endpoint {} changed: generation {} ({})",
                  name,
                  o.generation(),
                  o.detail());
              ObjectNode body =
                  o.endpoint() == null
                      ? Json.object().put("removed", name).put("generation", o.generation())
                      : json(o.endpoint());
              body.set("nodes", nodes(o));
              return HttpJson.response(o.status(), body);
            })
        .exceptionally(e -> HttpJson.internalError(log, "changing endpoint " + name, e));
  }

  /** Where each node stands on a change, by cluster address. */
  static ObjectNode nodes(ClusterModels.Outcome o) {
    ObjectNode nodes = Json.object();
    o.nodes()
        .forEach(
            (address, a) -> {
              ObjectNode n = nodes.putObject(address);
              n.put("applied", a.generation() >= o.generation());
              n.put("generation", a.generation());
              if (a.url() != null) {
                n.put("url", a.url());
              }
              if (a.problem() != null) {
                n.put("problem", a.problem());
              }
            });
    return nodes;
  }

  private static DecisionPolicy policyNamed(String name) {
    return DecisionPolicies.find(name)
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "policy '" + name + "' is not one of " + DecisionPolicies.names()));
  }

  private static long afterMs(JsonNode m) {
    JsonNode a = m.path("after_ms");
    if (a.isMissingNode() || a.isNull()) {
      return 0;
    }
    if (!a.canConvertToLong() || !a.isIntegralNumber() || a.asLong() < 0) {
      throw new IllegalArgumentException("\"after_ms\" must be a whole number of ms >= 0");
    }
    return a.asLong();
  }

  private static long positive(JsonNode json, String field) {
    JsonNode a = json.path(field);
    if (!a.isIntegralNumber() || !a.canConvertToLong() || a.asLong() <= 0) {
      throw new IllegalArgumentException("\"" + field + "\" must be a whole number > 0");
    }
    return a.asLong();
  }

  private static JsonNode parse(String body) {
    try {
      JsonNode json = Json.MAPPER.readTree(body.isBlank() ? "{}" : body);
      if (json == null || !json.isObject()) {
        throw new IllegalArgumentException("the body must be a JSON object");
      }
      return json;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("body is not JSON: " + e.getOriginalMessage());
    }
  }

  private static CompletionStage<HttpResponse> done(HttpResponse r) {
    return CompletableFuture.completedFuture(r);
  }

  /** Endpoint names: what a model's name may be, so that they fit a URL path and a log line. */
  static final class ModelStoreNames {
    private ModelStoreNames() {}

    static void checkEndpoint(String name) {
      if (!io.rendezvous.model.ModelStore.NAME.matcher(name).matches()) {
        throw new IllegalArgumentException(
            "endpoint name '" + name + "' must match " + io.rendezvous.model.ModelStore.NAME);
      }
    }
  }
}
