package io.rendezvous.workers.data;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;

/**
 * The Fashion-MNIST test split shipped in this module (10,000 images, MIT licence), cut into a
 * fixed training part and a fixed hold-out part. The cut is a seeded shuffle, so every build, test
 * and benchmark sees the same hold-out images.
 */
public final class FashionMnist {
  public static final int IMAGE_SIZE = 28;
  public static final int PIXELS = IMAGE_SIZE * IMAGE_SIZE;
  public static final List<String> LABELS =
      List.of(
          "T-shirt/top",
          "Trouser",
          "Pullover",
          "Dress",
          "Coat",
          "Sandal",
          "Shirt",
          "Sneaker",
          "Bag",
          "Ankle boot");
  public static final String IMAGES_RESOURCE = "/fashion-mnist/t10k-images-idx3-ubyte.gz";
  public static final String LABELS_RESOURCE = "/fashion-mnist/t10k-labels-idx1-ubyte.gz";

  /**
   * The first 8,000 images of Fashion-MNIST's training split (Debian's dataset-fashion-mnist), for
   * corrections: the t10k file above is all training data and hold-out already, and a correction
   * must not reuse either.
   */
  public static final String CORRECTION_IMAGES_RESOURCE =
      "/fashion-mnist/train-first8000-images-idx3-ubyte.gz";

  public static final String CORRECTION_LABELS_RESOURCE =
      "/fashion-mnist/train-first8000-labels-idx1-ubyte.gz";

  /** Size of the training part; the rest of the 10,000 is the hold-out. */
  public static final int TRAIN_COUNT = 8_000;

  private static final long SPLIT_SEED = 20_171_028L;

  /** One image: its index in the original file, raw 0..255 pixels and the label index. */
  public record Sample(int index, byte[] pixels, int label) {
    /** Pixels scaled to 0..1, the models' input. */
    public float[] scaled() {
      float[] out = new float[pixels.length];
      for (int i = 0; i < pixels.length; i++) {
        out[i] = (pixels[i] & 0xFF) / 255f;
      }
      return out;
    }
  }

  private final List<Sample> train;
  private final List<Sample> holdout;

  private FashionMnist(List<Sample> all) {
    List<Sample> shuffled = new ArrayList<>(all);
    Collections.shuffle(shuffled, new Random(SPLIT_SEED));
    this.train = List.copyOf(shuffled.subList(0, TRAIN_COUNT));
    this.holdout = List.copyOf(shuffled.subList(TRAIN_COUNT, shuffled.size()));
  }

  /** Loads the shipped split from the classpath. */
  public static FashionMnist load() {
    try (InputStream images = open(IMAGES_RESOURCE);
        InputStream labels = open(LABELS_RESOURCE)) {
      return new FashionMnist(read(images, labels));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the shipped Fashion-MNIST split", e);
    }
  }

  /**
   * Images with their true labels that neither the models' training nor their hold-out saw: what
   * feedback simulations and tests send as corrections.
   */
  public static List<Sample> corrections() {
    try (InputStream images = open(CORRECTION_IMAGES_RESOURCE);
        InputStream labels = open(CORRECTION_LABELS_RESOURCE)) {
      return List.copyOf(read(images, labels));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the shipped correction images", e);
    }
  }

  public List<Sample> train() {
    return train;
  }

  public List<Sample> holdout() {
    return holdout;
  }

  private static InputStream open(String resource) throws IOException {
    InputStream in = FashionMnist.class.getResourceAsStream(resource);
    if (in == null) {
      throw new IOException("resource " + resource + " is missing from the classpath");
    }
    return new GZIPInputStream(in);
  }

  private static List<Sample> read(InputStream imagesGz, InputStream labelsGz) throws IOException {
    DataInputStream images = new DataInputStream(imagesGz);
    DataInputStream labels = new DataInputStream(labelsGz);
    if (images.readInt() != 0x803 || labels.readInt() != 0x801) {
      throw new IOException("not IDX image/label files (bad magic number)");
    }
    int count = images.readInt();
    int rows = images.readInt();
    int cols = images.readInt();
    if (labels.readInt() != count || rows != IMAGE_SIZE || cols != IMAGE_SIZE) {
      throw new IOException("unexpected IDX dimensions " + count + "x" + rows + "x" + cols);
    }
    List<Sample> samples = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      byte[] pixels = new byte[PIXELS];
      images.readFully(pixels);
      samples.add(new Sample(i, pixels, labels.readUnsignedByte()));
    }
    return samples;
  }
}
