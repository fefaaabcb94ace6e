package io.rendezvous.node.freshness;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A joined correction as the trainer keeps it, read from the feedback topic: the request's input
 * (float32 as the models saw it, or for a text endpoint the text as sent, {@code input} then
 * empty), the label the user gave, and what each model version said of it in its role then (live,
 * shadow, canary). {@code heldOut}: one of the corrections the trainer never trains on, chosen by
 * the request id ({@link #isHeldOut}), so every trainer and every replay agrees on which they are.
 */
public record Correction(
    String requestId,
    String endpoint,
    long atMicros,
    int labelIndex,
    float[] input,
    List<Seen> scores,
    boolean heldOut,
    String text) {

  /** Version {@code version} of {@code model}, in {@code role}, scored {@code top} highest. */
  public record Seen(String model, String version, String role, int top) {}

  public Correction {
    scores = List.copyOf(scores);
  }

  /** An image correction (a float32 input). */
  public Correction(
      String requestId,
      String endpoint,
      long atMicros,
      int labelIndex,
      float[] input,
      List<Seen> scores,
      boolean heldOut) {
    this(requestId, endpoint, atMicros, labelIndex, input, scores, heldOut, null);
  }

  /**
   * Whether the correction of {@code requestId} is held out, for a held-out share {@code share}.
   */
  public static boolean isHeldOut(String requestId, double share) {
    // a hash of the id spread over [0, 1): independent of arrival order and of the node
    long h = 1125899906842597L;
    for (int i = 0; i < requestId.length(); i++) {
      h = 31 * h + requestId.charAt(i);
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    return (h >>> 11) * 0x1.0p-53 < share;
  }

  /** The score of {@code model} in {@code role}, or null. */
  public Seen seen(String model, String role) {
    for (Seen s : scores) {
      if (s.model().equals(model) && role.equals(s.role())) {
        return s;
      }
    }
    return null;
  }

  /** The score of {@code version} of {@code model}, or null. */
  public Seen seenVersion(String model, String version) {
    for (Seen s : scores) {
      if (s.model().equals(model) && s.version().equals(version)) {
        return s;
      }
    }
    return null;
  }

  /**
   * A feedback record as the {@code rendezvous-feedback} topic carries it (JournalJson); null when
   * its input is not one float32 instance or one text (nothing a trainer of these models could
   * use).
   */
  public static Correction fromJson(byte[] json, double heldOutShare) throws IOException {
    JsonNode f = Json.MAPPER.readTree(json);
    if (f == null || !"feedback".equals(f.path("type").asText())) {
      throw new IOException("not a feedback record");
    }
    JsonNode in = f.path("input");
    JsonNode shape = in.path("shape");
    String text = null;
    float[] input = new float[0];
    if (io.rendezvous.model.TensorData.TEXT.equals(in.path("dtype").asText())) {
      JsonNode texts = in.path("texts");
      if (!texts.isArray() || texts.size() != 1) {
        return null;
      }
      text = texts.get(0).asText();
    } else if (!"float32".equals(in.path("dtype").asText())
        || !shape.isArray()
        || shape.size() != 2
        || shape.get(0).asLong() != 1) {
      return null;
    } else {
      byte[] data = Base64.getDecoder().decode(in.path("data_base64").asText());
      ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
      input = new float[data.length / Float.BYTES];
      b.asFloatBuffer().get(input);
    }
    List<Seen> seen = new ArrayList<>();
    for (JsonNode s : f.path("scores")) {
      JsonNode p = s.path("probabilities");
      if (!p.isArray() || p.isEmpty()) {
        continue;
      }
      int top = 0;
      for (int i = 1; i < p.size(); i++) {
        if (p.get(i).asDouble() > p.get(top).asDouble()) {
          top = i;
        }
      }
      seen.add(
          new Seen(
              s.path("model").asText(),
              s.path("version").asText(),
              s.path("role").asText("live"),
              top));
    }
    String id = f.path("id").asText();
    return new Correction(
        id,
        f.path("endpoint").asText(),
        f.path("at_micros").asLong(),
        f.path("label_index").asInt(),
        input,
        seen,
        isHeldOut(id, heldOutShare),
        text);
  }
}
