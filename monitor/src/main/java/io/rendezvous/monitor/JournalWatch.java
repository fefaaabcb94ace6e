package io.rendezvous.monitor;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.journal.JournalWriter;
import io.rendezvous.model.InputStatistics;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.Probabilities;
import io.rendezvous.model.ReferenceSummary;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches this node's models off the request path: the journal's writer hands it each batch of
 * records once appended (objects already in memory: nothing is read back or decoded), and one
 * thread of its own turns every record into what an operator watches, from the node's start. Scores
 * give the scores by outcome, inference times, what each version predicts ({@link
 * PredictionWindows}) and its prediction drift; inputs give the input drift ({@link Drift});
 * answers, once their story is settled (a second answer record may follow the first), give the
 * answers by choice and the decision times; a retired version's series are removed when its
 * lifecycle record comes by. The journal is where these figures come from, so they count exactly
 * what the journal holds, and what the watch costs is paid on its own thread, never by a request.
 */
public final class JournalWatch implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JournalWatch.class);
  static final String THREAD_NAME = "rendezvous-watch";
  private static final String NO_STAGE = "none";

  private final WatchSettings settings;
  private final MetadataLookup metadata;
  private final java.util.function.Predicate<String> ignored;
  private final PredictionWindows windows;
  private final Drift drift;
  private final Thread thread;
  private volatile boolean running = true;

  // written by the watch thread only
  private final Map<ScoreKey, CounterDataPoint> scoreCounts = new HashMap<>();
  private final Map<PredictionKey, CounterDataPoint[]> predictionCounts = new HashMap<>();
  private final Map<VersionKey, DistributionDataPoint> inferenceTimes = new HashMap<>();
  private final Map<AnswerKey, CounterDataPoint> answerCounts = new HashMap<>();
  private final Map<String, DistributionDataPoint> decisionTimes = new HashMap<>();
  private final Map<String, CounterDataPoint> recordCounts = new HashMap<>();
  private final Map<VersionKey, Optional<ModelMetadata>> metadataCache = new HashMap<>();

  /** Answers not yet counted: the request's story may still add a second answer record. */
  private final LinkedHashMap<String, Unsettled> unsettled = new LinkedHashMap<>();

  /** An answer record, and when the watch took its request's first one. */
  private record Unsettled(JournalRecord.Answer answer, long takenNanos) {}

  private final Counter scores;
  private final Counter predictions;
  private final Counter confidence;
  private final Histogram inference;
  private final Counter answers;
  private final Histogram decisions;
  private final Counter records;
  private final Counter dropped;

  /** Batches appended and not yet taken, and how many records they hold. */
  private final java.util.concurrent.ConcurrentLinkedQueue<List<JournalRecord>> inbox =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  private final java.util.concurrent.atomic.AtomicLong backlog =
      new java.util.concurrent.atomic.AtomicLong();

  private volatile long lastRecordMicros;
  private volatile long processed;

  private JournalWatch(
      WatchSettings settings,
      MetadataLookup metadata,
      java.util.function.Predicate<String> ignored,
      PrometheusRegistry registry) {
    this.settings = settings;
    this.metadata = metadata;
    this.ignored = ignored;
    this.sampleEveryNanos = 1_000_000_000L / Math.max(1, settings.driftSampleRate());
    this.lastSampleNanos = System.nanoTime() - sampleEveryNanos;
    this.windows = new PredictionWindows(settings.window(), settings.horizon());
    this.drift = new Drift(settings.driftWindow(), settings.driftMinimum());
    this.scores =
        Counter.builder()
            .name("rendezvous_scores")
            .help("Scores of each model version for each request, by what became of them")
            .labelNames("endpoint", "model", "version", "role", "outcome")
            .withoutExemplars()
            .register(registry);
    this.predictions =
        Counter.builder()
            .name("rendezvous_predictions")
            .help("Scores that predicted each label (ok and late ones), per model version")
            .labelNames("endpoint", "model", "version", "label")
            .withoutExemplars()
            .register(registry);
    this.confidence =
        Counter.builder()
            .name("rendezvous_prediction_confidence")
            .help(
                "Sum of the confidence of the predicted label; over rendezvous_predictions_total,"
                    + " the mean confidence")
            .labelNames("endpoint", "model", "version", "label")
            .withoutExemplars()
            .register(registry);
    this.inference =
        Histogram.builder()
            .name("rendezvous_inference_seconds")
            .help("Inference time of each score, as the model worker measured it")
            .unit(Unit.SECONDS)
            .labelNames("model", "version")
            .classicOnly()
            .classicUpperBounds(
                0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1,
                0.25)
            .withoutExemplars()
            .register(registry);
    this.answers =
        Counter.builder()
            .name("rendezvous_answers")
            .help(
                "Answers of each endpoint by the model version chosen, the schedule stage and the"
                    + " policy that chose it, and the status the client got")
            .labelNames("endpoint", "model", "version", "stage", "policy", "status")
            .withoutExemplars()
            .register(registry);
    this.decisions =
        Histogram.builder()
            .name("rendezvous_decision_seconds")
            .help("When each answer was decided, from the request's arrival at its entity")
            .unit(Unit.SECONDS)
            .labelNames("endpoint")
            .classicOnly()
            .classicUpperBounds(
                0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1,
                0.25)
            .withoutExemplars()
            .register(registry);
    this.records =
        Counter.builder()
            .name("rendezvous_watch_records")
            .help("Journal records the watch has read, by type")
            .labelNames("type")
            .withoutExemplars()
            .register(registry);
    this.dropped =
        Counter.builder()
            .name("rendezvous_watch_dropped_records")
            .help(
                "Journal records the watch passed over because it was max-backlog records behind"
                    + " (its figures then miss them)")
            .withoutExemplars()
            .register(registry);
    GaugeWithCallback.builder()
        .name("rendezvous_watch_lag_seconds")
        .help("How far behind the journal the watch is (0 when it has read everything)")
        .unit(Unit.SECONDS)
        .callback(cb -> cb.call(lagSeconds()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("rendezvous_input_drift_psi")
        .help(
            "Population stability index of a statistic of the endpoint's recent inputs against the"
                + " version's training inputs")
        .labelNames("endpoint", "model", "version", "statistic")
        .callback(
            cb ->
                forEachInputDrift(
                    (s, f) ->
                        cb.call(f.psi(), s.endpoint(), s.model(), s.version(), f.statistic())))
        .register(registry);
    GaugeWithCallback.builder()
        .name("rendezvous_prediction_drift_psi")
        .help(
            "Population stability index of the labels a version recently predicted on the"
                + " endpoint against those it predicted on its hold-out set")
        .labelNames("endpoint", "model", "version")
        .callback(
            cb ->
                forEachPredictionDrift(
                    (s, f) -> cb.call(f.psi(), s.endpoint(), s.model(), s.version())))
        .register(registry);
    this.thread = new Thread(this::run, THREAD_NAME);
    this.thread.setDaemon(true);
  }

  /**
   * Starts watching what {@code journal} appends from now on. The records of requests {@code
   * ignored} names (the node's own warm-up) are passed over: they are not traffic.
   */
  public static JournalWatch start(
      JournalWriter journal,
      WatchSettings settings,
      MetadataLookup metadata,
      java.util.function.Predicate<String> ignored,
      PrometheusRegistry registry) {
    JournalWatch watch = new JournalWatch(settings, metadata, ignored, registry);
    watch.thread.start();
    journal.onAppended(watch::appended);
    return watch;
  }

  /**
   * A batch the journal appended, on the journal writer's thread: queued for the watch's own
   * thread, or passed over (and counted) when the watch is max-backlog records behind, so that a
   * stalled watch never holds the journal up nor fills the heap.
   */
  private void appended(List<JournalRecord> batch) {
    if (paused) {
      return;
    }
    if (backlog.get() + batch.size() > settings.maxBacklog()) {
      dropped.inc(batch.size());
      if (droppedLogged.compareAndSet(false, true)) {
        log.warn(
            "watch: {} records behind the journal (max-backlog); records are passed over until"
                + " it catches up (rendezvous_watch_dropped_records_total)",
            backlog.get());
      }
      return;
    }
    backlog.addAndGet(batch.size());
    inbox.add(batch);
  }

  private final java.util.concurrent.atomic.AtomicBoolean droppedLogged =
      new java.util.concurrent.atomic.AtomicBoolean();

  private volatile boolean paused;

  /**
   * Pauses the watch (what the journal appends meanwhile is not counted: its figures miss it) or
   * resumes it; for an operator who wants the CPU back, and to measure what watching costs within
   * one JVM.
   */
  public void paused(boolean paused) {
    this.paused = paused;
  }

  public boolean paused() {
    return paused;
  }

  /** What the models predicted, over time. */
  public PredictionWindows windows() {
    return windows;
  }

  /** Whether the watch has taken every record appended so far, and counted every answer. */
  public boolean caughtUp() {
    return backlog.get() == 0 && unsettledCount() == 0;
  }

  /** Records read since start. */
  public long processed() {
    return processed;
  }

  private int unsettledCount() {
    synchronized (unsettled) {
      return unsettled.size();
    }
  }

  /** How long ago the last record the watch took was written, while records wait; else 0. */
  public double lagSeconds() {
    if (backlog.get() == 0 || lastRecordMicros == 0) {
      return 0;
    }
    return Math.max(0, (JournalRecord.nowMicros() - lastRecordMicros) / 1e6);
  }

  /** Every version's input drift on every endpoint it scored, per statistic. */
  public void forEachInputDrift(
      java.util.function.BiConsumer<PredictionWindows.Series, Drift.Figure> action) {
    for (PredictionWindows.Series s : drift.predictionSeries()) {
      ReferenceSummary reference = reference(s.model(), s.version());
      if (reference != null) {
        drift.inputDrift(s.endpoint(), reference).forEach(f -> action.accept(s, f));
      }
    }
  }

  /** Every version's prediction drift on every endpoint it scored. */
  public void forEachPredictionDrift(
      java.util.function.BiConsumer<PredictionWindows.Series, Drift.Figure> action) {
    for (PredictionWindows.Series s : drift.predictionSeries()) {
      ReferenceSummary reference = reference(s.model(), s.version());
      if (reference != null) {
        Drift.Figure f = drift.predictionDrift(s, reference.predictedLabelShares());
        if (f != null) {
          action.accept(s, f);
        }
      }
    }
  }

  /** The labels of a version (by index), from its metadata; empty when it is unknown. */
  public List<String> labels(String model, String version) {
    return lookup(model, version).map(ModelMetadata::labels).orElse(List.of());
  }

  private ReferenceSummary reference(String model, String version) {
    return lookup(model, version).map(ModelMetadata::reference).orElse(null);
  }

  private Optional<ModelMetadata> lookup(String model, String version) {
    VersionKey key = new VersionKey(model, version);
    synchronized (metadataCache) {
      Optional<ModelMetadata> known = metadataCache.get(key);
      if (known != null) {
        return known;
      }
    }
    Optional<ModelMetadata> found;
    try {
      found = metadata.of(model, version);
    } catch (RuntimeException e) {
      log.warn("watch: cannot read the metadata of {}@{}: {}", model, version, e.toString());
      return Optional.empty();
    }
    // a version not (yet) in the store is looked for again next time
    if (found.isPresent()) {
      synchronized (metadataCache) {
        metadataCache.put(key, found);
      }
    }
    return found;
  }

  private void run() {
    long idleNanos = settings.idlePoll().toNanos();
    while (running) {
      List<JournalRecord> batch;
      boolean took = false;
      while ((batch = inbox.poll()) != null) {
        took = true;
        for (JournalRecord record : batch) {
          try {
            take(record);
          } catch (RuntimeException e) {
            log.warn(
                "watch: passed over a {} record of request {}: {}",
                record.type(),
                record.requestId(),
                e.toString());
          }
          processed++;
        }
        backlog.addAndGet(-batch.size());
        settle();
      }
      if (backlog.get() == 0) {
        droppedLogged.set(false);
      }
      // the answers of a quiet journal settle by the clock
      settle();
      if (!took) {
        // a batch every idle-poll, not a wake-up per append: a woken thread costs the cores the
        // requests are served on
        java.util.concurrent.locks.LockSupport.parkNanos(idleNanos);
      }
    }
  }

  private final long sampleEveryNanos;
  private long lastSampleNanos;

  /** Whether the input being read is one the drift sample takes (its data is decoded if so). */
  private boolean sampleInput() {
    long now = System.nanoTime();
    if (now - lastSampleNanos < sampleEveryNanos) {
      return false;
    }
    lastSampleNanos = now;
    return true;
  }

  private void take(JournalRecord record) {
    lastRecordMicros = record.atMicros();
    if (!(record instanceof JournalRecord.Lifecycle) && ignored.test(record.requestId())) {
      return;
    }
    recordCounts.computeIfAbsent(record.type(), t -> records.labelValues(t)).inc();
    if (record instanceof JournalRecord.Input in) {
      input(in);
    } else if (record instanceof JournalRecord.Score s) {
      score(s);
    } else if (record instanceof JournalRecord.Answer a) {
      synchronized (unsettled) {
        // a second record of the same request replaces the first: the last is what the client got
        Unsettled first = unsettled.get(a.requestId());
        unsettled.put(
            a.requestId(),
            new Unsettled(a, first == null ? System.nanoTime() : first.takenNanos()));
      }
    } else if (record instanceof JournalRecord.Lifecycle l) {
      lifecycle(l);
    }
  }

  private void input(JournalRecord.Input in) {
    if (in.tensor() == null
        || !io.rendezvous.model.TensorData.FLOAT32.equals(in.tensor().dtype())) {
      return;
    }
    float[] values = in.tensor().asFloats();
    for (String name : InputStatistics.names()) {
      ToDoubleFunction<float[]> statistic = InputStatistics.named(name);
      drift.input(in.endpoint(), name, statistic.applyAsDouble(values));
    }
  }

  private void score(JournalRecord.Score s) {
    String role = s.role() == null ? "unknown" : s.role();
    // a model that never answered (abandoned, no worker) has no version to say
    String version = s.version() == null ? "unknown" : s.version();
    scoreCounts
        .computeIfAbsent(
            new ScoreKey(s.endpoint(), s.model(), version, role, s.outcome()),
            k -> scores.labelValues(k.endpoint, k.model, k.version, k.role, k.outcome.wireName()))
        .inc();
    float[] p = s.probabilities();
    if (p == null || p.length == 0) {
      return;
    }
    if (s.outcome() == JournalRecord.Outcome.OK || s.outcome() == JournalRecord.Outcome.LATE) {
      inferenceTimes
          .computeIfAbsent(
              new VersionKey(s.model(), s.version()),
              k -> inference.labelValues(k.model, k.version))
          .observe(s.inferenceMicros() / 1e6);
    }
    int label = Probabilities.argmax(p);
    PredictionWindows.Series series =
        new PredictionWindows.Series(s.endpoint(), s.model(), s.version());
    windows.prediction(s.atMicros(), series, label, p.length, p[label]);
    drift.prediction(series, label);
    CounterDataPoint[] byLabel =
        predictionCounts.computeIfAbsent(
            new PredictionKey(series, label),
            k -> {
              String name = labelName(s.model(), s.version(), k.label);
              return new CounterDataPoint[] {
                predictions.labelValues(s.endpoint(), s.model(), s.version(), name),
                confidence.labelValues(s.endpoint(), s.model(), s.version(), name)
              };
            });
    byLabel[0].inc();
    byLabel[1].inc(p[label]);
  }

  private String labelName(String model, String version, int label) {
    List<String> names = labels(model, version);
    return label < names.size() ? names.get(label) : Integer.toString(label);
  }

  /**
   * Counts the answers whose story is settled: written more than answer-settle before {@code now}.
   */
  /**
   * Counts the answers whose story is settled: the journal has gone answer-settle past them (by its
   * records' times), or the watch took them answer-settle ago. Either way a second answer record of
   * the request would have come: it is written within the SLA and the delivery grace.
   */
  private void settle() {
    long settleNanos = settings.answerSettle().toNanos();
    long journalNow = lastRecordMicros;
    long now = System.nanoTime();
    while (true) {
      JournalRecord.Answer a;
      synchronized (unsettled) {
        Iterator<Unsettled> it = unsettled.values().iterator();
        if (!it.hasNext()) {
          return;
        }
        Unsettled u = it.next();
        if (u.answer().atMicros() > journalNow - settleNanos / 1_000
            && now - u.takenNanos() < settleNanos) {
          return;
        }
        a = u.answer();
        it.remove();
      }
      answer(a);
    }
  }

  private void answer(JournalRecord.Answer a) {
    String model = a.model() == null ? NO_STAGE : a.model();
    String version = a.version() == null ? "" : a.version();
    String stage = a.stage() < 0 ? NO_STAGE : Integer.toString(a.stage());
    String policy = a.policy() == null ? "unknown" : a.policy();
    AnswerKey key = new AnswerKey(a.endpoint(), model, version, stage, policy, a.status());
    answerCounts
        .computeIfAbsent(
            key,
            k ->
                answers.labelValues(
                    k.endpoint, k.model, k.version, k.stage, k.policy, Integer.toString(k.status)))
        .inc();
    decisionTimes
        .computeIfAbsent(a.endpoint(), e -> decisions.labelValues(e))
        .observe(a.decidedMicros() / 1e6);
    String choice =
        (a.model() == null ? NO_STAGE : a.model() + "@" + version)
            + " "
            + stage
            + " "
            + policy
            + " "
            + a.status();
    windows.answer(a.atMicros(), a.endpoint(), choice, a.decidedMicros());
  }

  private void lifecycle(JournalRecord.Lifecycle l) {
    if (!"version-retired".equals(l.event()) || l.model() == null || l.version() == null) {
      return;
    }
    String model = l.model();
    String version = l.version();
    // the series of a retired version go with it; its past stays in the prediction windows
    java.util.function.Function<List<String>, Boolean> ofVersion =
        labels -> model.equals(labels.get(1)) && version.equals(labels.get(2));
    scores.removeIf(ofVersion);
    predictions.removeIf(ofVersion);
    confidence.removeIf(ofVersion);
    answers.removeIf(ofVersion);
    inference.removeIf(labels -> model.equals(labels.get(0)) && version.equals(labels.get(1)));
    scoreCounts.keySet().removeIf(k -> k.model.equals(model) && k.version.equals(version));
    predictionCounts
        .keySet()
        .removeIf(k -> k.series.model().equals(model) && k.series.version().equals(version));
    answerCounts.keySet().removeIf(k -> k.model.equals(model) && k.version.equals(version));
    inferenceTimes.remove(new VersionKey(model, version));
    drift.forget(model, version);
    log.info("watch: series of retired version {}@{} removed", model, version);
  }

  @Override
  public void close() {
    running = false;
    try {
      thread.join(java.time.Duration.ofSeconds(5).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private record ScoreKey(
      String endpoint, String model, String version, String role, JournalRecord.Outcome outcome) {}

  private record PredictionKey(PredictionWindows.Series series, int label) {}

  private record VersionKey(String model, String version) {}

  private record AnswerKey(
      String endpoint, String model, String version, String stage, String policy, int status) {}
}
