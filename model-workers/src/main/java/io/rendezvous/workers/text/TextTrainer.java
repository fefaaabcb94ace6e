package io.rendezvous.workers.text;

import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.ModelStore;
import io.rendezvous.model.ReferenceSummary;
import io.rendezvous.model.TensorSpec;
import io.rendezvous.workers.training.ContentHash;
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
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.framework.optimizers.Adam;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Trains a text endpoint's three models, cheapest to best, each a SavedModel over the dense vector
 * of its {@link TextFeatures} ({@code input} float32 [-1, width] to {@code probabilities} float32
 * [-1, labels]) with the featurizer's id in its metadata:
 *
 * <ul>
 *   <li>{@code <prefix>-nb}: multinomial naive Bayes over hashed words (2,048 buckets), in closed
 *       form: the fast fallback, the fewest parameters;
 *   <li>{@code <prefix>-logreg}: logistic regression over words, word pairs and character 3-5-grams
 *       (4,096 buckets), trained with Adam;
 *   <li>{@code <prefix>-mlp}: a small MLP (128 hidden units) over the same features: the first
 *       choice.
 * </ul>
 *
 * Each is judged on the corpus's fixed hold-out part against the majority-class baseline, with a
 * per-class confusion table ({@link Report}). The default build trains them on the shipped corpus
 * (prefix {@code sections}) once per build hash, like the image models.
 */
public final class TextTrainer {
  private static final Logger log = LoggerFactory.getLogger(TextTrainer.class);

  public static final String DEFAULT_PREFIX = "sections";
  public static final long SEED = 42L;

  static final TextFeatures NB_FEATURES = new TextFeatures(1, 0, 0, 2048);
  static final TextFeatures FULL_FEATURES = new TextFeatures(2, 3, 5, 4096);

  private static final int BATCH_SIZE = 64;
  private static final int HIDDEN = 128;
  private static final double NB_SMOOTHING = 0.1;

  /** The three kinds, in the order they are trained (cheapest first). */
  public enum Kind {
    NAIVE_BAYES("nb", "multinomial naive Bayes over hashed words", NB_FEATURES, 0, 0f),
    LOGISTIC_REGRESSION(
        "logreg",
        "logistic regression over hashed words, pairs and 3-5-grams",
        FULL_FEATURES,
        12,
        0.01f),
    MLP(
        "mlp",
        "MLP 4096-128(relu)-n over hashed words, pairs and 3-5-grams",
        FULL_FEATURES,
        8,
        0.002f);

    final String suffix;
    final String description;
    final TextFeatures features;
    final int epochs;
    final float learningRate;

    Kind(String suffix, String description, TextFeatures features, int epochs, float lr) {
      this.suffix = suffix;
      this.description = description;
      this.features = features;
      this.epochs = epochs;
      this.learningRate = lr;
    }

    public String modelName(String prefix) {
      return prefix + "-" + suffix;
    }

    /** The kind a text model's name says ({@code <prefix>-nb}, ...), if it says one. */
    public static java.util.Optional<Kind> ofModel(String model) {
      for (Kind k : values()) {
        if (model.endsWith("-" + k.suffix) && model.length() > k.suffix.length() + 1) {
          return java.util.Optional.of(k);
        }
      }
      return java.util.Optional.empty();
    }

    /** The prefix of {@code model}, a model of this kind. */
    public String prefixOf(String model) {
      return model.substring(0, model.length() - suffix.length() - 1);
    }

    public TextFeatures features() {
      return features;
    }

    /** Trainable parameters for {@code labels} classes. */
    public long parameters(int labels) {
      int w = features.width();
      return this == MLP
          ? (long) w * HIDDEN + HIDDEN + (long) HIDDEN * labels + labels
          : (long) w * labels + labels;
    }
  }

  /** One model's hold-out figures. */
  public record Report(
      String model,
      String version,
      String featurizer,
      long parameters,
      double accuracy,
      double majorityBaseline,
      List<String> labels,
      int[][] confusion,
      long millis) {

    /** The report as text: accuracy against the baseline, then truth (rows) by prediction. */
    public String table() {
      StringBuilder out = new StringBuilder();
      out.append(
          String.format(
              Locale.ROOT,
              "%s@%s (%s, %,d parameters): hold-out accuracy %.4f against the majority class's %.4f, trained in %d ms%n",
              model,
              version,
              featurizer,
              parameters,
              accuracy,
              majorityBaseline,
              millis));
      out.append(String.format(Locale.ROOT, "%14s", "truth \\ said"));
      for (String l : labels) {
        out.append(String.format(Locale.ROOT, " %6.6s", l));
      }
      out.append(String.format(Locale.ROOT, " %7s%n", "recall"));
      for (int t = 0; t < labels.size(); t++) {
        out.append(String.format(Locale.ROOT, "%14.14s", labels.get(t)));
        int row = 0;
        for (int p = 0; p < labels.size(); p++) {
          out.append(String.format(Locale.ROOT, " %6d", confusion[t][p]));
          row += confusion[t][p];
        }
        out.append(
            String.format(Locale.ROOT, " %7.3f%n", row == 0 ? 0 : (double) confusion[t][t] / row));
      }
      return out.toString();
    }
  }

  private TextTrainer() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: TextTrainer <model-store> [--force]");
      System.exit(2);
    }
    ModelStore store = new ModelStore(Path.of(args[0]));
    boolean force = Arrays.asList(args).contains("--force");
    String hash = buildHash();
    if (!force && builtAlready(store, Kind.MLP.modelName(DEFAULT_PREFIX), hash)) {
      log.info(
          "text models {}-* in {} are up to date (build hash {})",
          DEFAULT_PREFIX,
          store.root(),
          hash);
      return;
    }
    for (Report r : trainAll(TextCorpus.shipped(), store, DEFAULT_PREFIX, SEED, hash)) {
      log.info("trained {}", r.table());
    }
  }

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
   * Trains the three kinds on the shipped corpus into {@code store} as the next versions; each
   * points to its data by hash (every node has the shipped corpus).
   */
  public static List<Report> trainAll(
      TextCorpus corpus, ModelStore store, String prefix, long seed, String hash)
      throws IOException {
    return trainAll(corpus, store, prefix, seed, hash, false);
  }

  /**
   * The same; {@code keepData}: each version keeps the corpus's rows in its directory ({@link
   * TextCorpus#VERSION_DATA}), as a user's CSV must be kept for the version to travel with it.
   */
  public static List<Report> trainAll(
      TextCorpus corpus, ModelStore store, String prefix, long seed, String hash, boolean keepData)
      throws IOException {
    List<Report> out = new ArrayList<>();
    for (Kind k : Kind.values()) {
      out.add(train(k, corpus, store, prefix, seed, hash, keepData));
    }
    return out;
  }

  public static Report train(
      Kind kind,
      TextCorpus corpus,
      ModelStore store,
      String prefix,
      long seed,
      String hash,
      boolean keepData)
      throws IOException {
    long start = System.nanoTime();
    String name = kind.modelName(prefix);
    String version = store.nextVersion(name);
    Path dir = store.versionDir(name, version);
    Path staging = dir.resolveSibling(".staging-" + version);
    io.rendezvous.workers.training.Trainer.deleteRecursively(staging);
    Files.createDirectories(staging.getParent());
    int labels = corpus.labels().size();
    TextFeatures f = kind.features();
    List<TextFeatures.Sparse> train = new ArrayList<>();
    int[] trainLabels = new int[corpus.train().size()];
    for (int i = 0; i < corpus.train().size(); i++) {
      train.add(f.sparse(corpus.train().get(i).text()));
      trainLabels[i] = corpus.train().get(i).label();
    }
    List<TextFeatures.Sparse> holdout = new ArrayList<>();
    for (TextCorpus.Example e : corpus.holdout()) {
      holdout.add(f.sparse(e.text()));
    }
    int[] predicted;
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Placeholder<TFloat32> x =
          tf.withName("input")
              .placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, f.width())));
      Operand<TFloat32> logits;
      Placeholder<TInt32> y =
          tf.withName("labels").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1)));
      Op minimize = null;
      if (kind == Kind.NAIVE_BAYES) {
        float[][] wb = naiveBayes(train, trainLabels, labels, f.width());
        Variable<TFloat32> w =
            tf.variable(
                tf.constant(Shape.of(f.width(), labels), DataBuffers.of(wb[0], true, false)));
        Variable<TFloat32> b = tf.variable(tf.constant(wb[1]));
        logits = tf.math.add(tf.linalg.matMul(x, w), b);
      } else {
        Operand<TFloat32> hidden = x;
        int in = f.width();
        if (kind == Kind.MLP) {
          hidden = tf.nn.relu(dense(tf, x, in, HIDDEN, seed, 1));
          in = HIDDEN;
        }
        logits = dense(tf, hidden, in, labels, seed, 2);
        Operand<TFloat32> onehot =
            tf.oneHot(y, tf.constant(labels), tf.constant(1f), tf.constant(0f));
        Operand<TFloat32> loss =
            tf.math.mean(
                tf.nn.softmaxCrossEntropyWithLogits(logits, onehot).loss(), tf.constant(0));
        minimize = new Adam(graph, kind.learningRate).minimize(loss);
      }
      Operand<TFloat32> probabilities = tf.withName("probabilities").nn.softmax(logits);
      try (Session session = new Session(graph)) {
        session.initialize();
        if (minimize != null) {
          List<Integer> order = new ArrayList<>();
          for (int i = 0; i < train.size(); i++) {
            order.add(i);
          }
          Random shuffle = new Random(seed);
          for (int epoch = 0; epoch < kind.epochs; epoch++) {
            Collections.shuffle(order, shuffle);
            for (int from = 0; from < order.size(); from += BATCH_SIZE) {
              List<Integer> batch = order.subList(from, Math.min(order.size(), from + BATCH_SIZE));
              int[] ys = new int[batch.size()];
              List<TextFeatures.Sparse> xs = new ArrayList<>(batch.size());
              for (int i = 0; i < batch.size(); i++) {
                xs.add(train.get(batch.get(i)));
                ys[i] = trainLabels[batch.get(i)];
              }
              try (TFloat32 xt = dense(xs, f.width());
                  TInt32 yt =
                      TInt32.tensorOf(Shape.of(ys.length), DataBuffers.of(ys, true, false))) {
                session.runner().feed(x, xt).feed(y, yt).addTarget(minimize).run();
              }
            }
          }
        }
        predicted = predict(session, x, probabilities, holdout, f.width());
        io.rendezvous.workers.training.Trainer.export(session, x, probabilities, staging);
      }
    }
    long millis = (System.nanoTime() - start) / 1_000_000;
    int[][] confusion = new int[labels][labels];
    int right = 0;
    double[] truthShare = new double[labels];
    double[] saidShare = new double[labels];
    for (int i = 0; i < predicted.length; i++) {
      int t = corpus.holdout().get(i).label();
      confusion[t][predicted[i]]++;
      right += t == predicted[i] ? 1 : 0;
      truthShare[t] += 1.0 / predicted.length;
      saidShare[predicted[i]] += 1.0 / predicted.length;
    }
    double accuracy = (double) right / predicted.length;
    long parameters = kind.parameters(labels);
    if (keepData) {
      corpus.writeTo(staging); // before the content hash, which covers it
    }
    ModelMetadata m =
        new ModelMetadata(
            ModelMetadata.SCHEMA_VERSION,
            name,
            version,
            kind.description,
            corpus.labels(),
            accuracy,
            predicted.length,
            millis,
            Instant.now().toString(),
            hash,
            Signature.DEFAULT_KEY,
            new TensorSpec("input", "float32", List.of(-1L, (long) f.width())),
            new TensorSpec("probabilities", "float32", List.of(-1L, (long) labels)),
            dataHash(corpus),
            seed,
            ContentHash.of(staging),
            new ReferenceSummary(
                Arrays.stream(truthShare).boxed().toList(),
                Arrays.stream(saidShare).boxed().toList(),
                List.of()),
            f.id(),
            parameters);
    m.write(staging);
    Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
    return new Report(
        name,
        version,
        f.id(),
        parameters,
        accuracy,
        majorityBaseline(corpus),
        corpus.labels(),
        confusion,
        millis);
  }

  /** The hold-out accuracy of always saying the training part's most frequent label. */
  public static double majorityBaseline(TextCorpus corpus) {
    int[] counts = new int[corpus.labels().size()];
    corpus.train().forEach(e -> counts[e.label()]++);
    int majority = 0;
    for (int c = 1; c < counts.length; c++) {
      majority = counts[c] > counts[majority] ? c : majority;
    }
    int m = majority;
    return (double) corpus.holdout().stream().filter(e -> e.label() == m).count()
        / corpus.holdout().size();
  }

  /**
   * Multinomial naive Bayes: log P(bucket | label) (width x labels, row-major) and log P(label).
   */
  static float[][] naiveBayes(List<TextFeatures.Sparse> xs, int[] ys, int labels, int width) {
    double[][] mass = new double[labels][width];
    double[] total = new double[labels];
    int[] count = new int[labels];
    for (int i = 0; i < xs.size(); i++) {
      TextFeatures.Sparse s = xs.get(i);
      int c = ys[i];
      count[c]++;
      for (int k = 0; k < s.index().length; k++) {
        mass[c][s.index()[k]] += s.value()[k];
        total[c] += s.value()[k];
      }
    }
    float[] w = new float[width * labels];
    float[] b = new float[labels];
    for (int c = 0; c < labels; c++) {
      double denominator = total[c] + NB_SMOOTHING * width;
      for (int j = 0; j < width; j++) {
        w[j * labels + c] = (float) Math.log((mass[c][j] + NB_SMOOTHING) / denominator);
      }
      b[c] = (float) Math.log((count[c] + 1.0) / (xs.size() + labels));
    }
    return new float[][] {w, b};
  }

  private static int[] predict(
      Session session,
      Placeholder<TFloat32> x,
      Operand<TFloat32> probabilities,
      List<TextFeatures.Sparse> xs,
      int width) {
    int[] out = new int[xs.size()];
    for (int from = 0; from < xs.size(); from += 512) {
      List<TextFeatures.Sparse> batch = xs.subList(from, Math.min(xs.size(), from + 512));
      try (TFloat32 xt = dense(batch, width);
          Result r = session.runner().feed(x, xt).fetch(probabilities).run()) {
        TFloat32 p = (TFloat32) r.get(0);
        int classes = (int) p.shape().get(1);
        for (int i = 0; i < batch.size(); i++) {
          int best = 0;
          for (int c = 1; c < classes; c++) {
            if (p.getFloat(i, c) > p.getFloat(i, best)) {
              best = c;
            }
          }
          out[from + i] = best;
        }
      }
    }
    return out;
  }

  private static TFloat32 dense(List<TextFeatures.Sparse> batch, int width) {
    float[] flat = new float[batch.size() * width];
    for (int i = 0; i < batch.size(); i++) {
      batch.get(i).addTo(flat, i * width);
    }
    return TFloat32.tensorOf(Shape.of(batch.size(), width), DataBuffers.of(flat, true, false));
  }

  private static Operand<TFloat32> dense(
      Ops tf, Operand<TFloat32> x, int in, int out, long seed, int layer) {
    float stddev = (float) Math.sqrt(2.0 / (in + out));
    Operand<TFloat32> init =
        tf.math.mul(
            tf.random.statelessTruncatedNormal(
                tf.constant(new long[] {in, out}), tf.constant(new long[] {seed, layer})),
            tf.constant(stddev));
    Variable<TFloat32> w = tf.variable(init);
    Variable<TFloat32> b = tf.variable(tf.zeros(tf.constant(new long[] {out}), TFloat32.class));
    return tf.math.add(tf.linalg.matMul(x, w), b);
  }

  /** Hash of the corpus's training rows (text and label, in order). */
  static String dataHash(TextCorpus corpus) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (TextCorpus.Example e : corpus.train()) {
        sha.update(e.text().getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(corpus.labels().get(e.label()).getBytes(StandardCharsets.UTF_8));
        sha.update((byte) '\n');
      }
      return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Hash of what determines the text models: these classes, the shipped corpus, the settings. */
  public static String buildHash() throws IOException {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (Class<?> c :
          List.of(TextTrainer.class, TextFeatures.class, TextCorpus.class, Kind.class)) {
        digest(sha, "/" + c.getName().replace('.', '/') + ".class");
      }
      digest(sha, TextCorpus.SHIPPED);
      sha.update(
          (BATCH_SIZE
                  + "/"
                  + HIDDEN
                  + "/"
                  + NB_SMOOTHING
                  + "/"
                  + SEED
                  + "/"
                  + ModelMetadata.SCHEMA_VERSION)
              .getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void digest(MessageDigest sha, String resource) throws IOException {
    try (InputStream in = TextTrainer.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("cannot hash missing resource " + resource);
      }
      sha.update(resource.getBytes(StandardCharsets.UTF_8));
      sha.update(in.readAllBytes());
    }
  }
}
