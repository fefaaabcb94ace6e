package io.rendezvous.model;

import java.util.List;

/**
 * Name, element type and shape of a model input or output; {@code -1} is a free dimension (the
 * batch).
 */
public record TensorSpec(String name, String dtype, List<Long> shape) {
  public TensorSpec {
    shape = List.copyOf(shape);
  }

  /** Why {@code tensor} does not fit this spec, or {@code null} when it does. */
  public String mismatch(TensorData tensor) {
    if (!dtype.equals(tensor.dtype())) {
      return "dtype " + tensor.dtype() + " where " + name + " takes " + dtype;
    }
    long[] dims = tensor.shape();
    if (dims.length != shape.size()) {
      return "shape " + TensorData.describe(dims) + " where " + name + " takes " + shape;
    }
    for (int i = 0; i < dims.length; i++) {
      long want = shape.get(i);
      if (want >= 0 && want != dims[i]) {
        return "shape " + TensorData.describe(dims) + " where " + name + " takes " + shape;
      }
    }
    return null;
  }

  /** Number of elements in one instance (the product of the fixed dimensions after the batch). */
  public long elementsPerInstance() {
    long n = 1;
    for (int i = 1; i < shape.size(); i++) {
      n *= shape.get(i);
    }
    return n;
  }
}
