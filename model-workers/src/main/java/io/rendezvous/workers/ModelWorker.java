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
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Runs inference for its pool. Lives on the inference dispatcher, where blocking in a predict call
 * is what the threads are for; owns its DJL {@link Predictor}s. A single request is scored as it
 * is; a micro-batch goes through {@link MicroBatchTranslator}, which packs its instances into one
 * tensor for one call of the model. If that call throws, each request is retried alone so a bad
 * input fails only its own score.
 */
final class ModelWorker extends AbstractBehavior<ModelWorker.Command> {

  sealed interface Command {}

  /** Score these queued requests (one predict call). */
  record Run(List<Score> jobs) implements Command {}

  static Behavior<Command> create(LoadedModel model, ActorRef<ModelPool.Command> pool) {
    return Behaviors.setup(ctx -> new ModelWorker(ctx, model, pool));
  }

  private final LoadedModel model;
  private final ActorRef<ModelPool.Command> pool;
  private final Predictor<TensorData, float[][]> predictor;
  private final Predictor<List<TensorData>, List<float[]>> batchPredictor;
  private final ModelSettings.Fault fault;

  private ModelWorker(
      ActorContext<Command> ctx, LoadedModel model, ActorRef<ModelPool.Command> pool) {
    super(ctx);
    this.model = model;
    this.pool = pool;
    this.predictor = model.newPredictor();
    this.batchPredictor = model.newBatchPredictor();
    this.fault = model.settings().fault();
    warmUp();
  }

  /**
   * The first predict on a fresh predictor builds TensorFlow's kernels; pay that before traffic
   * does.
   */
  private void warmUp() {
    int features = (int) model.metadata().input().elementsPerInstance();
    try {
      predictor.predict(TensorData.float32(new long[] {1, features}, new float[features]));
      TensorData zero = TensorData.float32(new long[] {1, features}, new float[features]);
      batchPredictor.predict(List.of(zero, zero));
    } catch (Throwable e) {
      rethrowIfFatal(e);
      getContext()
          .getLog()
          .warn("model {}: warm-up predict failed: {}", model.name(), e.toString());
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Run.class, this::onRun)
        .onSignal(
            PostStop.class,
            s -> {
              predictor.close();
              batchPredictor.close();
              return this;
            })
        .build();
  }

  private Behavior<Command> onRun(Run run) {
    List<Score> jobs = run.jobs();
    try {
      if (jobs.size() == 1) {
        scoreAlone(jobs.get(0));
      } else {
        scoreBatch(jobs);
      }
    } catch (Throwable e) {
      rethrowIfFatal(e);
      // something outside the predict call itself (an output of an unexpected shape, say): every
      // job of this run fails, and the worker stays in the pool
      getContext()
          .getLog()
          .error("model {}: run of {} request(s) failed", model.name(), jobs.size(), e);
      for (Score s : jobs) {
        s.replyTo()
            .tell(new Failed(s.requestId(), model.name(), model.version(), "model error: " + e));
      }
    } finally {
      pool.tell(new ModelPool.WorkerIdle(getContext().getSelf()));
    }
    return this;
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
      getContext()
          .getLog()
          .warn(
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
      getContext()
          .getLog()
          .warn("model {} failed on request {}: {}", model.name(), s.requestId(), e.toString());
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
   * stack overflow, internal error) is the JVM's and goes on up: Pekko ends the JVM on it.
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

  /** Applies fault injection, then replies; a delay is scheduled, never slept. */
  private void reply(Score s, ScoreResult result) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    if (fault.failureRate() > 0 && random.nextDouble() < fault.failureRate()) {
      result = new Failed(s.requestId(), model.name(), model.version(), "injected failure");
    }
    Duration delay = fault.latency();
    if (!delay.isZero() && random.nextDouble() < fault.latencyProbability()) {
      getContext().scheduleOnce(delay, s.replyTo(), result);
    } else {
      s.replyTo().tell(result);
    }
  }
}
