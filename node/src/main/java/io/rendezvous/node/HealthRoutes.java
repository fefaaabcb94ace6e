package io.rendezvous.node;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.edge.Json;
import java.util.Map;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code GET /v2}, {@code /v2/health/live}, {@code /v2/health/ready} (503 with the failing checks;
 * degraded models listed under {@code degraded}, with 200 while every check passes).
 */
public final class HealthRoutes extends AllDirectives {
  private final Readiness readiness;
  private final String version;

  public HealthRoutes(Readiness readiness, String version) {
    this.readiness = readiness;
    this.version = version;
  }

  /**
   * The protocol extensions served, by the names Triton's clients look for: the binary tensor data
   * extension ({@link OipOutputs}) and the model repository ({@link RepositoryRoutes}).
   */
  static final java.util.List<String> EXTENSIONS =
      java.util.List.of("binary_tensor_data", "model_repository");

  private ObjectNode serverMetadata() {
    ObjectNode o = Json.object().put("name", "rendezvous").put("version", version);
    EXTENSIONS.forEach(o.putArray("extensions")::add);
    return o;
  }

  public Route routes() {
    return pathPrefix(
        "v2",
        () ->
            concat(
                pathEnd(() -> get(() -> complete(HttpJson.response(200, serverMetadata())))),
                path(
                    segment("health").slash("live"),
                    () ->
                        get(
                            () ->
                                complete(HttpJson.response(200, Json.object().put("live", true))))),
                path(
                    segment("health").slash("ready"),
                    () ->
                        get(
                            () -> {
                              Map<String, String> checks = readiness.checks();
                              boolean ready = checks.values().stream().allMatch("ok"::equals);
                              ObjectNode body = Json.object().put("ready", ready);
                              ObjectNode c = body.putObject("checks");
                              checks.forEach(c::put);
                              Map<String, String> degraded = readiness.degraded();
                              if (!degraded.isEmpty()) {
                                ObjectNode d = body.putObject("degraded");
                                degraded.forEach(d::put);
                              }
                              Map<String, Long> figures = readiness.figures();
                              if (!figures.isEmpty()) {
                                ObjectNode f = body.putObject("figures");
                                figures.forEach(f::put);
                              }
                              return complete(HttpJson.response(ready ? 200 : 503, body));
                            }))));
  }
}
