package io.rendezvous.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rendezvous.journal.JournalRecord.Answer;
import io.rendezvous.journal.JournalRecord.Input;
import io.rendezvous.journal.JournalRecord.Outcome;
import io.rendezvous.journal.JournalRecord.Score;
import io.rendezvous.model.TensorData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The writer's own encoder against Chronicle's wire: for random records of every kind it encodes,
 * the bytes of a document written each way into a real queue are the same, and what it leaves to
 * the wire (a text that is not ASCII, a feedback record) it says so of.
 */
class JournalEncoderTest {
  @TempDir Path dir;

  private final Random random = new Random(20261206);

  @Test
  void writesTheWiresBytesForRandomInputsScoresAndAnswers() {
    List<JournalRecord> records = new ArrayList<>();
    for (int k = 0; k < 3_000; k++) {
      records.add(input());
      records.add(score());
      records.add(answer());
    }
    JournalEncoder encoder = new JournalEncoder();
    try (SingleChronicleQueue queue = SingleChronicleQueueBuilder.binary(dir).build();
        ExcerptAppender appender = queue.createAppender();
        ExcerptTailer tailer = queue.createTailer()) {
      for (JournalRecord r : records) {
        try (DocumentContext dc = appender.writingDocument()) {
          JournalCodec.write(r, dc.wire());
        }
        int n = encoder.encode(r);
        assertTrue(n > 0, () -> "left to the wire: " + r);
        byte[] mine = java.util.Arrays.copyOf(encoder.buffer(), n);
        try (DocumentContext dc = appender.writingDocument()) {
          dc.wire().bytes().write(mine);
        }
        byte[] wire = next(tailer);
        byte[] written = next(tailer);
        assertArrayEquals(
            wire, written, () -> "bytes differ for " + r + ": " + diff(wire, written));
        // and the codec reads it back as that record
        JournalRecord back = JournalCodec.decode(mine);
        assertEquals(r.getClass(), back.getClass());
        assertEquals(r.requestId(), back.requestId());
        assertEquals(r.atMicros(), back.atMicros());
      }
    }
  }

  @Test
  void leavesRecordsWithTextBeyondAsciiAndOtherKindsToTheWire() {
    JournalEncoder encoder = new JournalEncoder();
    Score s = score();
    Score accented =
        new Score(
            s.requestId(),
            s.node(),
            s.endpoint(),
            s.atMicros(),
            s.model(),
            s.version(),
            s.outcome(),
            s.arrivalMicros(),
            s.inferenceMicros(),
            s.probabilities(),
            "modèle en panne",
            s.role());
    assertEquals(-1, encoder.encode(accented));
    assertTrue(encoder.encode(s) > 0);
    assertEquals(
        -1,
        encoder.encode(
            new JournalRecord.Lifecycle(
                "id", "node-1", "rendezvous", 1L, "promoted", "m3", "2", 4L, "detail")));
  }

  /** Where two encodings part, in hex around the first difference. */
  private static String diff(byte[] expected, byte[] actual) {
    int at = 0;
    while (at < expected.length && at < actual.length && expected[at] == actual[at]) {
      at++;
    }
    int from = Math.max(0, at - 12);
    return "first difference at byte "
        + at
        + "; the wire's "
        + hex(expected, from, at + 12)
        + ", this one's "
        + hex(actual, from, at + 12);
  }

  private static String hex(byte[] b, int from, int to) {
    StringBuilder sb = new StringBuilder();
    for (int k = from; k < Math.min(to, b.length); k++) {
      sb.append(String.format("%02x ", b[k]));
    }
    return sb.toString().trim();
  }

  private static byte[] next(ExcerptTailer tailer) {
    try (DocumentContext dc = tailer.readingDocument()) {
      assertTrue(dc.isPresent());
      return dc.wire().bytes().toByteArray();
    }
  }

  private Input input() {
    int kind = random.nextInt(4);
    long[] shape = kind == 3 ? new long[] {1, 28, 28} : new long[] {1, 784};
    ByteBuffer data = ByteBuffer.allocate(784 * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (int k = 0; k < 784; k++) {
      float v =
          switch (kind) {
            case 0 -> random.nextInt(3) == 0 ? random.nextInt(256) / 255f : 0f; // pixels
            case 1 -> random.nextInt(3) == 0 ? random.nextFloat() : 0f; // sparse floats
            default -> random.nextFloat() + 0.01f; // dense: stored raw
          };
      data.putFloat(v);
    }
    TensorData tensor =
        kind == 2 && random.nextBoolean()
            ? new TensorData("uint8", new long[] {1, 784}, new byte[784])
            : new TensorData(TensorData.FLOAT32, shape, data.array());
    return new Input(
        text(36),
        random.nextBoolean() ? null : text(random.nextInt(40)),
        "node-" + random.nextInt(3),
        random.nextBoolean() ? null : "rendezvous",
        number(),
        random.nextBoolean() ? "json" : "image/png",
        random.nextBoolean() ? null : text(64),
        tensor,
        random.nextBoolean() ? null : text(55));
  }

  private Score score() {
    Outcome outcome = Outcome.values()[random.nextInt(Outcome.values().length)];
    return new Score(
        text(36),
        "node-" + random.nextInt(3),
        "rendezvous",
        number(),
        "m" + random.nextInt(4),
        random.nextBoolean() ? null : Integer.toString(random.nextInt(300)),
        outcome,
        number(),
        number(),
        random.nextInt(4) == 0 ? null : probabilities(),
        random.nextBoolean() ? null : text(random.nextInt(300)),
        random.nextBoolean() ? null : "live");
  }

  private Answer answer() {
    return new Answer(
        text(36),
        random.nextBoolean() ? null : text(12),
        "node-" + random.nextInt(3),
        "rendezvous",
        number(),
        new int[] {200, 503, 504}[random.nextInt(3)],
        random.nextBoolean() ? null : "m3",
        random.nextBoolean() ? null : "1",
        random.nextInt(4) - 1,
        random.nextBoolean() ? null : "Ankle boot",
        random.nextInt(4) == 0 ? null : probabilities(),
        number(),
        random.nextBoolean() ? null : text(random.nextInt(200)),
        number(),
        random.nextBoolean() ? null : "deadline-priority");
  }

  /** A number from every range the wire writes differently, negative ones too. */
  private long number() {
    return switch (random.nextInt(12)) {
      case 0 -> random.nextInt(128);
      case 1 -> 128 + random.nextInt(128);
      case 2 -> 256 + random.nextInt(32_512);
      case 3 -> 32_768 + random.nextInt(32_768);
      case 4 -> 65_536 + random.nextInt(Integer.MAX_VALUE - 65_536);
      case 5 -> (1L << 31) + random.nextInt(Integer.MAX_VALUE);
      case 6 -> random.nextLong() >>> 1;
      case 7 -> 1L << (32 + random.nextInt(31)); // a float holds it exactly
      case 8 -> -random.nextInt(129);
      case 9 -> -129 - random.nextInt(32_000);
      case 10 -> -40_000 - random.nextInt(Integer.MAX_VALUE - 40_000);
      default -> random.nextBoolean() ? Long.MIN_VALUE : -(1L << 40) - random.nextInt(1000);
    };
  }

  private float[] probabilities() {
    float[] p = new float[random.nextInt(12)];
    for (int k = 0; k < p.length; k++) {
      p[k] = random.nextFloat();
    }
    return p;
  }

  /** Printable ASCII of {@code length} characters. */
  private String text(int length) {
    StringBuilder sb = new StringBuilder(length);
    for (int k = 0; k < length; k++) {
      sb.append((char) (32 + random.nextInt(95)));
    }
    return sb.toString();
  }
}
