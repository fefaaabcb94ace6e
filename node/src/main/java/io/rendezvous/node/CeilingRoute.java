package io.rendezvous.node;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.workers.model.TensorData;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code POST /bench/ceiling}, only when {@code rendezvous.http.benchmark-routes} is on: the HTTP
 * ceiling the benchmark harness measures the rendezvous against. It takes the same JSON body as
 * {@code /predict} through the same admission, body reading and JSON decoding, and answers with a
 * body of the same shape (a request id, label, ten probabilities per instance), but with no model,
 * no sharding and no journal: what it serves per second is what this HTTP stack can do on this
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

  private HttpResponse render(List<TensorData> instances) {
    List<String> labels = endpoint.labels();
    ObjectNode body = Json.object();
    ArrayNode predictions = body.putArray("predictions");
    for (TensorData ignored : instances) {
      ObjectNode o = predictions.addObject();
      o.put("request_id", ids.next());
      o.put("status", 200);
      o.put("endpoint", "ceiling");
      o.put("model", "none");
      o.put("version", "0");
      o.put("stage", 0);
      o.put("label", labels.get(0));
      o.put("label_index", 0);
      float[] uniform = new float[labels.size()];
      java.util.Arrays.fill(uniform, 1f / labels.size());
      o.put("confidence", uniform[0]);
      Answers.floats(o.putArray("probabilities"), uniform);
      o.put("decided_ms", 0.0);
      o.put("node", node);
    }
    return Json.response(200, body);
  }
}
