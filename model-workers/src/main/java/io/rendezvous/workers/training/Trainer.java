package io.rendezvous.workers.training;

import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.TensorSpec;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.data.FashionMnist.Sample;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.framework.optimizers.Adam;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Trains m1, m2 and m3 on the shipped Fashion-MNIST split and exports them as SavedModels
 * (signature {@code serving_default}: {@code input} float32 [-1,784] to {@code probabilities}
 * float32 [-1,10]) with a {@link ModelMetadata} file each.
 *
 * <p>Builds are cached: the output directory records the hash of the trainer's classes, the data
 * and the hyper-parameters; when it matches, nothing is retrained. {@code --force} retrains anyway.
 */
public final class Trainer {
  private static final Logger log = LoggerFactory.getLogger(Trainer.class);

  public static final String HASH_FILE = "BUILD-HASH";
  private static final int BATCH_SIZE = 64;
  private static final float LEARNING_RATE = 0.001f;
  private static final long SEED = 42L;
  private static final String MODEL_VERSION = "1";

  private Trainer() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: Trainer <models-dir> [--force]");
      System.exit(2);
    }
    Path out = Path.of(args[0]).toAbsolutePath();
    boolean force = args.length > 1 && "--force".equals(args[1]);
    String hash = buildHash();
    Path hashFile = out.resolve(HASH_FILE);
    if (!force
        && Files.isRegularFile(hashFile)
        && Files.readString(hashFile).trim().equals(hash)
        && Stream.of(Architecture.values())
            .allMatch(
                a ->
                    Files.isRegularFile(
                        out.resolve(a.modelName()).resolve(ModelMetadata.FILE_NAME)))) {
      log.info("models in {} are up to date (build hash {})", out, hash);
      return;
    }
    FashionMnist data = FashionMnist.load();
    Files.createDirectories(out);
    Files.deleteIfExists(hashFile);
    for (Architecture a : Architecture.values()) {
      ModelMetadata m = train(a, data, out.resolve(a.modelName()), hash);
      log.info(
          "trained {} ({}): hold-out accuracy {} in {} ms",
          m.name(),
          m.description(),
          String.format("%.4f", m.holdoutAccuracy()),
          m.trainingTimeMillis());
    }
    Files.writeString(hashFile, hash + "\n");
  }

  /** Trains one architecture and exports it into {@code dir} (replaced atomically). */
  public static ModelMetadata train(Architecture arch, FashionMnist data, Path dir, String hash)
      throws IOException {
    long start = System.nanoTime();
    Path staging = dir.resolveSibling(dir.getFileName() + ".staging");
    deleteRecursively(staging);
    double accuracy;
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Placeholder<TFloat32> x = Architecture.inputPlaceholder(tf);
      Placeholder<TInt32> y = Architecture.labelPlaceholder(tf);
      Operand<TFloat32> logits = arch.logits(tf, x, SEED);
      Operand<TFloat32> probabilities = tf.withName("probabilities").nn.softmax(logits);
      Operand<TFloat32> onehot =
          tf.oneHot(y, tf.constant(FashionMnist.LABELS.size()), tf.constant(1f), tf.constant(0f));
      Operand<TFloat32> loss =
          tf.math.mean(tf.nn.softmaxCrossEntropyWithLogits(logits, onehot).loss(), tf.constant(0));
      Op minimize = new Adam(graph, LEARNING_RATE).minimize(loss);
      try (Session session = new Session(graph)) {
        session.initialize();
        List<Sample> order = new ArrayList<>(data.train());
        Random shuffle = new Random(SEED);
        for (int epoch = 0; epoch < arch.epochs(); epoch++) {
          Collections.shuffle(order, shuffle);
          for (int from = 0; from < order.size(); from += BATCH_SIZE) {
            List<Sample> batch = order.subList(from, Math.min(order.size(), from + BATCH_SIZE));
            try (TFloat32 xs = images(batch);
                TInt32 ys = labels(batch)) {
              session.runner().feed(x, xs).feed(y, ys).addTarget(minimize).run();
            }
          }
        }
        accuracy = accuracy(session, x, probabilities, data.holdout());
        Files.createDirectories(staging.getParent());
        SavedModelBundle.exporter(staging.toString())
            .withSession(session)
            .withSignature(
                Signature.builder()
                    .key(Signature.DEFAULT_KEY)
                    .input("input", x)
                    .output("probabilities", probabilities)
                    .build())
            .export();
      }
    }
    long millis = (System.nanoTime() - start) / 1_000_000;
    ModelMetadata metadata =
        new ModelMetadata(
            ModelMetadata.SCHEMA_VERSION,
            arch.modelName(),
            MODEL_VERSION,
            arch.description(),
            FashionMnist.LABELS,
            accuracy,
            data.holdout().size(),
            millis,
            Instant.now().toString(),
            hash,
            Signature.DEFAULT_KEY,
            new TensorSpec("input", "float32", List.of(-1L, (long) FashionMnist.PIXELS)),
            new TensorSpec(
                "probabilities", "float32", List.of(-1L, (long) FashionMnist.LABELS.size())));
    metadata.write(staging);
    deleteRecursively(dir);
    Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
    return metadata;
  }

  private static double accuracy(
      Session session,
      Placeholder<TFloat32> x,
      Operand<TFloat32> probabilities,
      List<Sample> holdout) {
    int correct = 0;
    try (TFloat32 xs = images(holdout);
        Result result = session.runner().feed(x, xs).fetch(probabilities).run()) {
      TFloat32 p = (TFloat32) result.get(0);
      for (int i = 0; i < holdout.size(); i++) {
        int best = 0;
        for (int c = 1; c < FashionMnist.LABELS.size(); c++) {
          if (p.getFloat(i, c) > p.getFloat(i, best)) {
            best = c;
          }
        }
        if (best == holdout.get(i).label()) {
          correct++;
        }
      }
    }
    return (double) correct / holdout.size();
  }

  private static TFloat32 images(List<Sample> batch) {
    float[] flat = new float[batch.size() * FashionMnist.PIXELS];
    for (int i = 0; i < batch.size(); i++) {
      System.arraycopy(
          batch.get(i).scaled(), 0, flat, i * FashionMnist.PIXELS, FashionMnist.PIXELS);
    }
    return TFloat32.tensorOf(
        Shape.of(batch.size(), FashionMnist.PIXELS), DataBuffers.of(flat, true, false));
  }

  private static TInt32 labels(List<Sample> batch) {
    int[] ys = batch.stream().mapToInt(Sample::label).toArray();
    return TInt32.tensorOf(Shape.of(ys.length), DataBuffers.of(ys, true, false));
  }

  /**
   * Hash of what determines the models: the trainer's own classes, the shipped data and the
   * hyper-parameters. A change to any of them retrains on the next build.
   */
  public static String buildHash() throws IOException {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (Class<?> c : List.of(Trainer.class, Architecture.class, FashionMnist.class)) {
        digestResource(sha, c, "/" + c.getName().replace('.', '/') + ".class");
      }
      for (Architecture a : Architecture.values()) {
        digestResource(
            sha,
            Architecture.class,
            "/"
                + a.getDeclaringClass().getName().replace('.', '/')
                + "$"
                + (a.ordinal() + 1)
                + ".class");
      }
      digestResource(sha, FashionMnist.class, FashionMnist.IMAGES_RESOURCE);
      digestResource(sha, FashionMnist.class, FashionMnist.LABELS_RESOURCE);
      String params = BATCH_SIZE + "/" + LEARNING_RATE + "/" + SEED + "/" + MODEL_VERSION;
      sha.update(params.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void digestResource(MessageDigest sha, Class<?> anchor, String resource)
      throws IOException {
    try (InputStream in = anchor.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("cannot hash missing resource " + resource);
      }
      sha.update(resource.getBytes(StandardCharsets.UTF_8));
      sha.update(in.readAllBytes());
    }
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
