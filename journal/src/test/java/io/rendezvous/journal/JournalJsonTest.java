package io.rendezvous.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.rendezvous.model.TensorData;
import java.nio.charset.StandardCharsets;
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
            new TensorData("uint8", new long[] {1, data.length}, data));
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

  @Test
  void streamingBytesAreTheTreesBytes() throws Exception {
    for (int i = 0; i < 5_000; i++) {
      JournalRecord r = record();
      String expected = JSON.writeValueAsString(JournalJson.toNode(r));
      assertEquals(expected, new String(JournalJson.toBytes(r), StandardCharsets.UTF_8));
      assertEquals(expected, JournalJson.toJson(r));
    }
  }
}
