package io.rendezvous.node;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.Endpoints;
import io.rendezvous.actors.Reply;
import io.rendezvous.actors.edge.InputDecoder;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.actors.edge.RendezvousClient;
import io.rendezvous.actors.edge.ReplyRenderer;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.ModelRef;
import io.rendezvous.model.TensorSpec;
import io.rendezvous.workers.WorkerDirectory;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The Open Inference Protocol v2 subset: {@code POST /v2/models/{name}/infer} and {@code GET
 * /v2/models/{name}}, where a name is a rendezvous endpoint or a single model (served as a
 * one-stage rendezvous, journaled the same way).
 */
public final class InferenceRoutes extends AllDirectives {
  private final HttpEdge edge;
  private final InputDecoder decoder;
  private final RendezvousClient client;
  private final Endpoints endpoints;
  private final Map<String, ModelMetadata> models;
  private final BearerAuth auth;
  private final WorkerDirectory directory;
  private final WarmUpMark warmUp;

  public InferenceRoutes(
      HttpEdge edge,
      InputDecoder decoder,
      RendezvousClient client,
      Endpoints endpoints,
      Map<String, ModelMetadata> models,
      BearerAuth auth,
      WorkerDirectory directory,
      WarmUpMark warmUp) {
    this.warmUp = warmUp;
    this.directory = directory;
    this.auth = auth;
    this.edge = edge;
    this.decoder = decoder;
    this.client = client;
    this.endpoints = endpoints;
    this.models = models;
  }

  public Route routes() {
    return pathPrefix(
        "v2",
        () ->
            pathPrefix(
                "models",
                () ->
                    pathPrefix(
                        name ->
                            concat(
                                pathPrefix(
                                    "versions",
                                    () ->
                                        pathPrefix(
                                            version ->
                                                modelRoutes(name + "@" + version, name, version))),
                                modelRoutes(name, name, null)))));
  }

  /**
   * Metadata, readiness and inference of endpoint {@code endpoint}: a model or rendezvous by its
   * name, or ({@code version} set) one version of a model, {@code m3@2}. Tokens are those of the
   * model's name.
   */
  private Route modelRoutes(String endpoint, String authName, String version) {
    return concat(
        pathEnd(() -> get(() -> complete(metadata(endpoint, version)))),
        path("ready", () -> get(() -> complete(ready(endpoint)))),
        path(
            "infer",
            () ->
                post(
                    () ->
                        Traced.traced(
                            traceparent ->
                                optionalHeaderValueByName(
                                    "X-Request-Id",
                                    header ->
                                        optionalHeaderValueByName(
                                            OipOutputs.HEADER_LENGTH,
                                            jsonLength ->
                                                extractRequest(
                                                    request ->
                                                        warmUpOrAuthorized(
                                                            request,
                                                            authName,
                                                            warm ->
                                                                extractRequestEntity(
                                                                    entity ->
                                                                        completeWithFuture(
                                                                            edge.admit(
                                                                                "POST /v2/models/"
                                                                                    + endpoint
                                                                                    + "/infer",
                                                                                entity,
                                                                                () ->
                                                                                    infer(
                                                                                        endpoint,
                                                                                        entity,
                                                                                        header,
                                                                                        jsonLength,
                                                                                        traceparent,
                                                                                        warm))))))))))));
  }

  /**
   * {@code inner(true)} for the node's own warm-up (its mark needs no token), else {@code
   * inner(false)} behind the endpoint's tokens.
   */
  private Route warmUpOrAuthorized(
      org.apache.pekko.http.javadsl.model.HttpRequest request,
      String authName,
      java.util.function.Function<Boolean, Route> inner) {
    // the header is looked at only while the warm-up runs: a user's request pays nothing for it
    return warmUp.marks(request)
        ? inner.apply(true)
        : auth.require(authName, edge.materializer(), () -> inner.apply(false));
  }

  /**
   * Ready only where every live model of the endpoint has a pool (here or on another node): 200
   * with {@code "ready": true}, else 503 with {@code false} and what is missing.
   */
  private HttpResponse ready(String name) {
    EndpointSettings ep = endpoints.get(name);
    if (ep == null) {
      return unknown(name);
    }
    List<String> missing =
        ep.schedule().stream()
            .map(EndpointSettings.Stage::model)
            .filter(m -> !directory.available().contains(m))
            .toList();
    ObjectNode o = Json.object().put("name", name).put("ready", missing.isEmpty());
    if (!missing.isEmpty()) {
      o.put("error", "no worker pool for " + String.join(", ", missing));
    }
    return HttpJson.response(missing.isEmpty() ? 200 : 503, o);
  }

  private HttpResponse unknown(String name) {
    return HttpJson.error(404, "no model or endpoint '" + name + "'; known: " + endpoints.names());
  }

  private HttpResponse metadata(String name, String version) {
    EndpointSettings ep = endpoints.get(name);
    if (ep == null) {
      return unknown(name);
    }
    if (version != null && !directory.available().contains(name)) {
      return HttpJson.error(
          404,
          "no pool of version " + version + " of " + ModelRef.parse(name).name() + " is listed");
    }
    ObjectNode o = Json.object();
    o.put("name", version == null ? name : ModelRef.parse(name).name());
    ModelMetadata model = version == null ? models.get(name) : null;
    ArrayNode versions = o.putArray("versions");
    if (version != null) {
      versions.add(version);
      o.put("platform", "tensorflow_savedmodel");
    } else if (model != null) {
      versions.add(model.version());
      o.put("platform", "tensorflow_savedmodel");
      o.put("description", model.description());
      o.put("holdout_accuracy", model.holdoutAccuracy());
    } else {
      o.put("platform", "rendezvous");
      ArrayNode schedule = o.putArray("schedule");
      for (EndpointSettings.Stage s : ep.schedule()) {
        schedule.addObject().put("model", s.model()).put("after_ms", s.after().toMillis());
      }
      o.put("sla_ms", ep.sla().toMillis());
      ArrayNode m = o.putArray("models");
      ep.models().forEach(m::add);
    }
    spec(o.putArray("inputs").addObject(), ep.input());
    ObjectNode out = o.putArray("outputs").addObject();
    out.put("name", "probabilities");
    out.put("datatype", "FP32");
    out.putArray("shape").add(-1).add(ep.labels().size());
    ArrayNode labels = o.putArray("labels");
    ep.labels().forEach(labels::add);
    return HttpJson.response(200, o);
  }

  private static void spec(ObjectNode o, TensorSpec spec) {
    o.put("name", spec.name());
    o.put("datatype", datatypeOf(spec));
    ArrayNode shape = o.putArray("shape");
    spec.shape().forEach(shape::add);
  }

  /** The protocol's datatype of a model input. */
  static String datatypeOf(TensorSpec spec) {
    return "float32".equals(spec.dtype())
        ? "FP32"
        : io.rendezvous.model.TensorData.TEXT.equals(spec.dtype()) ? "BYTES" : spec.dtype();
  }

  /**
   * {@code jsonLength}: the binary extension's {@code Inference-Header-Content-Length}, when the
   * body is a JSON header followed by binary tensor data (any content type, Triton's clients send
   * {@code application/octet-stream}); else the body must be JSON.
   */
  private CompletionStage<HttpResponse> infer(
      String name,
      RequestEntity entity,
      Optional<String> header,
      Optional<String> jsonLength,
      String traceparent,
      boolean warm) {
    EndpointSettings ep = endpoints.get(name);
    if (ep == null) {
      entity.discardBytes(edge.materializer());
      return HttpEdge.reject(new BadRequest(404, "no model or endpoint '" + name + "'"));
    }
    int headerLength;
    try {
      headerLength = jsonLength.isPresent() ? Integer.parseInt(jsonLength.get().trim()) : -1;
      if (jsonLength.isPresent() && headerLength < 0) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      entity.discardBytes(edge.materializer());
      return HttpEdge.reject(
          new BadRequest(
              400,
              OipOutputs.HEADER_LENGTH
                  + " must be the JSON header's length in bytes, a whole number >= 0"));
    }
    if (headerLength < 0
        && !entity.getContentType().mediaType().equals(MediaTypes.APPLICATION_JSON)) {
      entity.discardBytes(edge.materializer());
      return HttpEdge.reject(
          new BadRequest(
              415,
              "content type "
                  + entity.getContentType()
                  + " is not supported; send application/json, or binary tensor data with an "
                  + OipOutputs.HEADER_LENGTH
                  + " header"));
    }
    return edge.body(entity)
        .thenCompose(
            body ->
                HttpEdge.inline(
                    () -> {
                      InputDecoder.InferRequest req =
                          decoder.inferRequest(body, headerLength, ep.input());
                      String unknown = OipOutputs.unknownOutput(req);
                      if (unknown != null) {
                        throw io.rendezvous.actors.edge.InvalidInput.malformed(unknown);
                      }
                      return req.withClientId(edge.clientId(header, req.clientId()));
                    }))
        .thenCompose(
            req ->
                (warm
                        ? client.warmUp(ep, req.instances())
                        : client.predict(
                            ep, req.instances(), req.clientId(), "oip-v2", null, traceparent))
                    .thenApply(replies -> render(ep, req, replies)));
  }

  private static HttpResponse render(
      EndpointSettings ep, InputDecoder.InferRequest req, List<Reply> replies) {
    return OipOutputs.respond(
        ReplyRenderer.status(replies), ReplyRenderer.inferBody(ep, req.clientId(), replies), req);
  }
}
