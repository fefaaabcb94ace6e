package io.rendezvous.node.freshness;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpMethod;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.http.javadsl.model.headers.HttpCredentials;
import org.apache.pekko.stream.Materializer;

/**
 * The model lifecycle's admin API as the freshness trainer calls it: over HTTP on its own node,
 * with an admin token, exactly as an operator would (docs/lifecycle.md). So a trainer's change is
 * checked, replicated to every node and journaled like any other; nothing is special-cased.
 */
public final class LifecycleApi {

  /** An answer: its status and JSON body (an empty object when it had none). */
  public record Answer(int status, JsonNode body) {
    public boolean ok() {
      return status / 100 == 2;
    }

    /** The body's {@code error}, or the body itself. */
    public String why() {
      return body.has("error") ? body.get("error").asText() : body.toString();
    }
  }

  private final ActorSystem<?> system;
  private final Supplier<String> baseUrl;
  private final String token;
  private final Duration timeout;

  public LifecycleApi(
      ActorSystem<?> system, Supplier<String> baseUrl, String token, Duration timeout) {
    this.system = system;
    this.baseUrl = baseUrl;
    this.token = token;
    this.timeout = timeout;
  }

  /** A version directory as a tar.gz upload: the model's next version in the cluster. */
  public CompletionStage<Answer> upload(String model, byte[] tarGz) {
    return call(
        HttpMethods.POST,
        "/admin/models/" + model + "/versions",
        org.apache.pekko.http.javadsl.model.HttpEntities.create(
            ContentTypes.APPLICATION_OCTET_STREAM, tarGz));
  }

  public CompletionStage<Answer> role(String endpoint, String member, String role) {
    return json(
        HttpMethods.PUT,
        "/admin/endpoints/" + endpoint + "/models/" + member,
        "{\"role\":\"" + role + "\"}");
  }

  public CompletionStage<Answer> promote(String endpoint, String member) {
    return json(
        HttpMethods.POST,
        "/admin/endpoints/" + endpoint + "/promote",
        "{\"model\":\"" + member + "\"}");
  }

  public CompletionStage<Answer> demote(String endpoint, String member) {
    return json(
        HttpMethods.POST,
        "/admin/endpoints/" + endpoint + "/demote",
        "{\"model\":\"" + member + "\"}");
  }

  public CompletionStage<Answer> remove(String endpoint, String member) {
    return json(HttpMethods.DELETE, "/admin/endpoints/" + endpoint + "/models/" + member, "");
  }

  public CompletionStage<Answer> retire(String model, String version) {
    return json(
        HttpMethods.POST, "/admin/models/" + model + "/versions/" + version + "/retire", "");
  }

  public CompletionStage<Answer> endpoint(String endpoint) {
    return json(HttpMethods.GET, "/admin/endpoints/" + endpoint, null);
  }

  private CompletionStage<Answer> json(HttpMethod method, String path, String body) {
    return call(
        method,
        path,
        body == null
            ? org.apache.pekko.http.javadsl.model.HttpEntities.EMPTY
            : org.apache.pekko.http.javadsl.model.HttpEntities.create(
                ContentTypes.APPLICATION_JSON, body));
  }

  private CompletionStage<Answer> call(
      HttpMethod method, String path, org.apache.pekko.http.javadsl.model.RequestEntity entity) {
    String base = baseUrl.get();
    if (base == null) {
      return CompletableFuture.failedFuture(
          new IllegalStateException("this node's HTTP server is not bound yet"));
    }
    HttpRequest req = HttpRequest.create(base + path).withMethod(method).withEntity(entity);
    if (token != null && !token.isBlank()) {
      req = req.addHeader(Authorization.create(HttpCredentials.createOAuth2BearerToken(token)));
    }
    Materializer mat = Materializer.matFromSystem(system);
    return Http.get(system)
        .singleRequest(req)
        .thenCompose(
            r ->
                r.entity()
                    .toStrict(timeout.toMillis(), mat)
                    .thenApply(
                        strict -> {
                          String text = strict.getData().decodeString(StandardCharsets.UTF_8);
                          JsonNode body;
                          try {
                            body = text.isBlank() ? Json.object() : Json.MAPPER.readTree(text);
                          } catch (java.io.IOException notJson) {
                            body = Json.object().put("error", text);
                          }
                          return new Answer(r.status().intValue(), body);
                        }));
  }
}
