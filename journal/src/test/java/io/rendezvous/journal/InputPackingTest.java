package io.rendezvous.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class InputPackingTest {

  @Test
  void everyTensorComesBackBitForBit() {
    SplittableRandom random = new SplittableRandom(3);
    // near-pixels: a float one ulp off k/255 must not be taken for the pixel
    float nearPixel = Math.nextUp(77 / 255f);
    float[] special = {
      0f,
      -0f,
      Float.NaN,
      Float.MIN_VALUE,
      -Float.MIN_VALUE,
      Float.POSITIVE_INFINITY,
      1f / 255,
      nearPixel,
      0.5f,
      1.001f,
      -1f / 255,
      2f,
      256f / 255
    };
    int words = 0;
    int pixels = 0;
    // the writer's packer, reused across inputs of every size and kind, packs each as a fresh one
    InputPacking.Packer reused = new InputPacking.Packer();
    for (int round = 0; round < 5_000; round++) {
      int n = 1 + random.nextInt(1_000);
      double zeros = random.nextDouble();
      double odd = random.nextInt(3) == 0 ? 0 : random.nextDouble() * 0.1;
      float[] values = new float[n];
      for (int i = 0; i < n; i++) {
        values[i] =
            random.nextDouble() < zeros
                ? 0f
                : random.nextDouble() < odd
                    ? special[random.nextInt(special.length)]
                    : random.nextInt(256) / 255f;
      }
      byte[] data = bytes(values);
      InputPacking.Packed packed = InputPacking.pack(data);
      boolean packedAgain = reused.pack(ByteBuffer.wrap(data).asReadOnlyBuffer());
      assertEquals(packed != null, packedAgain, "round " + round);
      if (packed == null) {
        continue;
      }
      assertEquals(packed.encoding(), reused.encoding(), "round " + round);
      assertArrayEquals(
          packed.bytes(), Arrays.copyOf(reused.bytes(), reused.length()), "round " + round);
      if (packed.encoding().equals(InputPacking.PIXELS)) {
        pixels++;
      } else {
        words++;
      }
      assertTrue(packed.bytes().length < data.length);
      assertArrayEquals(
          data, InputPacking.unpack(packed.encoding(), packed.bytes()), "round " + round);
    }
    assertTrue(words > 1_000 && pixels > 1_000, "words " + words + ", pixels " + pixels);
  }

  @Test
  void anEightBitPictureTakesAByteAPixelAnythingElseAWord() {
    float[] picture = new float[784];
    for (int i = 0; i < picture.length; i += 2) {
      picture[i] = (i % 255 + 1) / 255f;
    }
    InputPacking.Packed packed = InputPacking.pack(bytes(picture));
    assertEquals(InputPacking.PIXELS, packed.encoding());
    assertEquals(4 + 98 + 392, packed.bytes().length);
    picture[10] = Math.nextDown(picture[10]);
    packed = InputPacking.pack(bytes(picture));
    assertEquals(InputPacking.WORDS, packed.encoding());
    assertEquals(4 + 98 + 392 * 4, packed.bytes().length);
    assertArrayEquals(bytes(picture), InputPacking.unpack(packed.encoding(), packed.bytes()));
  }

  @Test
  void denseOrShapelessDataIsLeftAsItIs() {
    float[] dense = new float[784];
    Arrays.fill(dense, -0f);
    assertNull(InputPacking.pack(bytes(dense)));
    float[] pixels = new float[8];
    Arrays.fill(pixels, 1f);
    // 4 + 1 + 8 bytes against 32: worth packing even with no zeros
    assertNotNull(InputPacking.pack(bytes(pixels)));
    assertNull(InputPacking.pack(bytes(new float[] {1f})));
    assertNull(InputPacking.pack(new byte[] {0, 0, 0, 0, 0, 0}));
    assertNull(InputPacking.pack(new byte[0]));
  }

  @Test
  void damagedDataIsRefusedNotGuessed() {
    float[] values = new float[64];
    values[3] = 1f;
    values[40] = 2f;
    for (float[] v : new float[][] {values, pixelsOnly(values)}) {
      InputPacking.Packed packed = InputPacking.pack(bytes(v));
      String enc = packed.encoding();
      byte[] encoded = packed.bytes();
      assertThrows(
          IllegalStateException.class,
          () -> InputPacking.unpack(enc, Arrays.copyOf(encoded, encoded.length - 1)));
      assertThrows(
          IllegalStateException.class,
          () -> InputPacking.unpack(enc, Arrays.copyOf(encoded, encoded.length + 4)));
      assertThrows(IllegalStateException.class, () -> InputPacking.unpack(enc, new byte[] {1, 0}));
      byte[] badLength = encoded.clone();
      badLength[0] = 3;
      assertThrows(IllegalStateException.class, () -> InputPacking.unpack(enc, badLength));
      assertThrows(
          IllegalStateException.class, () -> InputPacking.unpack("nonzero-something", encoded));
    }
    // 10 words: the second mask byte may only mark words 8 and 9; this one marks word 15
    byte[] strayBit =
        InputPacking.pack(bytes(new float[] {0f, 0f, 1f, 0f, 0f, 0f, 0f, 0f, 0f, 0f})).bytes();
    strayBit[4 + 1] |= (byte) 0x80;
    assertThrows(
        IllegalStateException.class, () -> InputPacking.unpack(InputPacking.PIXELS, strayBit));
    // a pixel byte of 0 where the mask says non-zero
    InputPacking.Packed zeroPixel =
        InputPacking.pack(bytes(new float[] {0f, 0f, 1f, 0f, 0f, 0f, 0f, 0f, 0f, 0f}));
    byte[] holdsZero = zeroPixel.bytes().clone();
    holdsZero[holdsZero.length - 1] = 0;
    assertThrows(
        IllegalStateException.class, () -> InputPacking.unpack(zeroPixel.encoding(), holdsZero));
  }

  @Test
  void aViewIsPackedFromItsPositionWithoutTouchingIt() {
    float[] values = {0f, 3 / 255f, 0f, 0f, 9 / 255f, 0f, 0f, 0f, 0f, 1f};
    byte[] data = bytes(values);
    byte[] framed = new byte[data.length + 8];
    System.arraycopy(data, 0, framed, 4, data.length);
    ByteBuffer view = ByteBuffer.wrap(framed, 4, data.length).slice().asReadOnlyBuffer();
    InputPacking.Packed packed = InputPacking.pack(view);
    assertEquals(InputPacking.PIXELS, packed.encoding());
    assertArrayEquals(data, InputPacking.unpack(packed.encoding(), packed.bytes()));
    assertEquals(0, view.position());
  }

  private static float[] pixelsOnly(float[] values) {
    float[] out = values.clone();
    for (int i = 0; i < out.length; i++) {
      out[i] = out[i] == 0f ? 0f : 200 / 255f;
    }
    return out;
  }

  private static byte[] bytes(float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      b.putFloat(v);
    }
    return b.array();
  }
}
