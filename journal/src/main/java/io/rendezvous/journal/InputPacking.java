package io.rendezvous.journal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The input tensor as the journal stores it, lossless: a bitmap of which 4-byte words are not all
 * zero, then those words. The input is most of a request's bytes in the journal, and what the
 * writer spends grows with the bytes it appends (about 2.4 us per KB on the benchmark machine, most
 * of it page faults on the mapped file), so a smaller input is both more history on the same disk
 * and less CPU.
 *
 * <p>Two encodings, the smaller that applies:
 *
 * <ul>
 *   <li>{@value #WORDS}: the non-zero words as they are. Any data (a float's -0.0 is not an
 *       all-zero word). Pictures are about half zeros: a hold-out request's five records shrink
 *       from 4,084 to 2,622 bytes.
 *   <li>{@value #PIXELS}: when every non-zero word is exactly the float32 {@code k / 255f} for an
 *       8-bit {@code k}, which is what a PNG or an 8-bit picture scaled to [0, 1] decodes to (this
 *       server's image path and its data set), one byte {@code k} per non-zero word. Reading it
 *       back gives the same bits, because the encoder checks each word against that very float.
 * </ul>
 *
 * Layout of both: the decoded length in bytes (int32, little-endian), {@code ceil(words / 8)}
 * bitmap bytes (bit k of byte k/8, lowest first), then the non-zero words (4 bytes each) or their
 * pixels (1 byte each).
 */
final class InputPacking {
  static final String WORDS = "nonzero-words";
  static final String PIXELS = "nonzero-pixels-255";
  private static final int HEADER = Integer.BYTES;
  private static final VarHandle INT =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

  /**
   * The float32 bits of k / 255f, k = 0..255: computed as the decoders of 8-bit pictures compute
   * it.
   */
  private static final int[] PIXEL_BITS = new int[256];

  static {
    for (int k = 0; k < PIXEL_BITS.length; k++) {
      PIXEL_BITS[k] = Float.floatToRawIntBits(k / 255f);
    }
  }

  /** Packed bytes and the name of their encoding, as the record stores them. */
  record Packed(String encoding, byte[] bytes) {}

  private InputPacking() {}

  static Packed pack(byte[] data) {
    return pack(ByteBuffer.wrap(data));
  }

  /**
   * The bytes from {@code data}'s position to its limit, packed (new arrays; the journal writer
   * keeps a {@link Packer} instead); null when packing would not make them smaller, or they are not
   * whole words.
   */
  static Packed pack(ByteBuffer data) {
    Packer packer = new Packer();
    return packer.pack(data)
        ? new Packed(packer.encoding(), java.util.Arrays.copyOf(packer.bytes(), packer.length()))
        : null;
  }

  /**
   * Packs into buffers it keeps from input to input: the journal writer packs every request's
   * input, and new arrays for each (the words, the packed bytes) were part of what it spent. Not
   * thread-safe; one per writer thread.
   */
  static final class Packer {
    /**
     * The input's bytes, copied in once: reading them through a byte buffer cost more than that.
     */
    private byte[] words = new byte[0];

    private byte[] out = new byte[0];
    private int length;
    private String encoding;

    /**
     * Packs the bytes from {@code data}'s position to its limit (which it leaves as they are) into
     * {@link #bytes()}; false, with nothing to use, when packing would not make them smaller or
     * they are not whole words.
     */
    boolean pack(ByteBuffer data) {
      int size = data.remaining();
      if (size % 4 != 0 || size == 0) {
        return false;
      }
      if (words.length < size) {
        words = new byte[size];
      }
      data.get(data.position(), words, 0, size);
      int count = size / 4;
      int maskBytes = (count + 7) / 8;
      // room for either encoding; anything as large as the input is not used
      if (out.length < HEADER + maskBytes + size) {
        out = new byte[HEADER + maskBytes + size];
      }
      // One pass as if every word were a pixel: each one's nearest 8-bit value is written where the
      // next non-zero one goes (only a non-zero one moves on), the mask beside them, and whether
      // they all were exactly pixels is known at the end. Pictures, what the journal mostly holds,
      // need no second pass over their words.
      int at = HEADER + maskBytes;
      int notPixels = 0;
      int mask = 0;
      // without branches on the data: where zeros fall is as good as random to the branch predictor
      for (int w = 0; w < count; w++) {
        int word = (int) INT.get(words, w * 4);
        int isNonZero = word != 0 ? 1 : 0;
        // the nearest k, if the word is a pixel at all; the table says whether it is exactly that
        // pixel
        int pixel = pixelOf(word);
        notPixels |= PIXEL_BITS[pixel] ^ word;
        out[at] = (byte) pixel;
        at += isNonZero;
        mask |= isNonZero << (w & 7);
        if ((w & 7) == 7 || w == count - 1) {
          out[HEADER + (w >>> 3)] = (byte) mask;
          mask = 0;
        }
      }
      int nonZero = at - HEADER - maskBytes;
      INT.set(out, 0, size);
      if (notPixels == 0) {
        length = HEADER + maskBytes + nonZero;
        encoding = PIXELS;
        return length < size;
      }
      length = HEADER + maskBytes + nonZero * 4;
      if (length >= size) {
        return false;
      }
      at = HEADER + maskBytes;
      for (int w = 0; w < count; w++) {
        int word = (int) INT.get(words, w * 4);
        // every word is written where the next non-zero one goes, and only a non-zero one moves on;
        // past the last non-zero word only zeros remain, so nothing more needs writing
        if (at <= length - 4) {
          INT.set(out, at, word);
        }
        at += (word != 0 ? 1 : 0) << 2;
      }
      encoding = WORDS;
      return true;
    }

    /** The encoding of the last input packed. */
    String encoding() {
      return encoding;
    }

    /** The last input packed, from 0 to {@link #length()}. */
    byte[] bytes() {
      return out;
    }

    int length() {
      return length;
    }
  }

  /**
   * The 8-bit value nearest to a word taken as a float in [0, 1]; anything else gives some k in
   * 0..255.
   */
  private static int pixelOf(int word) {
    return (int) (Float.intBitsToFloat(word) * 255f + 0.5f) & 0xff;
  }

  static boolean isPacking(String encoding) {
    return WORDS.equals(encoding) || PIXELS.equals(encoding);
  }

  static byte[] unpack(String encoding, byte[] encoded) {
    boolean pixels;
    if (PIXELS.equals(encoding)) {
      pixels = true;
    } else if (WORDS.equals(encoding)) {
      pixels = false;
    } else {
      throw new IllegalStateException("'" + encoding + "' is not an input packing");
    }
    if (encoded.length < HEADER) {
      throw new IllegalStateException(
          encoding + " data of " + encoded.length + " bytes has no length");
    }
    int length = (int) INT.get(encoded, 0);
    if (length < 0 || length % 4 != 0) {
      throw new IllegalStateException(
          encoding + " data says " + length + " bytes, not a whole number of words");
    }
    int words = length / 4;
    int maskBytes = (words + 7) / 8;
    if (encoded.length < HEADER + maskBytes) {
      throw new IllegalStateException(
          encoding + " data of " + encoded.length + " bytes is cut short");
    }
    if (words % 8 != 0 && (encoded[HEADER + maskBytes - 1] & 0xff) >>> (words % 8) != 0) {
      throw new IllegalStateException(encoding + " data marks words past its length");
    }
    int step = pixels ? 1 : 4;
    byte[] out = new byte[length];
    int at = HEADER + maskBytes;
    for (int w = 0; w < words; w++) {
      if ((encoded[HEADER + (w >>> 3)] & (1 << (w & 7))) != 0) {
        if (at + step > encoded.length) {
          throw new IllegalStateException(
              encoding + " data of " + encoded.length + " bytes is cut short");
        }
        int word = pixels ? PIXEL_BITS[encoded[at] & 0xff] : (int) INT.get(encoded, at);
        if (word == 0) {
          throw new IllegalStateException(
              encoding + " data marks word " + w + " as non-zero but holds zero");
        }
        INT.set(out, w * 4, word);
        at += step;
      }
    }
    if (at != encoded.length) {
      throw new IllegalStateException(
          encoding + " data has " + (encoded.length - at) + " bytes too many");
    }
    return out;
  }
}
