package io.rendezvous.workers;

import ai.djl.inference.Predictor;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.ModelPool.Failed;
import io.rendezvous.workers.ModelPool.Score;
import io.rendezvous.workers.ModelPool.ScoreResult;
import io.rendezvous.workers.ModelPool.Scored;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker of a pool: its own DJL {@link Predictor}s, used by one call at a time on the node's
 * {@link InferenceThreads}. The pool owns it: it hands a worker one {@link Run} at a time and takes
 * it back when the worker says {@link ModelPool.WorkerIdle}, so no two threads ever use its
 * predictors together. A single request is scored as it is; a micro-batch goes through {@link
 * MicroBatchTranslator}, which packs its instances into one tensor for one call of the model. If
 * that call throws, each request is retried alone so a bad input fails only its own score. A run
 * that outlives the pool's {@code watchdog.hang-after} belongs to the watchdog: the pool fails its
 * requests, and the scores computed after all are dropped, so that each request gets one result.
 */
final class ModelWorker {
  private static final Logger log = LoggerFactory.getLogger(ModelWorker.class);

  /**
   * Score these queued requests (one predict call), handed over at {@code handedOverNanos} (this
   * JVM's nano clock: a worker is always local to its pool). {@code hold}: injected hang, how long
   * the call holds the thread before scoring (zero: none).
   */
  record Run(List<Score> jobs, long handedOverNanos, Duration hold, AtomicBoolean answered) {
    Run {
      jobs = List.copyOf(jobs);
    }

    Run(List<Score> jobs, long handedOverNanos, Duration hold) {
      this(jobs, handedOverNanos, hold, new AtomicBoolean());
    }

    /**
     * Takes the right to answer this run's requests: the worker when its call returns, or the
     * watchdog when the call has run too long. Whoever comes first answers; the other does not.
     */
    boolean claim() {
      return answered.compareAndSet(false, true);
    }
  }

  private final String name;
  private final LoadedModel model;
  private final ActorRef<ModelPool.Command> pool;
  private final ActorSystem<?> system;
  private final ModelSettings.Fault fault;
  private final long hangAfterNanos;
  private final InferenceThreads threads;

  /**
   * The pool added a thread while this worker's call holds its own (it was marked hung): given back
   * by whichever sees the call over first, the worker or the pool, so that a pool stopped meanwhile
   * does not keep it forever.
   */
  private final AtomicBoolean compensated = new AtomicBoolean();

  private Predictor<TensorData, float[][]> predictor;
  private Predictor<List<TensorData>, List<float[]>> batchPredictor;

  /** The pool retired it: close the predictors once its call, if any, is over. */
  private volatile boolean retired;

  /** The results of the current run, sent once it is known not to have overrun. */
  private final List<Outcome> outcomes = new ArrayList<>();

  private record Outcome(Score job, ScoreResult result) {}

  private ModelWorker(
      String name,
      LoadedModel model,
      ActorRef<ModelPool.Command> pool,
      ActorSystem<?> system,
      InferenceThreads threads) {
    this.name = name;
    this.threads = threads;
    this.model = model;
    this.pool = pool;
    this.system = system;
    this.fault = model.settings().fault();
    this.hangAfterNanos = model.settings().watchdog().hangAfter().toNanos();
  }

  /**
   * Makes a worker on an inference thread (predictors, warm-up: blocking work), then tells the pool
   * it is ready.
   */
  static void start(
      String name,
      LoadedModel model,
      ActorRef<ModelPool.Command> pool,
      ActorSystem<?> system,
      InferenceThreads threads) {
    threads.execute(
        () -> {
          ModelWorker w = new ModelWorker(name, model, pool, system, threads);
          if (!model.enter()) {
            pool.tell(
                new ModelPool.WorkerFailedToStart(name, "model " + model.name() + " is closed"));
            return;
          }
          try {
            w.predictor = model.newPredictor();
            w.batchPredictor = model.newBatchPredictor();
            w.warmUp();
          } catch (Throwable e) {
            rethrowIfFatal(e);
            log.error("model {}: worker {} could not start", model.name(), name, e);
            w.close();
            pool.tell(new ModelPool.WorkerFailedToStart(name, e.toString()));
            return;
          } finally {
            model.exit();
          }
          pool.tell(new ModelPool.WorkerReady(w));
        });
  }

  String name() {
    return name;
  }

  /** Scores {@code run} on an inference thread, then tells the pool this worker is idle. */
  void submit(Run run) {
    threads.execute(() -> run(run));
  }

  /**
   * The watchdog took {@code run} from this worker: one more inference thread while its call holds
   * its own. False (and nothing added) when the call had already returned with its answers.
   */
  boolean markHung(Run run) {
    // the thread is added before the flag says so: whoever clears the flag gives back an added one
    threads.compensate();
    compensated.set(true);
    if (run.claim()) {
      return true;
    }
    releaseCompensation();
    return false;
  }

  private void releaseCompensation() {
    if (compensated.compareAndSet(true, false)) {
      threads.release();
    }
  }

  /**
   * No more work: its predictors close now if it is idle ({@code idle}), else when its call returns
   * (a close now would wait on that call, holding another inference thread).
   */
  void retire(boolean idle) {
    retired = true;
    if (idle) {
      threads.execute(this::close);
    }
  }

  /** An idle worker's predictors closed on an inference thread; completes once they are. */
  java.util.concurrent.CompletableFuture<Void> closeNow() {
    retired = true;
    return java.util.concurrent.CompletableFuture.runAsync(this::close, threads::execute);
  }

  /**
   * The first predict on a fresh predictor builds TensorFlow's kernels; pay that before traffic
   * does.
   */
  private void warmUp() {
    int features = (int) model.metadata().input().elementsPerInstance();
    try {
      // a text model is warmed through its featurizer, as its requests will come
      TensorData zero =
          model.takesText()
              ? TensorData.text("warm up")
              : TensorData.float32(new long[] {1, features}, new float[features]);
      predictor.predict(zero);
      batchPredictor.predict(List.of(zero, zero));
    } catch (Throwable e) {
      rethrowIfFatal(e);
      log.warn("model {}: warm-up predict failed: {}", model.name(), e.toString());
    }
  }

  private synchronized void close() {
    // synchronized with run: a retired worker's predictors close after its call, never during;
    // and as a call on the model, never while the model itself is being closed (a model already
    // closed took its predictors' sessions with it)
    if (!model.enter()) {
      predictor = null;
      batchPredictor = null;
      return;
    }
    try {
      closePredictors();
    } finally {
      model.exit();
    }
  }

  private void closePredictors() {
    if (predictor != null) {
      predictor.close();
      predictor = null;
    }
    if (batchPredictor != null) {
      batchPredictor.close();
      batchPredictor = null;
    }
  }

  private synchronized void run(Run run) {
    List<Score> jobs = run.jobs();
    outcomes.clear();
    boolean entered = false;
    try {
      if (retired || predictor == null) {
        throw new IllegalStateException("worker " + name + " is retired");
      }
      entered = model.enter();
      if (!entered) {
        throw new IllegalStateException("model " + model.name() + " is closed");
      }
      holdFor(run.hold());
      if (jobs.size() == 1) {
        scoreAlone(jobs.get(0));
      } else {
        scoreBatch(jobs);
      }
    } catch (Throwable e) {
      rethrowIfFatal(e);
      // something outside the predict call itself (an output of an unexpected shape, say): every
      // job of this run fails, and the worker stays in the pool
      log.error("model {}: run of {} request(s) failed", model.name(), jobs.size(), e);
      outcomes.clear();
      for (Score s : jobs) {
        outcomes.add(
            new Outcome(
                s, new Failed(s.requestId(), model.name(), model.version(), "model error: " + e)));
      }
    } finally {
      if (entered) {
        model.exit();
      }
      boolean overran = System.nanoTime() - run.handedOverNanos() > hangAfterNanos;
      boolean mine = run.claim();
      if (mine) {
        outcomes.forEach(o -> deliver(o.job(), o.result()));
      }
      outcomes.clear();
      // the call is over: a thread added for it is given back here, even with no pool to tell
      releaseCompensation();
      pool.tell(new ModelPool.WorkerIdle(this, overran && mine));
    }
    if (retired) {
      close();
    }
  }

  /**
   * Injected hang: holds this inference thread as a stuck native call would (the pool adds a thread
   * meanwhile); an interrupt ends the hold early.
   */
  private void holdFor(Duration hold) {
    if (hold.isZero()) {
      return;
    }
    log.warn(
        "model {}: injected hang, worker {} holds its thread for {} ms",
        model.name(),
        name,
        hold.toMillis());
    try {
      TimeUnit.MILLISECONDS.sleep(hold.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void scoreBatch(List<Score> jobs) {
    List<TensorData> inputs = new ArrayList<>(jobs.size());
    for (Score s : jobs) {
      inputs.add(s.input());
    }
    List<float[]> out;
    long start = System.nanoTime();
    try {
      injectError();
      out = batchPredictor.predict(inputs);
    } catch (Throwable e) {
      rethrowIfFatal(e);
      log.warn(
          "model {}: batch of {} failed ({}), scoring each alone",
          model.name(),
          jobs.size(),
          e.toString());
      jobs.forEach(this::scoreAlone);
      return;
    }
    long micros = (System.nanoTime() - start) / 1_000;
    int row = 0;
    for (Score s : jobs) {
      int n = (int) s.input().shape()[0];
      float[][] mine = out.subList(row, row + n).toArray(float[][]::new);
      row += n;
      reply(s, new Scored(s.requestId(), model.name(), model.version(), mine, micros));
    }
  }

  private void scoreAlone(Score s) {
    long start = System.nanoTime();
    try {
      injectError();
      float[][] out = predictor.predict(s.input());
      long micros = (System.nanoTime() - start) / 1_000;
      reply(s, new Scored(s.requestId(), model.name(), model.version(), out, micros));
    } catch (Throwable e) {
      rethrowIfFatal(e);
      log.warn("model {} failed on request {}: {}", model.name(), s.requestId(), e.toString());
      reply(
          s,
          new Failed(
              s.requestId(), model.name(), model.version(), "model error: " + e.getMessage()));
    }
  }

  /**
   * A model's code can throw an {@link Error} that says nothing about the JVM (a {@link
   * LinkageError} from a native library, an {@link AssertionError}): contained like an exception,
   * so one model's bug fails its own scores only. A {@link VirtualMachineError} (out of memory,
   * stack overflow, internal error) is the JVM's and goes on up: the inference thread's handler
   * ends the JVM on it, as Pekko does on its own threads.
   */
  private static void rethrowIfFatal(Throwable e) {
    if (e instanceof VirtualMachineError fatal) {
      throw fatal;
    }
  }

  private void injectError() {
    if (fault.errorRate() > 0 && ThreadLocalRandom.current().nextDouble() < fault.errorRate()) {
      throw new LinkageError("injected error (fault.error-rate)");
    }
  }

  private void reply(Score s, ScoreResult result) {
    outcomes.add(new Outcome(s, result));
  }

  /** Applies fault injection, then replies; a delay is scheduled, never slept. */
  private void deliver(Score s, ScoreResult result) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    if (fault.failureRate() > 0 && random.nextDouble() < fault.failureRate()) {
      result = new Failed(s.requestId(), model.name(), model.version(), "injected failure");
    }
    Duration delay = fault.latency();
    if (!delay.isZero() && random.nextDouble() < fault.latencyProbability()) {
      ScoreResult late = result;
      system
          .scheduler()
          .scheduleOnce(delay, () -> s.replyTo().tell(late), system.executionContext());
    } else {
      s.replyTo().tell(result);
    }
  }
}
