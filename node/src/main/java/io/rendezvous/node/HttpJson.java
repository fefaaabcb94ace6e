package io.rendezvous.node;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.edge.Json;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.slf4j.Logger;

/** JSON responses as every route sends them: a body with a status, or {@code {"error": ...}}. */
public final class HttpJson {
  private HttpJson() {}

  public static HttpResponse response(int status, Object body) {
    try {
      return HttpResponse.create()
          .withStatus(StatusCodes.get(status))
          .withEntity(
              HttpEntities.create(
                  ContentTypes.APPLICATION_JSON, Json.MAPPER.writeValueAsBytes(body)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("response cannot be written as JSON", e);
    }
  }

  /**
   * A 500 for a failure inside the server: logged in full under a fresh error id, and the client
   * gets only that id, never the exception's text (it can name classes, paths or data).
   */
  public static HttpResponse internalError(Logger log, String what, Throwable cause) {
    return JsonAnswer.internalError(log, what, cause).http();
  }

  /** {@code {"error": message}} with the given status. */
  public static HttpResponse error(int status, String message) {
    ObjectNode body = Json.object();
    body.put("error", message);
    return response(status, body);
  }
}
