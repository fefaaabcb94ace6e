package io.rendezvous.actors.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NonZeroWordsTest {

  @Test
  void everyTensorComesBackBitForBit() {
    SplittableRandom random = new SplittableRandom(3);
    float[] special = {0f, -0f, Float.NaN, Float.MIN_VALUE, -Float.MIN_VALUE, Float.POSITIVE_INFINITY, 1f / 255};
    int packed = 0;
    for (int round = 0; round < 5_000; round++) {
      int n = 1 + random.nextInt(1_000);
      double zeros = random.nextDouble();
      float[] values = new float[n];
      for (int i = 0; i < n; i++) {
        values[i] = random.nextDouble() < zeros ? 0f
            : random.nextInt(4) == 0 ? special[random.nextInt(special.length)] : random.nextInt(256) / 255f;
      }
      byte[] data = bytes(values);
      byte[] encoded = NonZeroWords.encode(data);
      if (encoded == null) {
        continue;
      }
      packed++;
      assertTrue(encoded.length < data.length);
      assertArrayEquals(data, NonZeroWords.decode(encoded), "round " + round);
    }
    assertTrue(packed > 1_000, "packed " + packed);
  }

  @Test
  void aPictureTakesHalfTheRoomAndDenseDataIsLeftAsItIs() {
    float[] picture = new float[784];
    for (int i = 0; i < picture.length; i += 2) {
      picture[i] = (i % 255) / 255f;
    }
    byte[] encoded = NonZeroWords.encode(bytes(picture));
    assertNotNull(encoded);
    assertTrue(encoded.length <= 4 + 98 + 392 * 4, "encoded " + encoded.length);
    float[] dense = new float[784];
    Arrays.fill(dense, -0f);
    assertNull(NonZeroWords.encode(bytes(dense)));
    assertNull(NonZeroWords.encode(new byte[] {0, 0, 0, 0, 0, 0}));
    assertNull(NonZeroWords.encode(new byte[0]));
  }

  @Test
  void damagedDataIsRefusedNotGuessed() {
    float[] values = new float[64];
    values[3] = 1f;
    values[40] = 2f;
    byte[] encoded = NonZeroWords.encode(bytes(values));
    assertThrows(IllegalStateException.class, () -> NonZeroWords.decode(Arrays.copyOf(encoded, encoded.length - 1)));
    assertThrows(IllegalStateException.class, () -> NonZeroWords.decode(Arrays.copyOf(encoded, encoded.length + 4)));
    assertThrows(IllegalStateException.class, () -> NonZeroWords.decode(new byte[] {1, 0}));
    byte[] badLength = encoded.clone();
    badLength[0] = 3;
    assertThrows(IllegalStateException.class, () -> NonZeroWords.decode(badLength));
    // 10 words: the second mask byte may only mark words 8 and 9; this one marks word 15
    byte[] strayBit = NonZeroWords.encode(bytes(new float[] {0f, 0f, 1f, 0f, 0f, 0f, 0f, 0f, 0f, 0f}));
    strayBit[4 + 1] |= (byte) 0x80;
    assertThrows(IllegalStateException.class, () -> NonZeroWords.decode(strayBit));
  }

  private static byte[] bytes(float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      b.putFloat(v);
    }
    return b.array();
  }
}
