package io.rendezvous.workers.training;

import io.rendezvous.workers.data.FashionMnist;
import java.util.Arrays;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The three default models, smallest to largest. Each maps the {@code input} placeholder ([-1, 784]
 * floats in 0..1) to logits over the 10 classes; weights start from seeded stateless random ops so
 * a rebuild trains the same network.
 */
public enum Architecture {
  /** Softmax regression: one dense layer. Fastest, least accurate. */
  SOFTMAX_REGRESSION("m1", "softmax regression 784-10", 10) {
    @Override
    Operand<TFloat32> logits(Ops tf, Operand<TFloat32> x, long seed, Start start) {
      return dense(tf, x, 784, 10, seed, 1, start);
    }
  },
  /** Multi-layer perceptron 784-128-10. */
  MLP("m2", "MLP 784-128(relu)-10", 10) {
    @Override
    Operand<TFloat32> logits(Ops tf, Operand<TFloat32> x, long seed, Start start) {
      Operand<TFloat32> hidden = tf.nn.relu(dense(tf, x, 784, 128, seed, 1, start));
      return dense(tf, hidden, 128, 10, seed, 2, start);
    }
  },
  /** Small CNN conv16-pool-conv32-pool-dense10. Most accurate, slowest. */
  CNN("m3", "CNN conv5x5x16-pool-conv5x5x32-pool-dense10", 8) {
    @Override
    Operand<TFloat32> logits(Ops tf, Operand<TFloat32> x, long seed, Start start) {
      Operand<TFloat32> image =
          tf.reshape(
              x, tf.constant(new int[] {-1, FashionMnist.IMAGE_SIZE, FashionMnist.IMAGE_SIZE, 1}));
      Operand<TFloat32> c1 = pool(tf, tf.nn.relu(conv(tf, image, 1, 16, seed, 1, start)));
      Operand<TFloat32> c2 = pool(tf, tf.nn.relu(conv(tf, c1, 16, 32, seed, 2, start)));
      Operand<TFloat32> flat = tf.reshape(c2, tf.constant(new int[] {-1, 7 * 7 * 32}));
      return dense(tf, flat, 7 * 7 * 32, 10, seed, 3, start);
    }
  };

  private final String modelName;
  private final String description;
  private final int epochs;

  Architecture(String modelName, String description, int epochs) {
    this.modelName = modelName;
    this.description = description;
    this.epochs = epochs;
  }

  /** The architecture the default model {@code name} (m1, m2, m3) is built with. */
  public static java.util.Optional<Architecture> of(String name) {
    for (Architecture a : values()) {
      if (a.modelName.equals(name)) {
        return java.util.Optional.of(a);
      }
    }
    return java.util.Optional.empty();
  }

  public String modelName() {
    return modelName;
  }

  public String description() {
    return description;
  }

  public int epochs() {
    return epochs;
  }

  abstract Operand<TFloat32> logits(Ops tf, Operand<TFloat32> x, long seed, Start start);

  /**
   * Where the variables start, in the order the network creates them ({@code Variable}, {@code
   * Variable_1}, ... in the exported graph): fresh (seeded random weights, zero biases), or the
   * values of a trained version of the same architecture, to fine-tune it.
   */
  public static final class Start {
    private final java.util.List<TFloat32> values;
    private int next;

    private Start(java.util.List<TFloat32> values) {
      this.values = values;
    }

    /** Every variable from its seeded initialiser. */
    public static Start fresh() {
      return new Start(java.util.List.of());
    }

    /** Every variable from {@code values}, in creation order (the caller closes them). */
    public static Start from(java.util.List<TFloat32> values) {
      return new Start(values);
    }

    Operand<TFloat32> value(Ops tf, Operand<TFloat32> fresh, long[] shape) {
      if (values.isEmpty()) {
        return fresh;
      }
      if (next >= values.size()) {
        throw new IllegalArgumentException(
            "the version to start from has " + values.size() + " variables; this network more");
      }
      TFloat32 v = values.get(next++);
      if (!java.util.Arrays.equals(v.shape().asArray(), shape)) {
        throw new IllegalArgumentException(
            "variable "
                + (next - 1)
                + " of the version to start from has shape "
                + v.shape()
                + ", this network "
                + java.util.Arrays.toString(shape));
      }
      return tf.constantOf(v);
    }
  }

  static Placeholder<TFloat32> inputPlaceholder(Ops tf) {
    return tf.withName("input")
        .placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, FashionMnist.PIXELS)));
  }

  static Placeholder<TInt32> labelPlaceholder(Ops tf) {
    return tf.withName("labels").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1)));
  }

  private static Operand<TFloat32> dense(
      Ops tf, Operand<TFloat32> x, int in, int out, long seed, int layer, Start start) {
    Variable<TFloat32> w = weights(tf, new long[] {in, out}, in + out, seed, layer, start);
    Variable<TFloat32> b =
        tf.variable(
            start.value(
                tf, tf.zeros(tf.constant(new long[] {out}), TFloat32.class), new long[] {out}));
    return tf.math.add(tf.linalg.matMul(x, w), b);
  }

  private static Operand<TFloat32> conv(
      Ops tf,
      Operand<TFloat32> x,
      int inChannels,
      int outChannels,
      long seed,
      int layer,
      Start start) {
    long[] shape = {5, 5, inChannels, outChannels};
    Variable<TFloat32> w = weights(tf, shape, 25L * (inChannels + outChannels), seed, layer, start);
    Variable<TFloat32> b =
        tf.variable(
            start.value(
                tf,
                tf.zeros(tf.constant(new long[] {outChannels}), TFloat32.class),
                new long[] {outChannels}));
    return tf.nn.biasAdd(tf.nn.conv2d(x, w, Arrays.asList(1L, 1L, 1L, 1L), "SAME"), b);
  }

  private static Operand<TFloat32> pool(Ops tf, Operand<TFloat32> x) {
    return tf.nn.maxPool(
        x, tf.constant(new int[] {1, 2, 2, 1}), tf.constant(new int[] {1, 2, 2, 1}), "SAME");
  }

  /** Glorot-scaled truncated normal from a stateless op keyed by (seed, layer): reproducible. */
  private static Variable<TFloat32> weights(
      Ops tf, long[] shape, long fanSum, long seed, int layer, Start start) {
    float stddev = (float) Math.sqrt(2.0 / fanSum);
    Operand<TFloat32> init =
        tf.math.mul(
            tf.random.statelessTruncatedNormal(
                tf.constant(shape), tf.constant(new long[] {seed, layer})),
            tf.constant(stddev));
    return tf.variable(start.value(tf, init, shape));
  }
}
