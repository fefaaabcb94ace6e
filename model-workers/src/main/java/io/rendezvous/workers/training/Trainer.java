package io.rendezvous.workers.training;

import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.ModelStore;
import io.rendezvous.model.ReferenceSummary;
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
 * Trains m1, m2 and m3 on the shipped Fashion-MNIST split and exports each as a new version in the
 * {@link ModelStore} (a SavedModel, signature {@code serving_default}: {@code input} float32
 * [-1,784] to {@code probabilities} float32 [-1,10], with its {@link ModelMetadata}).
 *
 * <p>The build's models are made once: a version's metadata records the hash of the trainer's
 * classes, the data and the hyper-parameters; while a version with this build's hash and the
 * default seed exists, the build trains nothing. {@code --force} or another {@code --seed} makes a
 * new version anyway (an older one is never overwritten).
 */
public final class Trainer {
  private static final Logger log = LoggerFactory.getLogger(Trainer.class);

  private static final int BATCH_SIZE = 64;
  private static final float LEARNING_RATE = 0.001f;

  /**
   * Fine-tuning starts at a trained optimum with fresh Adam moments, whose first steps are full
   * size whatever the gradient: at the from-scratch rate, three epochs on shirts moved m2's shirt
   * accuracy anywhere from 56% to 88% (docs/freshness.md); at a fifth of it, 61-80%, never below
   * live overall by more than a point.
   */
  private static final float FINE_TUNE_LEARNING_RATE = 0.0002f;

  private static final long SEED = 42L;

  /** Bins of each input-statistic histogram in a version's reference summary. */
  private static final int REFERENCE_BINS = 10;

  private Trainer() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: Trainer <model-store> [--force] [--model NAME] [--seed N]");
      System.exit(2);
    }
    ModelStore store = new ModelStore(Path.of(args[0]));
    boolean force = false;
    String only = null;
    Long seed = null;
    for (int i = 1; i < args.length; i++) {
      switch (args[i]) {
        case "--force" -> force = true;
        case "--model" -> only = args[++i];
        case "--seed" -> seed = Long.parseLong(args[++i]);
        default -> {
          System.err.println("unknown option " + args[i]);
          System.exit(2);
        }
      }
    }
    String hash = buildHash();
    FashionMnist data = null;
    for (Architecture a : Architecture.values()) {
      String name = a.modelName();
      if (only != null && !only.equals(name)) {
        continue;
      }
      removeFlatLayout(store.modelDir(name));
      // the build's models (default seed) are made once per trainer, data and parameters; another
      // seed or --force always makes a new version
      if (!force && seed == null && builtAlready(store, name, hash)) {
        log.info("model {} in {} is up to date (build hash {})", name, store.root(), hash);
        continue;
      }
      if (data == null) {
        data = FashionMnist.load();
      }
      String version = store.nextVersion(name);
      ModelMetadata m = train(a, data, store, version, hash, seed == null ? SEED : seed);
      log.info(
          "trained {} version {} ({}): hold-out accuracy {} in {} ms",
          m.name(),
          m.version(),
          m.description(),
          String.format("%.4f", m.holdoutAccuracy()),
          m.trainingTimeMillis());
    }
  }

  /** Whether a version of {@code name} was made by this build with the default seed. */
  private static boolean builtAlready(ModelStore store, String name, String hash)
      throws IOException {
    for (String v : store.versions(name)) {
      ModelMetadata m = ModelMetadata.read(store.versionDir(name, v));
      if (hash.equals(m.buildHash()) && m.seed() == SEED) {
        return true;
      }
    }
    return false;
  }

  /**
   * Before versions, a model's directory held its SavedModel itself: those files go (they were
   * built by an older trainer), its version directories stay.
   */
  private static void removeFlatLayout(Path modelDir) throws IOException {
    if (!Files.isRegularFile(modelDir.resolve(ModelMetadata.FILE_NAME))) {
      return;
    }
    log.info("removing {}'s unversioned SavedModel (the store now keeps versions)", modelDir);
    for (String f : List.of(ModelMetadata.FILE_NAME, "saved_model.pb", "variables", "assets")) {
      deleteRecursively(modelDir.resolve(f));
    }
  }

  /**
   * Trains one architecture with {@code seed} and exports it as {@code version} in {@code store}
   * (written aside, then moved in whole: a version directory is complete or absent).
   */
  public static ModelMetadata train(
      Architecture arch,
      FashionMnist data,
      ModelStore store,
      String version,
      String hash,
      long seed)
      throws IOException {
    return train(
        arch,
        data.train(),
        data.holdout(),
        store,
        version,
        hash,
        seed,
        arch.description(),
        null,
        arch.epochs());
  }

  /**
   * The trained graph of {@code session} as a SavedModel in {@code dir}, with the serving signature
   * every model here has: {@code input} to {@code probabilities}.
   */
  public static void export(
      Session session, Operand<?> input, Operand<?> probabilities, java.nio.file.Path dir)
      throws IOException {
    SavedModelBundle.exporter(dir.toString())
        .withSession(session)
        .withSignature(
            Signature.builder()
                .key(Signature.DEFAULT_KEY)
                .input("input", input)
                .output("probabilities", probabilities)
                .build())
        .export();
  }

  /**
   * As above, on {@code train} (the shipped training part, or that plus corrections) for {@code
   * epochs}, and judged on {@code holdout}; {@code description} says what it was trained on. {@code
   * startFrom}: a version of the same architecture whose weights it starts from (fine-tuning), or
   * null to start from seeded random weights.
   */
  public static ModelMetadata train(
      Architecture arch,
      List<Sample> train,
      List<Sample> holdout,
      ModelStore store,
      String version,
      String hash,
      long seed,
      String description,
      Path startFrom,
      int epochs)
      throws IOException {
    long start = System.nanoTime();
    List<TFloat32> warm = startFrom == null ? List.of() : variablesOf(startFrom);
    try {
      return train(
          arch, train, holdout, store, version, hash, seed, description, warm, epochs, start);
    } finally {
      warm.forEach(TFloat32::close);
    }
  }

  /**
   * The trained variables of the SavedModel in {@code dir} ({@code Variable}, {@code Variable_1},
   * ...: the network's, not the optimiser's), in creation order.
   */
  static List<TFloat32> variablesOf(Path dir) {
    List<TFloat32> out = new ArrayList<>();
    try (SavedModelBundle b = SavedModelBundle.load(dir.toString(), SavedModelBundle.DEFAULT_TAG)) {
      for (int i = 0; ; i++) {
        String name = i == 0 ? "Variable" : "Variable_" + i;
        if (b.graph().operation(name) == null) {
          break;
        }
        try (Result r = b.session().runner().fetch(name).run()) {
          TFloat32 t = (TFloat32) r.get(0);
          // a copy that outlives the session's result
          TFloat32 copy = TFloat32.tensorOf(t.shape());
          t.copyTo(copy);
          out.add(copy);
        }
      }
    }
    return out;
  }

  private static ModelMetadata train(
      Architecture arch,
      List<Sample> train,
      List<Sample> holdout,
      ModelStore store,
      String version,
      String hash,
      long seed,
      String description,
      List<TFloat32> warm,
      int epochs,
      long start)
      throws IOException {
    Path dir = store.versionDir(arch.modelName(), version);
    if (Files.exists(dir)) {
      throw new IOException(dir + " exists: a version is never overwritten");
    }
    Path staging = dir.resolveSibling(".staging-" + version);
    deleteRecursively(staging);
    int[] predicted;
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Placeholder<TFloat32> x = Architecture.inputPlaceholder(tf);
      Placeholder<TInt32> y = Architecture.labelPlaceholder(tf);
      Operand<TFloat32> logits =
          arch.logits(
              tf,
              x,
              seed,
              warm.isEmpty() ? Architecture.Start.fresh() : Architecture.Start.from(warm));
      Operand<TFloat32> probabilities = tf.withName("probabilities").nn.softmax(logits);
      Operand<TFloat32> onehot =
          tf.oneHot(y, tf.constant(FashionMnist.LABELS.size()), tf.constant(1f), tf.constant(0f));
      Operand<TFloat32> loss =
          tf.math.mean(tf.nn.softmaxCrossEntropyWithLogits(logits, onehot).loss(), tf.constant(0));
      Op minimize =
          new Adam(graph, warm.isEmpty() ? LEARNING_RATE : FINE_TUNE_LEARNING_RATE).minimize(loss);
      try (Session session = new Session(graph)) {
        session.initialize();
        List<Sample> order = new ArrayList<>(train);
        Random shuffle = new Random(seed);
        for (int epoch = 0; epoch < epochs; epoch++) {
          Collections.shuffle(order, shuffle);
          for (int from = 0; from < order.size(); from += BATCH_SIZE) {
            List<Sample> batch = order.subList(from, Math.min(order.size(), from + BATCH_SIZE));
            try (TFloat32 xs = images(batch);
                TInt32 ys = labels(batch)) {
              session.runner().feed(x, xs).feed(y, ys).addTarget(minimize).run();
            }
          }
        }
        predicted = predict(session, x, probabilities, holdout);
        Files.createDirectories(staging.getParent());
        export(session, x, probabilities, staging);
      }
    }
    long millis = (System.nanoTime() - start) / 1_000_000;
    ModelMetadata metadata =
        new ModelMetadata(
            ModelMetadata.SCHEMA_VERSION,
            arch.modelName(),
            version,
            description,
            FashionMnist.LABELS,
            accuracy(predicted, holdout),
            holdout.size(),
            millis,
            Instant.now().toString(),
            hash,
            Signature.DEFAULT_KEY,
            new TensorSpec("input", "float32", List.of(-1L, (long) FashionMnist.PIXELS)),
            new TensorSpec(
                "probabilities", "float32", List.of(-1L, (long) FashionMnist.LABELS.size())),
            dataHash(train),
            seed,
            ContentHash.of(staging),
            reference(train, holdout, predicted));
    metadata.write(staging);
    Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
    return metadata;
  }

  private static double accuracy(int[] predicted, List<Sample> holdout) {
    int correct = 0;
    for (int i = 0; i < holdout.size(); i++) {
      if (predicted[i] == holdout.get(i).label()) {
        correct++;
      }
    }
    return (double) correct / holdout.size();
  }

  /** Hash of the training inputs and labels, in order. */
  public static String dataHash(List<Sample> samples) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (Sample s : samples) {
        sha.update(s.pixels());
        sha.update((byte) s.label());
      }
      return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The version's reference for drift checks: label shares and input statistics. */
  static ReferenceSummary reference(List<Sample> train, List<Sample> holdout, int[] predicted) {
    int labels = FashionMnist.LABELS.size();
    double[] truth = new double[labels];
    double[] said = new double[labels];
    for (int i = 0; i < holdout.size(); i++) {
      truth[holdout.get(i).label()] += 1.0 / holdout.size();
      said[predicted[i]] += 1.0 / holdout.size();
    }
    double[] mean = new double[train.size()];
    double[] nonZero = new double[train.size()];
    for (int i = 0; i < train.size(); i++) {
      // the same statistics the monitor takes of live inputs, by the same code
      float[] px = train.get(i).scaled();
      mean[i] = io.rendezvous.model.InputStatistics.mean(px);
      nonZero[i] = io.rendezvous.model.InputStatistics.nonZeroShare(px);
    }
    return new ReferenceSummary(
        java.util.Arrays.stream(truth).boxed().toList(),
        java.util.Arrays.stream(said).boxed().toList(),
        List.of(
            ReferenceSummary.Histogram.of("mean_pixel", mean, 0, 1, REFERENCE_BINS),
            ReferenceSummary.Histogram.of("non_zero_share", nonZero, 0, 1, REFERENCE_BINS)));
  }

  /** The predicted label of each hold-out sample. */
  private static int[] predict(
      Session session,
      Placeholder<TFloat32> x,
      Operand<TFloat32> probabilities,
      List<Sample> holdout) {
    int[] out = new int[holdout.size()];
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
        out[i] = best;
      }
    }
    return out;
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
      String params =
          BATCH_SIZE + "/" + LEARNING_RATE + "/" + SEED + "/" + ModelMetadata.SCHEMA_VERSION;
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

  /** Deletes {@code dir} and everything in it; nothing when it is absent. */
  public static void deleteRecursively(Path dir) throws IOException {
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
