package io.rendezvous.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor as it travels between nodes and into the journal: element type, shape and the raw
 * little-endian bytes. Compact on the wire (CBOR byte string), and exactly what the model saw.
 * Immutable: arrays are copied in and out.
 */
public record TensorData(String dtype, long[] shape, byte[] data) {
  public static final String FLOAT32 = "float32";

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
