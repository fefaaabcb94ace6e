package io.rendezvous.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.model.TensorData;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The outbox's streaming encoder writes exactly the JSON of the tree that journal-dump and the
 * topics' consumers have always read: the payloads are a contract.
 */
class JournalJsonTest {
  static final ObjectMapper JSON = new ObjectMapper();
  final Random random = new Random(42);

  String maybe(String s) {
    return random.nextInt(4) == 0 ? null : s;
  }

  float[] probabilities() {
    if (random.nextInt(5) == 0) {
      return null;
    }
    float[] p = new float[10];
    for (int i = 0; i < p.length; i++) {
      // every kind of float text: tiny, exponents, negative zero, integers
      p[i] =
          switch (random.nextInt(5)) {
            case 0 -> random.nextFloat();
            case 1 -> random.nextFloat() * 1e-30f;
            case 2 -> -0.0f;
            case 3 -> random.nextInt(1000);
            default -> Float.intBitsToFloat(random.nextInt()) % 1e30f;
          };
    }
    return p;
  }

  JournalRecord record() {
    long at = random.nextLong() >>> 1;
    return switch (random.nextInt(3)) {
      case 0 -> {
        byte[] data = new byte[random.nextInt(3137)];
        random.nextBytes(data);
        yield new JournalRecord.Input(
            "id-" + random.nextInt(),
            maybe("client \"é\" \n" + random.nextInt()),
            "node-1",
            "rendezvous",
            at,
            maybe("image/png"),
            maybe("ab12"),
            new TensorData("uint8", new long[] {1, data.length}, data),
            maybe("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
      }
      case 1 ->
          new JournalRecord.Score(
              "id-" + random.nextInt(),
              "node-1",
              maybe("rendezvous"),
              at,
              "m" + random.nextInt(3),
              maybe("1"),
              JournalRecord.Outcome.values()[random.nextInt(JournalRecord.Outcome.values().length)],
              at + random.nextInt(),
              random.nextInt(100_000),
              probabilities(),
              maybe("model failed: \u0001 \\ /"));
      default ->
          new JournalRecord.Answer(
              "id-" + random.nextInt(),
              maybe("client"),
              "node-1",
              "rendezvous",
              at,
              random.nextBoolean() ? 200 : 504,
              maybe("m3"),
              maybe("1"),
              random.nextInt(3) - 1,
              maybe("Sneaker"),
              probabilities(),
              random.nextInt(50_000),
              maybe("no model answered"));
    };
  }

  /** The tree encoder the topics were first written with: the contract. */
  static ObjectNode reference(JournalRecord r) {
    ObjectNode o = JSON.createObjectNode();
    o.put("schema", JournalRecord.SCHEMA_VERSION);
    o.put("type", r.type());
    o.put("id", r.requestId());
    o.put("node", r.node());
    o.put("endpoint", r.endpoint());
    o.put("at_micros", r.atMicros());
    if (r instanceof JournalRecord.Input i) {
      o.put("client_id", i.clientId());
      o.put("source", i.source());
      o.put("source_sha256", i.sourceSha256());
      o.put("dtype", i.tensor().dtype());
      ArrayNode shape = o.putArray("shape");
      for (long d : i.tensor().shape()) {
        shape.add(d);
      }
      o.put("data_base64", Base64.getEncoder().encodeToString(i.tensor().data()));
      o.put("traceparent", i.traceparent());
    } else if (r instanceof JournalRecord.Score s) {
      o.put("model", s.model());
      o.put("version", s.version());
      o.put("outcome", s.outcome().wireName());
      o.put("arrival_micros", s.arrivalMicros());
      o.put("inference_micros", s.inferenceMicros());
      probabilities(o, s.probabilities());
      o.put("error", s.error());
      o.put("role", s.role());
    } else if (r instanceof JournalRecord.Answer a) {
      o.put("client_id", a.clientId());
      o.put("status", a.status());
      o.put("model", a.model());
      o.put("version", a.version());
      o.put("stage", a.stage());
      o.put("label", a.label());
      probabilities(o, a.probabilities());
      o.put("decided_micros", a.decidedMicros());
      o.put("error", a.error());
      o.put("generation", a.generation());
      o.put("policy", a.policy());
    }
    return o;
  }

  static void probabilities(ObjectNode o, float[] p) {
    if (p != null) {
      ArrayNode a = o.putArray("probabilities");
      for (float v : p) {
        a.add(v);
      }
    }
  }

  @Test
  void streamingBytesAreTheTreesBytes() throws Exception {
    for (int i = 0; i < 5_000; i++) {
      JournalRecord r = record();
      String expected = JSON.writeValueAsString(reference(r));
      assertEquals(expected, new String(JournalJson.toBytes(r), StandardCharsets.UTF_8));
      assertEquals(expected, JournalJson.toJson(r));
    }
  }
}
