package io.rendezvous.actors.edge;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The node's one ObjectMapper, shared by every edge (HTTP, Kafka) and the bench. */
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
}
