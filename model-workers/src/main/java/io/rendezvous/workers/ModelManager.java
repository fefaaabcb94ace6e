package io.rendezvous.workers;

import ai.djl.inference.Predictor;
import io.rendezvous.config.CborSerializable;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.data.FashionMnist;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * This node's model versions and what each is doing: the one actor that loads, checks and retires
 * versions at run time, and owns their pools. Loading, the sanity check and closing run on the
 * blocking dispatcher (a model load reads files and imports a graph), never on this actor's thread.
 *
 * <p>A version is {@code LOADING} while its SavedModel loads and its accuracy on the hold-out set
 * is measured here, then {@code READY} with its pool spawned (the pool registers under the
 * version's own service key once a worker is warm), or {@code FAILED} with the reason, never
 * served. The versions the node starts with are {@code READY} from the start and are also listed
 * under their model's name, which is what endpoints use until they name versions (see
 * docs/lifecycle.md). Retiring stops the pool (its workers finish their calls) and then closes the
 * model.
 */
public final class ModelManager extends AbstractBehavior<ModelManager.Command> {
  public static final String BLOCKING_DISPATCHER = "rendezvous-blocking-dispatcher";

  public sealed interface Command extends CborSerializable {}

  /**
   * Load {@code version} of {@code name} from the store, check it, and serve it, its pool as {@code
   * pool} says where it says anything (else as the model the node started with, else {@code
   * rendezvous.model-defaults}).
   */
  public record Load(
      String name,
      String version,
      PoolOverrides pool,
      double checkedElsewhere,
      ActorRef<VersionState> replyTo)
      implements Command {
    public Load(String name, String version, ActorRef<VersionState> replyTo) {
      this(name, version, PoolOverrides.NONE, Double.NaN, replyTo);
    }

    public Load(String name, String version, PoolOverrides pool, ActorRef<VersionState> replyTo) {
      this(name, version, pool, Double.NaN, replyTo);
    }
  }

  /** A version's own pool settings; null fields keep the defaults. */
  public record PoolOverrides(
      Integer workers,
      Integer queueCapacity,
      Integer maxBatchSize,
      java.time.Duration maxBatchDelay)
      implements CborSerializable {
    public static final PoolOverrides NONE = new PoolOverrides(null, null, null, null);

    ModelSettings applyTo(ModelSettings base, String name, String version) {
      return new ModelSettings(
          name,
          base.store(),
          version,
          workers != null ? workers : base.workers(),
          queueCapacity != null ? queueCapacity : base.queueCapacity(),
          maxBatchSize != null ? maxBatchSize : base.maxBatchSize(),
          maxBatchDelay != null ? maxBatchDelay : base.maxBatchDelay(),
          base.fault(),
          base.watchdog());
    }
  }

  /** Stop serving {@code version} of {@code name} and close it. */
  public record Retire(String name, String version, ActorRef<VersionState> replyTo)
      implements Command {}

  /** Every version this node knows of, by name then version. */
  public record ListVersions(ActorRef<Versions> replyTo) implements Command {}

  public record Versions(List<VersionState> versions) implements CborSerializable {
    public Versions {
      versions = List.copyOf(versions);
    }
  }

  private record Loaded(String key, LoadedModel model, double measuredAccuracy)
      implements Command {}

  private record LoadFailed(String key, String reason) implements Command {}

  private record PoolStopped(String key) implements Command {}

  private record PoolDrained(String key) implements Command {}

  private record ModelClosed(String key) implements Command {}

  public enum State {
    LOADING,
    READY,
    FAILED,
    RETIRING,
    RETIRED
  }

  /**
   * One version on this node: its state and why ({@code detail}), the hold-out accuracy its
   * metadata claims and the one measured here at load (NaN before), and whether the node started
   * with it.
   */
  public record VersionState(
      String name,
      String version,
      State state,
      String detail,
      double claimedAccuracy,
      double measuredAccuracy,
      boolean atStart)
      implements CborSerializable {}

  /**
   * Where a version's changes are reported besides the log (the node journals them): {@code event}
   * is {@code version-ready}, {@code version-failed} or {@code version-retired}.
   */
  @FunctionalInterface
  public interface Reporter {
    Reporter NONE = (event, name, version, detail) -> {};

    void report(String event, String name, String version, String detail);
  }

  /** What the sanity check asks of a version. */
  public record Settings(
      double minHoldoutAccuracy,
      double minTextHoldoutAccuracy,
      int checkBatchSize,
      java.time.Duration drainGrace) {
    public static Settings fromConfig(com.typesafe.config.Config root) {
      com.typesafe.config.Config c = root.getConfig("rendezvous.lifecycle");
      return new Settings(
          c.getDouble("min-holdout-accuracy"),
          c.getDouble("min-text-holdout-accuracy"),
          c.getInt("check-batch-size"),
          c.getDuration("drain-grace"));
    }

    /** The floor for {@code model}: an image model's, or a text model's. */
    double floorFor(LoadedModel model) {
      return model.takesText() ? minTextHoldoutAccuracy : minHoldoutAccuracy;
    }
  }

  private final Settings settings;
  private final Reporter reporter;
  private final InferenceThreads threads;
  private final PoolHealth health;
  private final ModelSettings defaults;
  private final Executor blocking;
  private final Map<String, Entry> versions = new LinkedHashMap<>();
  private final ActorRef<ModelPool.Drained> drained;

  private static final class Entry {
    final String name;
    final String version;
    State state;
    String detail;
    double claimed = Double.NaN;
    double measured = Double.NaN;
    final boolean atStart;
    LoadedModel model;
    ActorRef<ModelPool.Command> pool;
    final List<ActorRef<VersionState>> waiting = new ArrayList<>();

    Entry(String name, String version, State state, String detail, boolean atStart) {
      this.name = name;
      this.version = version;
      this.state = state;
      this.detail = detail;
      this.atStart = atStart;
    }

    VersionState view() {
      return new VersionState(name, version, state, detail, claimed, measured, atStart);
    }
  }

  /**
   * A manager serving {@code atStart} (loaded before the node started), with pools for versions
   * loaded later configured as {@code defaults} (its name and version replaced).
   */
  public static Behavior<Command> create(
      List<LoadedModel> atStart,
      ModelSettings defaults,
      Settings settings,
      InferenceThreads threads,
      PoolHealth health) {
    return create(atStart, defaults, settings, threads, health, Reporter.NONE);
  }

  /** The same, reporting each version's changes to {@code reporter}. */
  public static Behavior<Command> create(
      List<LoadedModel> atStart,
      ModelSettings defaults,
      Settings settings,
      InferenceThreads threads,
      PoolHealth health,
      Reporter reporter) {
    return Behaviors.setup(
        ctx -> new ModelManager(ctx, atStart, defaults, settings, threads, health, reporter));
  }

  private ModelManager(
      ActorContext<Command> ctx,
      List<LoadedModel> atStart,
      ModelSettings defaults,
      Settings settings,
      InferenceThreads threads,
      PoolHealth health,
      Reporter reporter) {
    super(ctx);
    this.settings = settings;
    this.reporter = reporter;
    this.threads = threads;
    this.health = health;
    this.defaults = defaults;
    this.drained =
        ctx.messageAdapter(
            ModelPool.Drained.class, d -> new PoolDrained(key(d.model(), d.version())));
    this.blocking =
        ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(BLOCKING_DISPATCHER));
    for (LoadedModel m : atStart) {
      Entry e = new Entry(m.name(), m.version(), State.READY, "loaded at start", true);
      e.claimed = m.metadata().holdoutAccuracy();
      e.model = m;
      e.pool = spawnPool(e, true);
      versions.put(key(m.name(), m.version()), e);
    }
  }

  static String key(String name, String version) {
    return name + "@" + version;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Load.class, this::onLoad)
        .onMessage(Loaded.class, this::onLoaded)
        .onMessage(LoadFailed.class, this::onLoadFailed)
        .onMessage(Retire.class, this::onRetire)
        .onMessage(PoolStopped.class, this::onPoolStopped)
        .onMessage(
            PoolDrained.class,
            m -> {
              versions.get(m.key()).detail = "drained; its pool is stopping";
              return this;
            })
        .onMessage(ModelClosed.class, this::onModelClosed)
        .onMessage(ListVersions.class, this::onList)
        .build();
  }

  private Behavior<Command> onList(ListVersions m) {
    m.replyTo()
        .tell(
            new Versions(
                versions.values().stream()
                    .map(Entry::view)
                    .sorted(
                        Comparator.comparing(VersionState::name)
                            .thenComparingLong(v -> Long.parseLong(v.version())))
                    .toList()));
    return this;
  }

  private Behavior<Command> onLoad(Load m) {
    String key = key(m.name(), m.version());
    Entry known = versions.get(key);
    if (known != null && known.state != State.FAILED && known.state != State.RETIRED) {
      // loading twice is asking for what is there: the answer comes when it is settled
      if (known.state == State.LOADING) {
        known.waiting.add(m.replyTo());
      } else {
        m.replyTo().tell(known.view());
      }
      return this;
    }
    Entry e = new Entry(m.name(), m.version(), State.LOADING, "loading", false);
    e.waiting.add(m.replyTo());
    versions.put(key, e);
    ModelSettings s;
    try {
      // a new version of a model the node started with is served as that model is configured
      ModelSettings base =
          versions.values().stream()
              .filter(v -> v.atStart && v.name.equals(m.name()) && v.model != null)
              .map(v -> v.model.settings())
              .findFirst()
              .orElse(defaults);
      s = (m.pool() == null ? PoolOverrides.NONE : m.pool()).applyTo(base, m.name(), m.version());
      if (s.workers() >= threads.base() && versions.size() > 1) {
        throw new IllegalArgumentException(
            "workers "
                + s.workers()
                + " would let this version's hung calls hold every inference thread"
                + " (rendezvous.inference.threads is "
                + threads.base()
                + ")");
      }
    } catch (IllegalArgumentException bad) {
      return onLoadFailed(new LoadFailed(key, bad.getMessage()));
    }
    getContext().getLog().info("model {} version {}: loading", m.name(), m.version());
    getContext()
        .pipeToSelf(
            CompletableFuture.supplyAsync(() -> loadAndCheck(s, m.checkedElsewhere()), blocking),
            (loaded, failure) -> {
              if (failure != null) {
                Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
                return new LoadFailed(key, cause.getMessage());
              }
              return loaded;
            });
    return this;
  }

  /** Blocking: loads the version and measures it on the hold-out set. */
  /**
   * {@code checkedElsewhere}: the hold-out accuracy another node measured on these very files (the
   * caller has checked their content hash); NaN to measure it here.
   */
  private Loaded loadAndCheck(ModelSettings s, double checkedElsewhere) {
    LoadedModel model;
    try {
      model = LoadedModel.load(s);
    } catch (ModelLoadException e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
    try {
      String problem = shapeProblem(model.metadata());
      if (problem != null) {
        throw new IllegalStateException(problem);
      }
      // files proven identical to ones already checked need no second check on a busy node
      double accuracy = Double.isNaN(checkedElsewhere) ? holdoutAccuracy(model) : checkedElsewhere;
      if (accuracy < settings.floorFor(model)) {
        throw new IllegalStateException(
            String.format(
                "hold-out accuracy %.4f is below rendezvous.lifecycle.%s %.4f",
                accuracy,
                model.takesText() ? "min-text-holdout-accuracy" : "min-holdout-accuracy",
                settings.floorFor(model)));
      }
      return new Loaded(key(s.name(), s.version()), model, accuracy);
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }

  /**
   * Why this version's tensors or labels do not fit what the node serves, or null: an image model
   * takes the node's images and gives its labels; a text model's featurizer must make its input.
   */
  static String shapeProblem(ModelMetadata m) {
    if (m.featurizer() != null) {
      try {
        io.rendezvous.workers.text.TextFeatures f =
            io.rendezvous.workers.text.TextFeatures.parse(m.featurizer());
        if (f.width() != m.input().elementsPerInstance()
            || !m.output().shape().equals(List.of(-1L, (long) m.labels().size()))) {
          return "featurizer "
              + m.featurizer()
              + ", input "
              + m.input()
              + " and output "
              + m.output()
              + " with "
              + m.labels().size()
              + " labels do not fit together";
        }
        return null;
      } catch (IllegalArgumentException e) {
        return e.getMessage();
      }
    }
    if (!"float32".equals(m.input().dtype())
        || !m.input().shape().equals(List.of(-1L, (long) FashionMnist.PIXELS))) {
      return "input " + m.input() + " is not float32 [-1, " + FashionMnist.PIXELS + "]";
    }
    if (!m.labels().equals(FashionMnist.LABELS)
        || !m.output().shape().equals(List.of(-1L, (long) FashionMnist.LABELS.size()))) {
      return "output " + m.output() + " with labels " + m.labels() + " is not the node's labels";
    }
    return null;
  }

  private double holdoutAccuracy(LoadedModel model) {
    if (model.takesText()) {
      return textHoldoutAccuracy(model);
    }
    List<FashionMnist.Sample> holdout = FashionMnist.load().holdout();
    int correct = 0;
    try (Predictor<List<TensorData>, List<float[]>> p = model.newBatchPredictor()) {
      for (int from = 0; from < holdout.size(); from += settings.checkBatchSize()) {
        List<FashionMnist.Sample> batch =
            holdout.subList(from, Math.min(holdout.size(), from + settings.checkBatchSize()));
        List<TensorData> inputs = new ArrayList<>();
        for (FashionMnist.Sample s : batch) {
          inputs.add(TensorData.float32(new long[] {1, FashionMnist.PIXELS}, s.scaled()));
        }
        List<float[]> out = p.predict(inputs);
        for (int i = 0; i < batch.size(); i++) {
          if (argmax(out.get(i)) == batch.get(i).label()) {
            correct++;
          }
        }
      }
    } catch (ai.djl.translate.TranslateException e) {
      throw new IllegalStateException("hold-out check could not run the model: " + e, e);
    }
    return (double) correct / holdout.size();
  }

  /**
   * A text model's accuracy on the hold-out part of the rows its version keeps (a user's CSV), or
   * else of the shipped corpus when it answers with the corpus's labels; a model of other labels
   * that keeps no rows has no hold-out on this node, and its claimed accuracy stands.
   */
  private double textHoldoutAccuracy(LoadedModel model) {
    io.rendezvous.workers.text.TextCorpus corpus;
    try {
      corpus = io.rendezvous.workers.text.TextCorpus.ofVersion(model.directory());
    } catch (java.io.IOException e) {
      throw new IllegalStateException(
          "the version's " + io.rendezvous.workers.text.TextCorpus.VERSION_DATA + ": " + e, e);
    }
    if (corpus == null) {
      corpus = io.rendezvous.workers.text.TextCorpus.shipped();
    }
    if (!corpus.labels().equals(model.metadata().labels()) || corpus.holdout().isEmpty()) {
      return model.metadata().holdoutAccuracy();
    }
    List<io.rendezvous.workers.text.TextCorpus.Example> holdout = corpus.holdout();
    int correct = 0;
    try (Predictor<List<TensorData>, List<float[]>> p = model.newBatchPredictor()) {
      for (int from = 0; from < holdout.size(); from += settings.checkBatchSize()) {
        List<io.rendezvous.workers.text.TextCorpus.Example> batch =
            holdout.subList(from, Math.min(holdout.size(), from + settings.checkBatchSize()));
        List<TensorData> inputs = new ArrayList<>();
        for (io.rendezvous.workers.text.TextCorpus.Example e : batch) {
          inputs.add(TensorData.text(e.text()));
        }
        List<float[]> out = p.predict(inputs);
        for (int i = 0; i < batch.size(); i++) {
          if (argmax(out.get(i)) == batch.get(i).label()) {
            correct++;
          }
        }
      }
    } catch (ai.djl.translate.TranslateException e) {
      throw new IllegalStateException("hold-out check could not run the model: " + e, e);
    }
    return (double) correct / holdout.size();
  }

  private static int argmax(float[] p) {
    int best = 0;
    for (int i = 1; i < p.length; i++) {
      if (p[i] > p[best]) {
        best = i;
      }
    }
    return best;
  }

  private Behavior<Command> onLoaded(Loaded m) {
    Entry e = versions.get(m.key());
    e.model = m.model();
    e.claimed = m.model().metadata().holdoutAccuracy();
    e.measured = m.measuredAccuracy();
    e.state = State.READY;
    e.detail = String.format("serving; hold-out accuracy %.4f measured here", e.measured);
    e.pool = spawnPool(e, false);
    getContext().getLog().info("model {} version {}: {}", e.name, e.version, e.detail);
    reporter.report("version-ready", e.name, e.version, e.detail);
    settle(e);
    return this;
  }

  private Behavior<Command> onLoadFailed(LoadFailed m) {
    Entry e = versions.get(m.key());
    e.state = State.FAILED;
    e.detail = m.reason();
    getContext()
        .getLog()
        .error(
            "model {} version {} failed to load and is not served: {}",
            e.name,
            e.version,
            e.detail);
    reporter.report("version-failed", e.name, e.version, e.detail);
    settle(e);
    return this;
  }

  private Behavior<Command> onRetire(Retire m) {
    Entry e = versions.get(key(m.name(), m.version()));
    if (e == null || e.state != State.READY) {
      m.replyTo()
          .tell(
              e != null
                  ? e.view()
                  : new VersionState(
                      m.name(),
                      m.version(),
                      State.FAILED,
                      "not on this node",
                      Double.NaN,
                      Double.NaN,
                      false));
      return this;
    }
    e.state = State.RETIRING;
    e.detail =
        "draining: its pool answers what it has queued and running (a hung call is waited for)";
    e.waiting.add(m.replyTo());
    // the model closes only once the pool has stopped, and the pool stops only once no call of
    // its can still use the model
    getContext().watchWith(e.pool, new PoolStopped(key(e.name, e.version)));
    e.pool.tell(new ModelPool.Drain(settings.drainGrace(), drained));
    getContext().getLog().info("model {} version {}: retiring", e.name, e.version);
    return this;
  }

  private Behavior<Command> onPoolStopped(PoolStopped m) {
    Entry e = versions.get(m.key());
    e.detail = "closing the model";
    LoadedModel model = e.model;
    getContext()
        .pipeToSelf(
            CompletableFuture.runAsync(model::close, blocking),
            (ok, failure) -> new ModelClosed(m.key()));
    return this;
  }

  private Behavior<Command> onModelClosed(ModelClosed m) {
    Entry e = versions.get(m.key());
    e.state = State.RETIRED;
    e.detail = "retired";
    e.model = null;
    e.pool = null;
    getContext().getLog().info("model {} version {}: retired", e.name, e.version);
    reporter.report("version-retired", e.name, e.version, "retired");
    settle(e);
    return this;
  }

  private void settle(Entry e) {
    VersionState v = e.view();
    e.waiting.forEach(r -> r.tell(v));
    e.waiting.clear();
  }

  private ActorRef<ModelPool.Command> spawnPool(Entry e, boolean listedByName) {
    return getContext()
        .spawn(
            ModelPool.create(e.model, threads, health, listedByName),
            "model-" + e.name + "-v" + e.version);
  }
}
