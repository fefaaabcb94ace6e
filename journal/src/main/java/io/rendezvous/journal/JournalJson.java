package io.rendezvous.journal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Base64;

/**
 * A journal record as one JSON object: what journal-dump prints and what the Kafka topics carry.
 */
public final class JournalJson {
  private static final ObjectMapper JSON = new ObjectMapper();

  private JournalJson() {}

  public static ObjectNode toNode(JournalRecord r) {
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
    } else if (r instanceof JournalRecord.Score s) {
      o.put("model", s.model());
      o.put("version", s.version());
      o.put("outcome", s.outcome().wireName());
      o.put("arrival_micros", s.arrivalMicros());
      o.put("inference_micros", s.inferenceMicros());
      probabilities(o, s.probabilities());
      o.put("error", s.error());
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
    }
    return o;
  }

  public static String toJson(JournalRecord r) {
    try {
      return JSON.writeValueAsString(toNode(r));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  public static byte[] toBytes(JournalRecord r) {
    try {
      return JSON.writeValueAsBytes(toNode(r));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void probabilities(ObjectNode o, float[] p) {
    if (p != null) {
      ArrayNode a = o.putArray("probabilities");
      for (float v : p) {
        a.add(v);
      }
    }
  }
}
