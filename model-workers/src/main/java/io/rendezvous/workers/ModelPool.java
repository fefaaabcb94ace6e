package io.rendezvous.workers;

import io.rendezvous.config.CborSerializable;
import io.rendezvous.model.TensorData;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The front of one model on one node: a bounded queue and a pool of {@link ModelWorker}s, each with
 * its own predictors on the inference dispatcher. Requests whose score can still decide their
 * answer are scored before those whose schedule has moved on ({@link WaitingRequests}). Admission
 * is by deadline: the pool measures its pace ({@link ServiceTime}) and refuses a request at once
 * ({@link Overloaded}) only when the requests ahead of it would keep it from being scored while its
 * score is still wanted; the queue's capacity bounds memory, and a request that finds it full takes
 * the place of one whose time has passed or is refused; nothing is queued without bound. Requests
 * are scored in micro-batches: those that queued behind busy workers go together, and under load an
 * idle worker is given a batch once it is full or its oldest request has waited {@code
 * max-batch-delay}. Registered with the Receptionist under {@link #serviceKey(String)} so
 * rendezvous entities on any node find it by model name.
 */
public final class ModelPool extends AbstractBehavior<ModelPool.Command> {

  public static final String INFERENCE_DISPATCHER = "rendezvous-inference-dispatcher";

  public static ServiceKey<Command> serviceKey(String model) {
    return ServiceKey.create(Command.class, "rendezvous-model-" + model);
  }

  public sealed interface Command extends CborSerializable {}

  /**
   * Score {@code input} ([n, features]); the result goes to {@code replyTo}. For {@code
   * decisiveForMicros} from its arrival the score can still decide the request's answer; after that
   * it is only recorded, and waits behind requests that are still in time ({@link
   * WaitingRequests}). After {@code wantedForMicros} nobody records it either, and a request still
   * waiting then is refused instead of scored.
   */
  public record Score(
      String requestId,
      TensorData input,
      long decisiveForMicros,
      long wantedForMicros,
      ActorRef<ScoreResult> replyTo)
      implements Command {
    /** No deadline: the score decides whenever it comes (a caller without a schedule). */
    public static final long NO_DEADLINE = Long.MAX_VALUE;

    public Score(String requestId, TensorData input, ActorRef<ScoreResult> replyTo) {
      this(requestId, input, NO_DEADLINE, NO_DEADLINE, replyTo);
    }
  }

  /** A worker finished its batch and can take the next one. Local only. */
  record WorkerIdle(ActorRef<ModelWorker.Command> worker) implements Command {}

  /** The oldest held request has waited max-batch-delay: score what has gathered. Local only. */
  private enum FlushBatch implements Command {
    INSTANCE
  }

  /** What a model did with one request. Never a {@link Command}. */
  public sealed interface ScoreResult extends CborSerializable {
    String requestId();

    String model();

    String version();
  }

  /** Probabilities per instance, and how long the predict call took. */
  public record Scored(
      String requestId, String model, String version, float[][] probabilities, long inferenceMicros)
      implements ScoreResult {
    public Scored {
      probabilities = deepCopy(probabilities);
    }

    @Override
    public float[][] probabilities() {
      return deepCopy(probabilities);
    }

    private static float[][] deepCopy(float[][] a) {
      return Arrays.stream(a).map(float[]::clone).toArray(float[][]::new);
    }
  }

  /**
   * The model could not score this request: bad input for it, an exception, or injected failure.
   */
  public record Failed(String requestId, String model, String version, String reason)
      implements ScoreResult {}

  /** The model's queue was full: refused at once, not scored. */
  public record Overloaded(String requestId, String model, String version) implements ScoreResult {}

  public static Behavior<Command> create(LoadedModel model) {
    return Behaviors.setup(
        ctx -> Behaviors.withTimers(timers -> new ModelPool(ctx, timers, model)));
  }

  private final LoadedModel model;
  private final ModelSettings settings;
  private final TimerScheduler<Command> timers;
  private final long batchDelayNanos;

  /** Requests not yet given to a worker: queued behind busy workers, or held for a micro-batch. */
  private final WaitingRequests pending;

  private final ArrayDeque<ActorRef<ModelWorker.Command>> idle = new ArrayDeque<>();

  /** The batches being scored, by worker: when each was handed over and how many requests. */
  private final Map<ActorRef<ModelWorker.Command>, Running> running = new HashMap<>();

  private record Running(long sinceNanos, int requests) {}

  private final ServiceTime serviceTime = new ServiceTime();
  private int inService;

  /** Requests ahead of a newcomer, those being scored too, at the measured pace of all workers. */
  private final WaitingRequests.Backlog backlog = this::nanosToScore;

  private long lastArrivalNanos = Long.MIN_VALUE / 2;

  private ModelPool(ActorContext<Command> ctx, TimerScheduler<Command> timers, LoadedModel model) {
    super(ctx);
    this.model = model;
    this.settings = model.settings();
    this.timers = timers;
    this.batchDelayNanos = settings.maxBatchDelay().toNanos();
    this.pending =
        new WaitingRequests(
            settings.queueCapacity(),
            refused ->
                refused
                    .replyTo()
                    .tell(new Overloaded(refused.requestId(), model.name(), model.version())));
    for (int i = 0; i < settings.workers(); i++) {
      ActorRef<ModelWorker.Command> w =
          ctx.spawn(
              ModelWorker.create(model, ctx.getSelf()),
              "worker-" + i,
              DispatcherSelector.fromConfig(INFERENCE_DISPATCHER));
      idle.add(w);
    }
    ctx.getSystem()
        .receptionist()
        .tell(Receptionist.register(serviceKey(model.name()), ctx.getSelf()));
    ctx.getLog()
        .info(
            "model {} v{} serving from {} with {} worker(s), queue {}, batches up to {} waiting up to {} ms",
            model.name(),
            model.version(),
            settings.path(),
            settings.workers(),
            settings.queueCapacity(),
            settings.maxBatchSize(),
            settings.maxBatchDelay().toMillis());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Score.class, this::onScore)
        .onMessage(WorkerIdle.class, this::onWorkerIdle)
        .onMessageEquals(FlushBatch.INSTANCE, this::onFlushBatch)
        .build();
  }

  private Behavior<Command> onScore(Score s) {
    String mismatch = model.metadata().input().mismatch(s.input());
    if (mismatch != null) {
      s.replyTo()
          .tell(new Failed(s.requestId(), model.name(), model.version(), "input " + mismatch));
      return this;
    }
    long now = System.nanoTime();
    // requests arriving closer together than the batch delay: worth holding this one for company
    boolean underLoad = now - lastArrivalNanos < batchDelayNanos;
    lastArrivalNanos = now;
    if (!idle.isEmpty()) {
      if (pending.isEmpty() && !underLoad) {
        run(idle.poll(), List.of(s), now);
        return this;
      }
      pending.add(s, now);
      if (pending.size() >= holdLimit()) {
        dispatch(idle.poll(), now);
      } else if (pending.size() == 1) {
        timers.startSingleTimer(FlushBatch.INSTANCE, settings.maxBatchDelay());
      }
    } else {
      pending.offer(s, now, backlog);
    }
    return this;
  }

  /** Held requests that make a batch worth sending at once; never more than the queue may hold. */
  private int holdLimit() {
    return Math.max(1, Math.min(settings.maxBatchSize(), settings.queueCapacity()));
  }

  private Behavior<Command> onFlushBatch() {
    if (!pending.isEmpty() && !idle.isEmpty()) {
      dispatch(idle.poll(), System.nanoTime());
    }
    return this;
  }

  private Behavior<Command> onWorkerIdle(WorkerIdle m) {
    Running done = running.remove(m.worker());
    if (done != null) {
      inService -= done.requests();
      serviceTime.record(System.nanoTime() - done.sinceNanos(), done.requests());
    }
    if (pending.isEmpty() || !idle.isEmpty()) {
      // nothing waiting, or what waits is being held for a batch while other workers are idle
      // already
      idle.add(m.worker());
    } else {
      // these queued behind busy workers: they have waited enough
      dispatch(m.worker(), System.nanoTime());
    }
    return this;
  }

  /**
   * Gives {@code worker} the next batch: the oldest requests still in time, or else the late ones.
   */
  private void dispatch(ActorRef<ModelWorker.Command> worker, long nowNanos) {
    run(worker, pending.nextBatch(settings.maxBatchSize(), nowNanos), nowNanos);
    // late requests left behind an urgent batch go to another idle worker, not wait for the next
    // arrival
    while (!pending.isEmpty() && !idle.isEmpty()) {
      run(idle.poll(), pending.nextBatch(settings.maxBatchSize(), nowNanos), nowNanos);
    }
    if (pending.isEmpty()) {
      timers.cancel(FlushBatch.INSTANCE);
    }
  }

  private long nanosToScore(int ahead) {
    return serviceTime.perRequestNanos() * (inService + ahead + 1) / settings.workers();
  }

  private void run(ActorRef<ModelWorker.Command> worker, List<Score> batch, long nowNanos) {
    if (batch.isEmpty()) {
      // every waiting request was refused as unwanted: the worker stays idle
      idle.add(worker);
      return;
    }
    running.put(worker, new Running(nowNanos, batch.size()));
    inService += batch.size();
    worker.tell(new ModelWorker.Run(List.copyOf(batch)));
  }
}
