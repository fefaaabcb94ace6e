package io.rendezvous.bench;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.Reply;
import io.rendezvous.actors.edge.InputDecoder;
import io.rendezvous.actors.edge.ReplyRenderer;
import io.rendezvous.actors.edge.RequestIds;
import io.rendezvous.model.TensorData;
import io.rendezvous.node.BadRequest;
import io.rendezvous.node.HttpEdge;
import io.rendezvous.node.HttpJson;
import io.rendezvous.node.PredictRoutes;
import io.rendezvous.node.RouteExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code POST /bench/ceiling}, on a node the bench starts with {@link #EXTENSION}: the HTTP ceiling
 * the benchmark harness measures the rendezvous against. It takes the same JSON body as {@code
 * /predict} through the same admission, body reading and JSON decoding, and answers with a body of
 * the same shape (a request id, label, ten probabilities per instance), but with no model, no
 * sharding and no journal: what it serves per second is what this HTTP stack can do on this
 * machine.
 */
public final class CeilingRoute extends AllDirectives {
  private final HttpEdge edge;
  private final InputDecoder decoder;
  private final EndpointSettings endpoint;
  private final RequestIds ids;
  private final String node;

  public CeilingRoute(
      HttpEdge edge, InputDecoder decoder, EndpointSettings endpoint, RequestIds ids, String node) {
    this.edge = edge;
    this.decoder = decoder;
    this.endpoint = endpoint;
    this.ids = ids;
    this.node = node;
  }

  /**
   * Serves {@code /bench/ceiling} on a node, with the node's own default endpoint's input and
   * labels.
   */
  public static final RouteExtension EXTENSION =
      parts -> {
        EndpointSettings reference = parts.endpoints().get(PredictRoutes.DEFAULT_ENDPOINT);
        if (reference == null) {
          throw new IllegalArgumentException(
              "the ceiling route needs the '"
                  + PredictRoutes.DEFAULT_ENDPOINT
                  + "' endpoint to take its input and labels from");
        }
        return new CeilingRoute(
                parts.edge(),
                parts.decoder(),
                reference,
                new RequestIds(parts.node()),
                parts.node())
            .route();
      };

  public Route route() {
    return pathPrefix(
        "bench",
        () ->
            path(
                "ceiling",
                () ->
                    post(
                        () ->
                            extractRequestEntity(
                                entity ->
                                    completeWithFuture(
                                        edge.admit(
                                            "POST /bench/ceiling", () -> answer(entity)))))));
  }

  private CompletionStage<HttpResponse> answer(RequestEntity entity) {
    if (!entity.getContentType().mediaType().equals(MediaTypes.APPLICATION_JSON)) {
      entity.discardBytes(edge.materializer());
      return HttpEdge.reject(new BadRequest(415, "send application/json"));
    }
    return edge.body(entity)
        .thenCompose(body -> HttpEdge.inline(() -> decoder.instances(body, endpoint.input())))
        .thenApply(this::render);
  }

  /**
   * Answers of the same shape as the rendezvous' own, rendered by the same renderer: what a reply
   * costs to build and write is part of the ceiling.
   */
  private HttpResponse render(List<TensorData> instances) {
    List<String> labels = endpoint.labels();
    float[] uniform = new float[labels.size()];
    java.util.Arrays.fill(uniform, 1f / labels.size());
    List<Reply> replies = new ArrayList<>(instances.size());
    for (int i = 0; i < instances.size(); i++) {
      replies.add(
          new Reply.Prediction(
              ids.next(),
              null,
              "ceiling",
              node,
              "none",
              "0",
              0,
              labels.get(0),
              0,
              uniform,
              0,
              List.of(),
              0));
    }
    return HttpJson.response(200, ReplyRenderer.predictBody(replies, null, labels, false));
  }
}
