package io.rendezvous.journal;

import static net.openhft.chronicle.wire.BinaryWireCode.BYTES_LENGTH16;
import static net.openhft.chronicle.wire.BinaryWireCode.BYTES_LENGTH32;
import static net.openhft.chronicle.wire.BinaryWireCode.BYTES_LENGTH8;
import static net.openhft.chronicle.wire.BinaryWireCode.FIELD_NAME0;
import static net.openhft.chronicle.wire.BinaryWireCode.FLOAT32;
import static net.openhft.chronicle.wire.BinaryWireCode.INT16;
import static net.openhft.chronicle.wire.BinaryWireCode.INT32;
import static net.openhft.chronicle.wire.BinaryWireCode.INT64;
import static net.openhft.chronicle.wire.BinaryWireCode.INT8;
import static net.openhft.chronicle.wire.BinaryWireCode.NULL;
import static net.openhft.chronicle.wire.BinaryWireCode.STRING_0;
import static net.openhft.chronicle.wire.BinaryWireCode.STRING_ANY;
import static net.openhft.chronicle.wire.BinaryWireCode.U8_ARRAY;
import static net.openhft.chronicle.wire.BinaryWireCode.UINT16;
import static net.openhft.chronicle.wire.BinaryWireCode.UINT32;
import static net.openhft.chronicle.wire.BinaryWireCode.UINT8;

import io.rendezvous.journal.JournalRecord.Answer;
import io.rendezvous.journal.JournalRecord.Input;
import io.rendezvous.journal.JournalRecord.Score;
import io.rendezvous.model.TensorData;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The journal writer's encoder for the records every request makes (input, score, answer): the same
 * bytes Chronicle's binary wire writes for them through {@link JournalCodec#write}, built in a heap
 * buffer that is reused from record to record and then copied into the mapped file in one piece.
 * Through the wire every field name and text is encoded anew and the mapped bytes are written a few
 * at a time through their bounds checks, about a third of the writer's CPU per request
 * (docs/benchmarks.md). The format does not change: {@link JournalCodec} reads what this writes,
 * and a test holds the bytes equal to the wire's. A record with a text that is not plain ASCII, and
 * the rare record types (feedback, lifecycle), are left to the wire. One per writer thread; not
 * thread-safe.
 */
final class JournalEncoder {
  private static final VarHandle SHORT =
      MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle INT =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle LONG =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  // every field name as the wire writes it: its code (with the length) and its characters
  private static final byte[] SCHEMA = field("schema");
  private static final byte[] TYPE = field("type");
  private static final byte[] ID = field("id");
  private static final byte[] NODE = field("node");
  private static final byte[] ENDPOINT = field("endpoint");
  private static final byte[] AT_MICROS = field("atMicros");
  private static final byte[] CLIENT_ID = field("clientId");
  private static final byte[] SOURCE = field("source");
  private static final byte[] SOURCE_SHA256 = field("sourceSha256");
  private static final byte[] DTYPE = field("dtype");
  private static final byte[] SHAPE = field("shape");
  private static final byte[] ENCODING = field("encoding");
  private static final byte[] DATA = field("data");
  private static final byte[] TRACEPARENT = field("traceparent");
  private static final byte[] MODEL = field("model");
  private static final byte[] VERSION = field("version");
  private static final byte[] OUTCOME = field("outcome");
  private static final byte[] ARRIVAL_MICROS = field("arrivalMicros");
  private static final byte[] INFERENCE_MICROS = field("inferenceMicros");
  private static final byte[] PROBABILITIES = field("probabilities");
  private static final byte[] ERROR = field("error");
  private static final byte[] ROLE = field("role");
  private static final byte[] STATUS = field("status");
  private static final byte[] STAGE = field("stage");
  private static final byte[] LABEL = field("label");
  private static final byte[] DECIDED_MICROS = field("decidedMicros");
  private static final byte[] GENERATION = field("generation");
  private static final byte[] POLICY = field("policy");

  /** Packs each input into buffers it keeps, as this encoder keeps {@link #buf}. */
  private final InputPacking.Packer packer = new InputPacking.Packer();

  private byte[] buf = new byte[4096];

  /** How many recurring texts are kept (a power of two: slots by hash). */
  private static final int RECENT_TEXTS = 64;

  /** Longer texts are not kept: they are not what recurs. */
  private static final int MAX_RECENT_TEXT = 64;

  private final String[] recentTexts = new String[RECENT_TEXTS];
  private final byte[][] recentEncoded = new byte[RECENT_TEXTS][];
  private int pos;
  // a text that is not plain ASCII was met: the record goes through the wire instead
  private boolean notAscii;

  /**
   * Encodes {@code r} into {@link #buffer()}; returns its length there, or -1 when the record is
   * left to the wire ({@link JournalCodec#write}).
   */
  int encode(JournalRecord r) {
    pos = 0;
    notAscii = false;
    if (r instanceof Input i) {
      input(i);
    } else if (r instanceof Score s) {
      score(s);
    } else if (r instanceof Answer a) {
      answer(a);
    } else {
      return -1;
    }
    return notAscii ? -1 : pos;
  }

  /** The bytes of the last record encoded, from 0 to the length {@link #encode} returned. */
  byte[] buffer() {
    return buf;
  }

  private void input(Input i) {
    TensorData t = i.tensor();
    String packing =
        JournalCodec.isPacked(i) && packer.pack(t.dataView()) ? packer.encoding() : null;
    field(SCHEMA);
    number(JournalCodec.schemaOf(i, packing));
    common(i);
    field(CLIENT_ID);
    text(orEmpty(i.clientId()));
    field(SOURCE);
    recurring(orEmpty(i.source()));
    field(SOURCE_SHA256);
    text(orEmpty(i.sourceSha256()));
    field(DTYPE);
    recurring(t.dtype());
    field(SHAPE);
    // a sequence: its length in four bytes, filled in once its items are written
    code(BYTES_LENGTH32);
    int lengthAt = pos;
    pos += Integer.BYTES;
    for (long d : t.shape()) {
      number(d);
    }
    INT.set(buf, lengthAt, pos - lengthAt - Integer.BYTES);
    field(ENCODING);
    recurring(packing == null ? JournalCodec.RAW : packing);
    field(DATA);
    if (packing != null) {
      bytes(packer.bytes(), packer.length());
    } else {
      ByteBuffer data = t.dataView();
      int n = data.remaining();
      bytesHeader(n);
      data.get(buf, pos, n);
      pos += n;
    }
    field(TRACEPARENT);
    text(orEmpty(i.traceparent()));
  }

  private void score(Score s) {
    field(SCHEMA);
    number(JournalCodec.schemaOf(s, null));
    common(s);
    field(MODEL);
    recurring(s.model());
    field(VERSION);
    recurring(orEmpty(s.version()));
    field(OUTCOME);
    recurring(s.outcome().wireName());
    field(ARRIVAL_MICROS);
    number(s.arrivalMicros());
    field(INFERENCE_MICROS);
    number(s.inferenceMicros());
    field(PROBABILITIES);
    floats(s.probabilities());
    field(ERROR);
    text(orEmpty(s.error()));
    field(ROLE);
    recurring(orEmpty(s.role()));
  }

  private void answer(Answer a) {
    field(SCHEMA);
    number(JournalCodec.schemaOf(a, null));
    common(a);
    field(CLIENT_ID);
    text(orEmpty(a.clientId()));
    field(STATUS);
    number(a.status());
    field(MODEL);
    recurring(orEmpty(a.model()));
    field(VERSION);
    recurring(orEmpty(a.version()));
    field(STAGE);
    number(a.stage());
    field(LABEL);
    recurring(orEmpty(a.label()));
    field(PROBABILITIES);
    floats(a.probabilities());
    field(DECIDED_MICROS);
    number(a.decidedMicros());
    field(ERROR);
    text(orEmpty(a.error()));
    field(GENERATION);
    number(a.generation());
    field(POLICY);
    recurring(orEmpty(a.policy()));
  }

  private void common(JournalRecord r) {
    field(TYPE);
    recurring(r.type());
    field(ID);
    text(r.requestId());
    field(NODE);
    recurring(r.node());
    field(ENDPOINT);
    recurring(orEmpty(r.endpoint()));
    field(AT_MICROS);
    number(r.atMicros());
  }

  private static byte[] field(String name) {
    // every name here is short and plain: the wire writes it as one code and its characters
    byte[] out = new byte[1 + name.length()];
    out[0] = (byte) (FIELD_NAME0 + name.length());
    for (int k = 0; k < name.length(); k++) {
      out[1 + k] = (byte) name.charAt(k);
    }
    return out;
  }

  private void field(byte[] encoded) {
    room(encoded.length);
    System.arraycopy(encoded, 0, buf, pos, encoded.length);
    pos += encoded.length;
  }

  /**
   * A text that comes back record after record (the node, the endpoint, a model's name and version,
   * an outcome, a label): copied as it was last encoded when it is one of the last few met, else
   * encoded and kept. A request's five records carry about twenty such texts.
   */
  private void recurring(String s) {
    if (s == null) {
      text(null);
      return;
    }
    // String keeps its hash; equals is an identity check first, and most of these are the same
    // instances every time
    int slot = s.hashCode() & (RECENT_TEXTS - 1);
    if (s.equals(recentTexts[slot])) {
      byte[] encoded = recentEncoded[slot];
      room(encoded.length);
      System.arraycopy(encoded, 0, buf, pos, encoded.length);
      pos += encoded.length;
      return;
    }
    int start = pos;
    boolean notAsciiBefore = notAscii;
    notAscii = false;
    text(s);
    if (!notAscii && s.length() <= MAX_RECENT_TEXT) {
      recentTexts[slot] = s;
      recentEncoded[slot] = java.util.Arrays.copyOfRange(buf, start, pos);
    }
    notAscii |= notAsciiBefore;
  }

  /**
   * As the wire's text: short ones in one code with the length, longer ones with a stop-bit one.
   */
  private void text(String s) {
    if (s == null) {
      code(NULL);
      return;
    }
    int n = s.length();
    room(n + 6);
    if (n < 0x20) {
      buf[pos++] = (byte) (STRING_0 + n);
    } else {
      buf[pos++] = (byte) STRING_ANY;
      stopBit(n);
    }
    for (int k = 0; k < n; k++) {
      char c = s.charAt(k);
      // past plain ASCII the wire's own UTF-8 (and its lengths) decide: leave the record to it
      notAscii |= c >= 0x80;
      buf[pos++] = (byte) c;
    }
  }

  /** Float32 values as their little-endian bytes, as {@link JournalCodec} stores them. */
  private void floats(float[] values) {
    int n = values == null ? 0 : values.length;
    bytesHeader(n * Float.BYTES);
    for (int k = 0; k < n; k++) {
      INT.set(buf, pos, Float.floatToRawIntBits(values[k]));
      pos += Float.BYTES;
    }
  }

  private void bytes(byte[] b, int length) {
    bytesHeader(length);
    System.arraycopy(b, 0, buf, pos, length);
    pos += length;
  }

  /** The wire's length (the bytes and their code) and its code for an array of bytes. */
  private void bytesHeader(int n) {
    room(n + 8);
    long length = n + 1L;
    if (length < 1 << 8) {
      code(BYTES_LENGTH8);
      buf[pos++] = (byte) length;
    } else if (length < 1 << 16) {
      code(BYTES_LENGTH16);
      SHORT.set(buf, pos, (short) length);
      pos += Short.BYTES;
    } else {
      code(BYTES_LENGTH32);
      INT.set(buf, pos, (int) length);
      pos += Integer.BYTES;
    }
    code(U8_ARRAY);
  }

  /** A number in the fewest bytes, as the wire's variable-width numbers are written. */
  private void number(long v) {
    room(1 + Long.BYTES);
    int zeros = Long.numberOfLeadingZeros(v);
    if (zeros >= 56) {
      code(UINT8);
      buf[pos++] = (byte) v;
    } else if (zeros >= 49) {
      code(INT16);
      SHORT.set(buf, pos, (short) v);
      pos += Short.BYTES;
    } else if (zeros == 48) {
      code(UINT16);
      SHORT.set(buf, pos, (short) v);
      pos += Short.BYTES;
    } else if (zeros >= 33) {
      code(INT32);
      INT.set(buf, pos, (int) v);
      pos += Integer.BYTES;
    } else if (zeros == 32) {
      code(UINT32);
      INT.set(buf, pos, (int) v);
      pos += Integer.BYTES;
    } else if (zeros == 0 && v >= Byte.MIN_VALUE) {
      code(INT8);
      buf[pos++] = (byte) v;
    } else if (zeros == 0 && v >= Short.MIN_VALUE) {
      code(INT16);
      SHORT.set(buf, pos, (short) v);
      pos += Short.BYTES;
    } else if (zeros == 0 && v >= Integer.MIN_VALUE) {
      code(INT32);
      INT.set(buf, pos, (int) v);
      pos += Integer.BYTES;
    } else if ((long) (float) v == v) {
      code(FLOAT32);
      INT.set(buf, pos, Float.floatToRawIntBits((float) v));
      pos += Float.BYTES;
    } else {
      code(INT64);
      LONG.set(buf, pos, v);
      pos += Long.BYTES;
    }
  }

  private void stopBit(long n) {
    while ((n & ~0x7FL) != 0) {
      buf[pos++] = (byte) ((n & 0x7F) | 0x80);
      n >>>= 7;
    }
    buf[pos++] = (byte) n;
  }

  private void code(int code) {
    room(1);
    buf[pos++] = (byte) code;
  }

  private void room(int n) {
    if (pos + n > buf.length) {
      buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n));
    }
  }

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }
}
