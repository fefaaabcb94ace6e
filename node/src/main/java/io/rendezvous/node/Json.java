package io.rendezvous.node;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** The node's one ObjectMapper and the JSON response shapes every route uses. */
public final class Json {
  /**
   * Numbers are parsed without a String per number (FastDoubleParser): inputs are hundreds of
   * floats. Every answer writes a dozen floats (probabilities, confidence): Schubfach instead of
   * the JDK's FloatingDecimal: the shortest digits that read back as the same float.
   */
  public static final ObjectMapper MAPPER =
      new ObjectMapper(
          com.fasterxml.jackson.core.JsonFactory.builder()
              .enable(com.fasterxml.jackson.core.StreamReadFeature.USE_FAST_DOUBLE_PARSER)
              .enable(com.fasterxml.jackson.core.StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
              .build());

  private Json() {}

  public static ObjectNode object() {
    return MAPPER.createObjectNode();
  }

  public static HttpResponse response(int status, Object body) {
    try {
      return HttpResponse.create()
          .withStatus(StatusCodes.get(status))
          .withEntity(
              HttpEntities.create(ContentTypes.APPLICATION_JSON, MAPPER.writeValueAsBytes(body)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("response cannot be written as JSON", e);
    }
  }

  /** {@code {"error": message}} with the given status. */
  public static HttpResponse error(int status, String message) {
    ObjectNode body = object();
    body.put("error", message);
    return response(status, body);
  }
}
