package io.rendezvous.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.edge.Json;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.slf4j.Logger;

/**
 * An answer before it takes a transport's shape: an HTTP-style status and a JSON body ({@code
 * {"error": ...}} when it failed). REST sends it as it is ({@link #http}); gRPC maps the status to
 * a status code and the body to its message.
 */
record JsonAnswer(int status, JsonNode body) {

  static JsonAnswer error(int status, String message) {
    ObjectNode body = Json.object();
    body.put("error", message);
    return new JsonAnswer(status, body);
  }

  /**
   * A 500 for a failure inside the server: logged in full under a fresh error id, and the client
   * gets only that id, never the exception's text (it can name classes, paths or data).
   */
  static JsonAnswer internalError(Logger log, String what, Throwable cause) {
    String id = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xFFFF_FFFF_FFFFL);
    log.error("error {}: {} failed inside the server", id, what, cause);
    ObjectNode body = Json.object();
    body.put(
        "error", "internal error while serving " + what + "; the server's log has error " + id);
    body.put("error_id", id);
    return new JsonAnswer(500, body);
  }

  boolean ok() {
    return status / 100 == 2;
  }

  /** The error's text, or null for an answer that is not one. */
  String error() {
    JsonNode e = body.get("error");
    return e == null ? null : e.asText();
  }

  HttpResponse http() {
    return HttpJson.response(status, body);
  }
}
