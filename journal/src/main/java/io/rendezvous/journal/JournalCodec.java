package io.rendezvous.journal;

import io.rendezvous.journal.JournalRecord.Answer;
import io.rendezvous.journal.JournalRecord.Feedback;
import io.rendezvous.journal.JournalRecord.Input;
import io.rendezvous.journal.JournalRecord.Lifecycle;
import io.rendezvous.journal.JournalRecord.Outcome;
import io.rendezvous.journal.JournalRecord.Score;
import io.rendezvous.model.TensorData;
import java.util.ArrayList;
import java.util.List;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.wire.ValueIn;
import net.openhft.chronicle.wire.WireIn;
import net.openhft.chronicle.wire.WireOut;
import net.openhft.chronicle.wire.WireType;

/**
 * The journal's on-disk format: self-describing Chronicle wire (field names stored), so Chronicle's
 * own reader tools can dump it and old records stay readable as fields are added.
 */
final class JournalCodec {
  /**
   * The on-disk format, in each record's "schema" field. 5: the feedback record (its story's
   * records nested in it, each in the format it would have on its own). 4: probabilities are stored
   * as the bytes of their float32 values (little-endian), not as a sequence of numbers (which the
   * wire wrote as text, costing a conversion each way per value). 3: an input's data may also be
   * stored as 8-bit pixels ({@link InputPacking#PIXELS}). 2 (still read): an input's data may be
   * stored without its all-zero words, as its "encoding" says. 1 (still read): the data as it was.
   * The records themselves ({@link JournalRecord#SCHEMA_VERSION}) are unchanged. A build that knows
   * an older format refuses a newer record by this number instead of misreading it, so each record
   * carries the lowest format that reads it: an input stored as pixels says 3, a score or answer 4.
   */
  static final int FORMAT_VERSION = 5;

  /** What a feedback record is written as (a record type older builds do not know). */
  private static final int FEEDBACK_FORMAT = 5;

  /** What an input stored as pixels is written as. */
  private static final int PIXELS_FORMAT = 3;

  /** What a score or answer is written as (their probabilities as float32 bytes). */
  private static final int PROBABILITY_BYTES_FORMAT = 4;

  /** What every record but a pixel-packed input is written as. */
  private static final int WORDS_FORMAT = 2;

  /** Input data stored as the model saw it; else {@link InputPacking}, when that is smaller. */
  static final String RAW = "raw";

  private JournalCodec() {}

  static void write(JournalRecord r, WireOut w) {
    InputPacking.Packed packed = r instanceof Input in ? packingOf(in) : null;
    w.write("schema").int32(schemaOf(r, packed == null ? null : packed.encoding()));
    if (r instanceof Input i) {
      common(w, i);
      w.write("clientId").text(orEmpty(i.clientId()));
      w.write("source").text(orEmpty(i.source()));
      w.write("sourceSha256").text(orEmpty(i.sourceSha256()));
      w.write("dtype").text(i.tensor().dtype());
      w.write("shape")
          .sequence(
              i.tensor().shape(),
              (s, out) -> {
                for (long d : s) {
                  out.int64(d);
                }
              });
      w.write("encoding").text(packed == null ? RAW : packed.encoding());
      w.write("data").bytes(packed == null ? i.tensor().data() : packed.bytes());
      // added since: an older build skips it, this one reads it as absent from older records
      w.write("traceparent").text(orEmpty(i.traceparent()));
    } else if (r instanceof Score s) {
      common(w, s);
      w.write("model").text(s.model());
      w.write("version").text(orEmpty(s.version()));
      w.write("outcome").text(s.outcome().wireName());
      w.write("arrivalMicros").int64(s.arrivalMicros());
      w.write("inferenceMicros").int64(s.inferenceMicros());
      floats(w, "probabilities", s.probabilities());
      w.write("error").text(orEmpty(s.error()));
      // fields added since: an older build skips them, this one reads them as absent from older
      // records
      w.write("role").text(orEmpty(s.role()));
    } else if (r instanceof Answer a) {
      common(w, a);
      w.write("clientId").text(orEmpty(a.clientId()));
      w.write("status").int32(a.status());
      w.write("model").text(orEmpty(a.model()));
      w.write("version").text(orEmpty(a.version()));
      w.write("stage").int32(a.stage());
      w.write("label").text(orEmpty(a.label()));
      floats(w, "probabilities", a.probabilities());
      w.write("decidedMicros").int64(a.decidedMicros());
      w.write("error").text(orEmpty(a.error()));
      w.write("generation").int64(a.generation());
      w.write("policy").text(orEmpty(a.policy()));
    } else if (r instanceof Feedback f) {
      common(w, f);
      w.write("source").text(f.source());
      w.write("label").text(f.label());
      w.write("labelIndex").int32(f.labelIndex());
      w.write("receivedBy").text(orEmpty(f.receivedBy()));
      w.write("input").bytes(encode(f.input()));
      w.write("scores")
          .sequence(
              f.scores(),
              (list, out) -> {
                for (Score s : list) {
                  out.bytes(encode(s));
                }
              });
      w.write("answer").bytes(f.answer() == null ? new byte[0] : encode(f.answer()));
    } else if (r instanceof Lifecycle l) {
      common(w, l);
      w.write("event").text(l.event());
      w.write("model").text(orEmpty(l.model()));
      w.write("version").text(orEmpty(l.version()));
      w.write("generation").int64(l.generation());
      w.write("detail").text(orEmpty(l.detail()));
    }
  }

  /** The input's float32 data packed, or null when it is stored as it is. */
  static InputPacking.Packed packingOf(Input in) {
    // packed from the tensor's own bytes: a copy of them first cost as much as the packing
    return isPacked(in) ? InputPacking.pack(in.tensor().dataView()) : null;
  }

  /** Whether {@code in}'s data is stored packed when packing makes it smaller. */
  static boolean isPacked(Input in) {
    return TensorData.FLOAT32.equals(in.tensor().dtype());
  }

  /**
   * The lowest format that reads {@code r} ({@code packing}: its input's packing, null when its
   * data is stored raw).
   */
  static int schemaOf(JournalRecord r, String packing) {
    return r instanceof Feedback
        ? FEEDBACK_FORMAT
        : r instanceof Score || r instanceof Answer
            ? PROBABILITY_BYTES_FORMAT
            : InputPacking.PIXELS.equals(packing) ? PIXELS_FORMAT : WORDS_FORMAT;
  }

  /**
   * The fields every record starts with, read without its body: enough to tell whose record it is
   * and when it was written ({@link JournalLookup} reads only these for most records it passes).
   */
  record Header(int schema, String type, String id, String node, String endpoint, long atMicros) {}

  static Header readHeader(WireIn w) {
    int schema = w.read("schema").int32();
    if (schema < 1 || schema > FORMAT_VERSION) {
      throw new IllegalStateException(
          "journal record schema " + schema + " is not readable by this build");
    }
    return new Header(
        schema,
        w.read("type").text(),
        w.read("id").text(),
        w.read("node").text(),
        w.read("endpoint").text(),
        w.read("atMicros").int64());
  }

  static JournalRecord read(WireIn w) {
    return readBody(readHeader(w), w);
  }

  /**
   * A scan's look at a record: its id into {@code id} (reused: no string per record) and its time;
   * {@code Long.MIN_VALUE} when its format is newer than this build's. The wire is left past the
   * header.
   */
  static long scanHeader(WireIn w, StringBuilder id) {
    int schema = w.read("schema").int32();
    if (schema < 1 || schema > FORMAT_VERSION) {
      return Long.MIN_VALUE;
    }
    w.read("type").skipValue();
    w.read("id").textTo(id);
    w.read("node").skipValue();
    w.read("endpoint").skipValue();
    return w.read("atMicros").int64();
  }

  /** The rest of the record whose {@code header} was just read from {@code w}. */
  static JournalRecord readBody(Header h, WireIn w) {
    int schema = h.schema();
    String type = h.type();
    String id = h.id();
    String node = h.node();
    String endpoint = h.endpoint();
    long at = h.atMicros();
    return switch (type) {
      case JournalRecord.Input.TYPE -> {
        String clientId = nullIfEmpty(w.read("clientId").text());
        String source = nullIfEmpty(w.read("source").text());
        String sha = nullIfEmpty(w.read("sourceSha256").text());
        String dtype = w.read("dtype").text();
        List<Long> shape = new ArrayList<>();
        w.read("shape")
            .sequence(
                shape,
                (l, in) -> {
                  while (in.hasNextSequenceItem()) {
                    l.add(in.int64());
                  }
                });
        // schema 1 stored the bytes as they were
        String encoding = schema >= 2 ? w.read("encoding").text() : RAW;
        byte[] data = w.read("data").bytes();
        if (InputPacking.isPacking(encoding)) {
          data = InputPacking.unpack(encoding, data);
        } else if (!RAW.equals(encoding)) {
          throw new IllegalStateException(
              "input " + id + " has data in an unknown encoding '" + encoding + "'");
        }
        long[] dims = shape.stream().mapToLong(Long::longValue).toArray();
        String traceparent = nullIfEmpty(w.read("traceparent").text());
        yield new Input(
            id,
            clientId,
            node,
            endpoint,
            at,
            source,
            sha,
            new TensorData(dtype, dims, data),
            traceparent);
      }
      case JournalRecord.Score.TYPE ->
          new Score(
              id,
              node,
              endpoint,
              at,
              w.read("model").text(),
              nullIfEmpty(w.read("version").text()),
              Outcome.valueOf(w.read("outcome").text().toUpperCase(java.util.Locale.ROOT)),
              w.read("arrivalMicros").int64(),
              w.read("inferenceMicros").int64(),
              floats(w.read("probabilities"), schema),
              nullIfEmpty(w.read("error").text()),
              nullIfEmpty(w.read("role").text()));
      case JournalRecord.Answer.TYPE ->
          new Answer(
              id,
              nullIfEmpty(w.read("clientId").text()),
              node,
              endpoint,
              at,
              w.read("status").int32(),
              nullIfEmpty(w.read("model").text()),
              nullIfEmpty(w.read("version").text()),
              w.read("stage").int32(),
              nullIfEmpty(w.read("label").text()),
              floats(w.read("probabilities"), schema),
              w.read("decidedMicros").int64(),
              nullIfEmpty(w.read("error").text()),
              w.read("generation").int64(),
              nullIfEmpty(w.read("policy").text()));
      case JournalRecord.Feedback.TYPE -> {
        String source = w.read("source").text();
        String label = w.read("label").text();
        int labelIndex = w.read("labelIndex").int32();
        String receivedBy = nullIfEmpty(w.read("receivedBy").text());
        Input input = (Input) decode(w.read("input").bytes());
        List<Score> scores = new ArrayList<>();
        w.read("scores")
            .sequence(
                scores,
                (l, in) -> {
                  while (in.hasNextSequenceItem()) {
                    l.add((Score) decode(in.bytes()));
                  }
                });
        byte[] answer = w.read("answer").bytes();
        yield new Feedback(
            id,
            node,
            endpoint,
            at,
            source,
            label,
            labelIndex,
            receivedBy,
            input,
            scores,
            answer == null || answer.length == 0 ? null : (Answer) decode(answer));
      }
      case JournalRecord.Lifecycle.TYPE ->
          new Lifecycle(
              id,
              node,
              nullIfEmpty(endpoint),
              at,
              w.read("event").text(),
              nullIfEmpty(w.read("model").text()),
              nullIfEmpty(w.read("version").text()),
              w.read("generation").int64(),
              nullIfEmpty(w.read("detail").text()));
      default -> throw new IllegalStateException("unknown journal record type '" + type + "'");
    };
  }

  /** A record on its own, as the journal would hold it: a feedback record nests its story so. */
  static byte[] encode(JournalRecord r) {
    Bytes<byte[]> bytes = Bytes.allocateElasticOnHeap(r instanceof Input ? 2048 : 256);
    try {
      write(r, WireType.BINARY.apply(bytes));
      return bytes.toByteArray();
    } finally {
      bytes.releaseLast();
    }
  }

  static JournalRecord decode(byte[] encoded) {
    Bytes<byte[]> bytes = Bytes.wrapForRead(encoded);
    try {
      return read(WireType.BINARY.apply(bytes));
    } finally {
      bytes.releaseLast();
    }
  }

  private static void common(WireOut w, JournalRecord r) {
    w.write("type").text(r.type());
    w.write("id").text(r.requestId());
    w.write("node").text(r.node());
    w.write("endpoint").text(orEmpty(r.endpoint()));
    w.write("atMicros").int64(r.atMicros());
  }

  /** Float32 values as their little-endian bytes (format 4). */
  private static void floats(WireOut w, String key, float[] values) {
    float[] v = values == null ? new float[0] : values;
    byte[] bytes = new byte[v.length * Float.BYTES];
    java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(v);
    w.write(key).bytes(bytes);
  }

  private static float[] floats(ValueIn in, int schema) {
    if (schema < PROBABILITY_BYTES_FORMAT) {
      return floatSequence(in);
    }
    byte[] bytes = in.bytes();
    if (bytes == null || bytes.length == 0) {
      return null;
    }
    float[] v = new float[bytes.length / Float.BYTES];
    java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
    return v;
  }

  /** Formats 1-3: a sequence of float32 numbers. */
  private static float[] floatSequence(ValueIn in) {
    List<Float> values = new ArrayList<>();
    in.sequence(
        values,
        (l, v) -> {
          while (v.hasNextSequenceItem()) {
            l.add(v.float32());
          }
        });
    if (values.isEmpty()) {
      return null;
    }
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.get(i);
    }
    return out;
  }

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }

  private static String nullIfEmpty(String s) {
    return s == null || s.isEmpty() ? null : s;
  }
}
