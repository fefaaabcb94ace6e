package io.rendezvous.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.edge.InputDecoder;
import io.rendezvous.actors.edge.Json;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * The outputs of an Open Inference Protocol infer response as the client asked for them: only those
 * it named in {@code outputs} (all when it named none), and with the binary tensor data extension
 * (Triton's) those it wants binary: the JSON header first, its length in {@code
 * Inference-Header-Content-Length}, then each binary output's bytes in order (FP32 little-endian;
 * BYTES each element's 4-byte little-endian length and UTF-8), its {@code binary_data_size} in its
 * parameters.
 */
final class OipOutputs {
  /** The header the binary extension names the JSON part's length with. */
  static final String HEADER_LENGTH = "Inference-Header-Content-Length";

  /** The outputs every infer response can give ({@code ReplyRenderer.inferBody}). */
  static final List<String> NAMES = List.of("probabilities", "label");

  private OipOutputs() {}

  /** Null when every output the request names is one an answer has; else why not. */
  static String unknownOutput(InputDecoder.InferRequest req) {
    for (InputDecoder.OutputRequest o : req.outputs()) {
      if (!NAMES.contains(o.name())) {
        return "output \"" + o.name() + "\" is not one of " + NAMES;
      }
    }
    return null;
  }

  /** The response of {@code status} with {@code body} shaped as {@code req} asked. */
  static HttpResponse respond(int status, ObjectNode body, InputDecoder.InferRequest req) {
    JsonNode outputs = body.get("outputs");
    boolean asIs = req.outputs().isEmpty() && !req.binaryOutputs();
    if (status != 200 || asIs || !(outputs instanceof ArrayNode all)) {
      return HttpJson.response(status, body);
    }
    ArrayNode kept = Json.MAPPER.createArrayNode();
    ByteArrayOutputStream binary = new ByteArrayOutputStream();
    for (JsonNode o : all) {
      String name = o.path("name").asText();
      InputDecoder.OutputRequest asked = asked(req, name);
      if (!req.outputs().isEmpty() && asked == null) {
        continue;
      }
      boolean wantsBinary =
          asked != null && asked.binary() != null ? asked.binary() : req.binaryOutputs();
      if (wantsBinary) {
        byte[] bytes = encode(o.path("datatype").asText(), o.path("data"));
        ObjectNode out = ((ObjectNode) o).deepCopy();
        out.remove("data");
        out.putObject("parameters").put("binary_data_size", bytes.length);
        binary.writeBytes(bytes);
        kept.add(out);
      } else {
        kept.add(o);
      }
    }
    body.set("outputs", kept);
    if (binary.size() == 0) {
      return HttpJson.response(status, body);
    }
    byte[] json = body.toString().getBytes(StandardCharsets.UTF_8);
    byte[] all2 = new byte[json.length + binary.size()];
    System.arraycopy(json, 0, all2, 0, json.length);
    System.arraycopy(binary.toByteArray(), 0, all2, json.length, binary.size());
    return HttpResponse.create()
        .withStatus(status)
        .addHeader(RawHeader.create(HEADER_LENGTH, Integer.toString(json.length)))
        .withEntity(ContentTypes.APPLICATION_OCTET_STREAM, all2);
  }

  /** Whether {@code req} wants output {@code name}: it named none (all), or named this one. */
  static boolean wanted(InputDecoder.InferRequest req, String name) {
    return req.outputs().isEmpty() || asked(req, name) != null;
  }

  /**
   * A BYTES tensor's elements in the binary layout (the extension's and gRPC's raw contents): each
   * element's 4-byte little-endian length, then its UTF-8 bytes.
   */
  static byte[] lengthPrefixed(Iterable<String> elements) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (String e : elements) {
      byte[] utf8 = e.getBytes(StandardCharsets.UTF_8);
      out.writeBytes(
          ByteBuffer.allocate(Integer.BYTES)
              .order(ByteOrder.LITTLE_ENDIAN)
              .putInt(utf8.length)
              .array());
      out.writeBytes(utf8);
    }
    return out.toByteArray();
  }

  private static InputDecoder.OutputRequest asked(InputDecoder.InferRequest req, String name) {
    for (InputDecoder.OutputRequest o : req.outputs()) {
      if (o.name().equals(name)) {
        return o;
      }
    }
    return null;
  }

  /** A JSON output's data in the extension's layout for its datatype. */
  static byte[] encode(String datatype, JsonNode data) {
    if ("BYTES".equals(datatype)) {
      List<String> texts = new java.util.ArrayList<>(data.size());
      data.forEach(d -> texts.add(d.asText()));
      return lengthPrefixed(texts);
    }
    if (!"FP32".equals(datatype)) {
      throw new IllegalStateException("no binary layout for output datatype " + datatype);
    }
    ByteBuffer b = ByteBuffer.allocate(data.size() * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (JsonNode d : data) {
      b.putFloat(d.floatValue());
    }
    return b.array();
  }
}
