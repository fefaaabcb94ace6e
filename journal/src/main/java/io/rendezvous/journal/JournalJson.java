package io.rendezvous.journal;

import com.fasterxml.jackson.core.Base64Variants;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * A journal record as one JSON object: what journal-dump prints and what the Kafka topics carry.
 */
public final class JournalJson {
  private static final ObjectMapper JSON = new ObjectMapper();

  private JournalJson() {}

  public static String toJson(JournalRecord r) {
    return new String(toBytes(r), StandardCharsets.UTF_8);
  }

  /**
   * The record as JSON, written straight to bytes without building a tree: the Kafka outbox encodes
   * every record it publishes. The fields, their order and their numbers are the topics' contract
   * (JournalJsonTest holds them to the tree encoder this replaced).
   */
  public static byte[] toBytes(JournalRecord r) {
    ByteArrayBuilder out =
        new ByteArrayBuilder(
            r instanceof JournalRecord.Input || r instanceof JournalRecord.Feedback ? 6144 : 512);
    try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
      write(g, r);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static void write(JsonGenerator g, JournalRecord r) throws IOException {
    g.writeStartObject();
    g.writeNumberField("schema", JournalRecord.SCHEMA_VERSION);
    g.writeStringField("type", r.type());
    g.writeStringField("id", r.requestId());
    g.writeStringField("node", r.node());
    g.writeStringField("endpoint", r.endpoint());
    g.writeNumberField("at_micros", r.atMicros());
    if (r instanceof JournalRecord.Input i) {
      g.writeStringField("client_id", i.clientId());
      g.writeStringField("source", i.source());
      g.writeStringField("source_sha256", i.sourceSha256());
      g.writeStringField("dtype", i.tensor().dtype());
      g.writeArrayFieldStart("shape");
      for (long d : i.tensor().shape()) {
        g.writeNumber(d);
      }
      g.writeEndArray();
      g.writeFieldName("data_base64");
      // standard Base64 with padding, no line breaks: what java.util.Base64.getEncoder() writes
      byte[] data = i.tensor().data();
      g.writeBinary(Base64Variants.MIME_NO_LINEFEEDS, data, 0, data.length);
      if (io.rendezvous.model.TensorData.TEXT.equals(i.tensor().dtype())) {
        // the text itself, readable, beside its bytes
        g.writeArrayFieldStart("texts");
        for (String t : i.tensor().texts()) {
          g.writeString(t);
        }
        g.writeEndArray();
      }
      g.writeStringField("traceparent", i.traceparent());
    } else if (r instanceof JournalRecord.Score s) {
      g.writeStringField("model", s.model());
      g.writeStringField("version", s.version());
      g.writeStringField("outcome", s.outcome().wireName());
      g.writeNumberField("arrival_micros", s.arrivalMicros());
      g.writeNumberField("inference_micros", s.inferenceMicros());
      probabilities(g, s.probabilities());
      g.writeStringField("error", s.error());
      g.writeStringField("role", s.role());
    } else if (r instanceof JournalRecord.Answer a) {
      g.writeStringField("client_id", a.clientId());
      g.writeNumberField("status", a.status());
      g.writeStringField("model", a.model());
      g.writeStringField("version", a.version());
      g.writeNumberField("stage", a.stage());
      g.writeStringField("label", a.label());
      probabilities(g, a.probabilities());
      g.writeNumberField("decided_micros", a.decidedMicros());
      g.writeStringField("error", a.error());
      g.writeNumberField("generation", a.generation());
      g.writeStringField("policy", a.policy());
    } else if (r instanceof JournalRecord.Feedback f) {
      g.writeStringField("source", f.source());
      g.writeStringField("label", f.label());
      g.writeNumberField("label_index", f.labelIndex());
      g.writeStringField("received_by", f.receivedBy());
      // the story as its own records would be on their topics
      g.writeFieldName("input");
      write(g, f.input());
      g.writeArrayFieldStart("scores");
      for (JournalRecord.Score s : f.scores()) {
        write(g, s);
      }
      g.writeEndArray();
      if (f.answer() != null) {
        g.writeFieldName("answer");
        write(g, f.answer());
      }
    } else if (r instanceof JournalRecord.Lifecycle l) {
      g.writeStringField("event", l.event());
      g.writeStringField("model", l.model());
      g.writeStringField("version", l.version());
      g.writeNumberField("generation", l.generation());
      g.writeStringField("detail", l.detail());
    }
    g.writeEndObject();
  }

  private static void probabilities(JsonGenerator g, float[] p) throws IOException {
    if (p != null) {
      g.writeArrayFieldStart("probabilities");
      for (float v : p) {
        g.writeNumber(v);
      }
      g.writeEndArray();
    }
  }
}
