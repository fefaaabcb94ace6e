package io.rendezvous.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor as it travels between nodes and into the journal: element type, shape and the raw
 * little-endian bytes. Compact on the wire (CBOR byte string), and exactly what the model saw.
 * Immutable: arrays are copied in and out.
 *
 * <p>{@value #TEXT}: [n] texts, each its UTF-8 bytes after a 4-byte little-endian length (the Open
 * Inference Protocol's binary {@code BYTES} layout): text exactly as received, which a text model's
 * featurizer turns into its input.
 */
public record TensorData(String dtype, long[] shape, byte[] data) {
  public static final String FLOAT32 = "float32";
  public static final String TEXT = "text";

  public TensorData {
    shape = shape.clone();
    data = data.clone();
    long elements = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in " + describe(shape));
      }
      elements *= d;
    }
    if (TEXT.equals(dtype)) {
      if (shape.length != 1) {
        throw new IllegalArgumentException("text is [n] texts, not " + describe(shape));
      }
      int n = 0;
      ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
      while (b.remaining() >= Integer.BYTES) {
        int len = b.getInt();
        if (len < 0 || len > b.remaining()) {
          throw new IllegalArgumentException(
              "text " + n + " claims " + len + " bytes, past the end");
        }
        b.position(b.position() + len);
        n++;
      }
      if (b.hasRemaining() || n != shape[0]) {
        throw new IllegalArgumentException(
            "shape " + describe(shape) + " needs " + shape[0] + " texts, got " + n);
      }
    }
    if (FLOAT32.equals(dtype) && elements * Float.BYTES != data.length) {
      throw new IllegalArgumentException(
          "shape "
              + describe(shape)
              + " needs "
              + elements * Float.BYTES
              + " bytes, got "
              + data.length);
    }
  }

  public static TensorData float32(long[] shape, float[] values) {
    ByteBuffer buf =
        ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(values);
    return new TensorData(FLOAT32, shape, buf.array());
  }

  /** Texts as a [n] {@value #TEXT} tensor. */
  public static TensorData text(String... texts) {
    byte[][] utf8 = new byte[texts.length][];
    int size = 0;
    for (int i = 0; i < texts.length; i++) {
      utf8[i] = texts[i].getBytes(java.nio.charset.StandardCharsets.UTF_8);
      size += Integer.BYTES + utf8[i].length;
    }
    ByteBuffer buf = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    for (byte[] t : utf8) {
      buf.putInt(t.length).put(t);
    }
    return new TensorData(TEXT, new long[] {texts.length}, buf.array());
  }

  /** The texts of a {@value #TEXT} tensor. */
  public java.util.List<String> texts() {
    if (!TEXT.equals(dtype)) {
      throw new IllegalStateException("tensor is " + dtype + ", not " + TEXT);
    }
    java.util.List<String> out = new java.util.ArrayList<>();
    ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    while (b.remaining() >= Integer.BYTES) {
      int len = b.getInt();
      out.add(new String(data, b.position(), len, java.nio.charset.StandardCharsets.UTF_8));
      b.position(b.position() + len);
    }
    return out;
  }

  /** Instances it holds: the first dimension. */
  public long instances() {
    return shape.length == 0 ? 1 : shape[0];
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  @Override
  public byte[] data() {
    return data.clone();
  }

  /** Read-only view of the bytes, without a copy (for writers that only read them). */
  public ByteBuffer dataView() {
    return ByteBuffer.wrap(data).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  public float[] asFloats() {
    if (!FLOAT32.equals(dtype)) {
      throw new IllegalStateException("tensor is " + dtype + ", not " + FLOAT32);
    }
    float[] out = new float[data.length / Float.BYTES];
    dataView().asFloatBuffer().get(out);
    return out;
  }

  public static String describe(long[] shape) {
    return Arrays.toString(shape);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorData t
        && dtype.equals(t.dtype)
        && Arrays.equals(shape, t.shape)
        && Arrays.equals(data, t.data);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * dtype.hashCode() + Arrays.hashCode(shape)) + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return "TensorData[" + dtype + describe(shape) + "]";
  }
}
