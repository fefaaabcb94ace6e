package io.rendezvous.node;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.Endpoints;
import io.rendezvous.actors.Reply;
import io.rendezvous.actors.edge.InputDecoder;
import io.rendezvous.actors.edge.RendezvousClient;
import io.rendezvous.actors.edge.ReplyRenderer;
import io.rendezvous.model.TensorData;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaType;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code POST /predict}: JSON instances or one PNG/JPEG image, answered by the rendezvous ({@code
 * ?endpoint=} picks another endpoint, {@code ?detail=all} adds every model's score).
 */
public final class PredictRoutes extends AllDirectives {
  public static final String DEFAULT_ENDPOINT = "rendezvous";

  private final HttpEdge edge;
  private final InputDecoder decoder;
  private final RendezvousClient client;
  private final Endpoints endpoints;
  private final BearerAuth auth;

  public PredictRoutes(
      HttpEdge edge,
      InputDecoder decoder,
      RendezvousClient client,
      Endpoints endpoints,
      BearerAuth auth) {
    this.edge = edge;
    this.decoder = decoder;
    this.client = client;
    this.endpoints = endpoints;
    this.auth = auth;
  }

  public Route routes() {
    return path(
        "predict",
        () ->
            post(
                () ->
                    Traced.traced(
                        traceparent ->
                            parameterOptional(
                                "detail",
                                detail ->
                                    parameterOptional(
                                        "endpoint",
                                        endpoint ->
                                            optionalHeaderValueByName(
                                                "X-Request-Id",
                                                clientHeader ->
                                                    auth.require(
                                                        endpoint.orElse(DEFAULT_ENDPOINT),
                                                        edge.materializer(),
                                                        () ->
                                                            extractRequestEntity(
                                                                entity ->
                                                                    completeWithFuture(
                                                                        edge.admit(
                                                                            "POST /predict",
                                                                            entity,
                                                                            () ->
                                                                                predict(
                                                                                    entity,
                                                                                    endpoint.orElse(
                                                                                        DEFAULT_ENDPOINT),
                                                                                    "all"
                                                                                        .equals(
                                                                                            detail
                                                                                                .orElse(
                                                                                                    null)),
                                                                                    clientHeader,
                                                                                    traceparent)))))))))));
  }

  private CompletionStage<HttpResponse> predict(
      RequestEntity entity,
      String endpointName,
      boolean detail,
      Optional<String> clientHeader,
      String traceparent) {
    EndpointSettings endpoint = endpoints.get(endpointName);
    String clientId;
    try {
      if (endpoint == null) {
        throw new BadRequest(
            404, "no endpoint '" + endpointName + "'; known: " + endpoints.names());
      }
      clientId = edge.clientId(clientHeader, null);
    } catch (BadRequest e) {
      entity.discardBytes(edge.materializer());
      return HttpEdge.reject(e);
    }
    MediaType media = entity.getContentType().mediaType();
    if (media.equals(MediaTypes.APPLICATION_JSON)) {
      return edge.body(entity)
          .thenCompose(body -> HttpEdge.inline(() -> decoder.instances(body, endpoint.input())))
          .thenCompose(
              instances -> client.predict(endpoint, instances, clientId, "json", null, traceparent))
          .thenApply(replies -> render(endpoint, clientId, replies, detail));
    }
    if (media.equals(MediaTypes.IMAGE_PNG) || media.equals(MediaTypes.IMAGE_JPEG)) {
      return edge.body(entity)
          .thenCompose(
              body ->
                  edge.blocking(
                      () ->
                          new Decoded(
                              decoder.image(body, endpoint.input()), InputDecoder.sha256(body))))
          .thenCompose(
              d ->
                  client.predict(
                      endpoint,
                      List.of(d.tensor()),
                      clientId,
                      media.toString(),
                      d.sha256(),
                      traceparent))
          .thenApply(replies -> render(endpoint, clientId, replies, detail));
    }
    entity.discardBytes(edge.materializer());
    return HttpEdge.reject(
        new BadRequest(
            415,
            "content type "
                + entity.getContentType()
                + " is not supported; send application/json, image/png or image/jpeg"));
  }

  private record Decoded(TensorData tensor, String sha256) {}

  private static HttpResponse render(
      EndpointSettings endpoint, String clientId, List<Reply> replies, boolean detail) {
    return HttpJson.response(
        ReplyRenderer.status(replies),
        ReplyRenderer.predictBody(replies, clientId, endpoint.labels(), detail));
  }
}
