package io.rendezvous.workers;

import io.rendezvous.config.CborSerializable;
import io.rendezvous.model.TensorData;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The front of one model on one node: a bounded queue and a pool of {@link ModelWorker}s, each with
 * its own predictors, whose calls run on the node's {@link InferenceThreads}. Requests whose score
 * can still decide their answer are scored before those whose schedule has moved on ({@link
 * WaitingRequests}). Admission is by deadline: the pool measures its pace ({@link ServiceTime}) and
 * refuses a request at once ({@link Overloaded}) only when the requests ahead of it would keep it
 * from being scored while its score is still wanted; the queue's capacity bounds memory, and a
 * request that finds it full takes the place of one whose time has passed or is refused; nothing is
 * queued without bound. Requests are scored in micro-batches: those that queued behind busy workers
 * go together, and under load an idle worker is given a batch once it is full or its oldest request
 * has waited {@code max-batch-delay}. Registered with the Receptionist under {@link
 * #serviceKey(String)} so rendezvous entities on any node find it by model name.
 *
 * <p>A watchdog looks at the running batches every {@code watchdog.check-every}: a worker whose
 * call has run past {@code watchdog.hang-after} is marked hung, its batch fails at once, it gets no
 * more work, the node's inference threads grow by one while the call holds its thread (the stuck
 * one cannot be interrupted inside a native call and is abandoned to it), and a replacement worker
 * takes its place, at most {@code watchdog.spare-workers} at a time. A hung worker whose call
 * returns at last is retired. The pool's standing goes to {@link PoolHealth}.
 */
public final class ModelPool extends AbstractBehavior<ModelPool.Command> {

  /** Pools serving {@code model} under its name: what endpoints use until they name versions. */
  public static ServiceKey<Command> serviceKey(String model) {
    return ServiceKey.create(Command.class, "rendezvous-model-" + model);
  }

  /** Pools serving {@code version} of {@code model}. */
  public static ServiceKey<Command> serviceKey(String model, String version) {
    // '@' cannot be in a model's name: no version's key is another model's
    return ServiceKey.create(Command.class, "rendezvous-model-" + model + "@" + version);
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

  /**
   * A worker finished its batch and can take the next one. {@code overran}: the run took longer
   * than the watchdog's hang-after, and the worker sent none of its results. Local only.
   */
  record WorkerIdle(ModelWorker worker, boolean overran) implements Command {}

  /** A worker has its predictors and is warm. Local only. */
  record WorkerReady(ModelWorker worker) implements Command {}

  /** A worker could not make its predictors. Local only. */
  record WorkerFailedToStart(String worker, String reason) implements Command {}

  /** Look for workers whose call has run past hang-after. Local only. */
  private enum WatchdogTick implements Command {
    INSTANCE
  }

  /**
   * Injects a hang at run time (chaos runs, tests): the next {@code calls} predict calls of this
   * pool each hold their worker for {@code holdMillis}. Zero calls clears it. Answered with the
   * fault now in force.
   */
  public record InjectHang(int calls, long holdMillis, ActorRef<HangInjected> replyTo)
      implements Command {}

  /** The injected hang in force after an {@link InjectHang}. */
  public record HangInjected(String model, int calls, long holdMillis)
      implements CborSerializable {}

  /**
   * Retiring: the pool leaves the Receptionist's listings, scores what it has queued and running
   * (and what still reaches it meanwhile), waits for any hung call to return, closes its workers'
   * predictors and then stops, after answering {@link Drained}: the model can be closed then. It
   * serves for {@code grace} at least, for the entities that still find it in a listing the
   * Receptionist has not updated yet.
   */
  public record Drain(Duration grace, ActorRef<Drained> replyTo) implements Command {}

  /** Every call of this pool is over and its workers are closed. */
  public record Drained(String model, String version) implements CborSerializable {}

  /** The idle workers' predictors are closed (draining). Local only. */
  private enum WorkersClosed implements Command {
    INSTANCE
  }

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
  public record Failed(
      String requestId, String model, String version, String reason, boolean noWorker)
      implements ScoreResult {
    /** The model could not score the request. */
    public Failed(String requestId, String model, String version, String reason) {
      this(requestId, model, version, reason, false);
    }

    /**
     * No pool of this version anywhere: not scored, and the same request may be later (a node away,
     * a version being loaded).
     */
    public static Failed noWorker(String requestId, String model, String version, String reason) {
      return new Failed(requestId, model, version, reason, true);
    }
  }

  /** The model's queue was full: refused at once, not scored. */
  public record Overloaded(String requestId, String model, String version) implements ScoreResult {}

  /**
   * A pool whose calls run on {@code threads}, reporting its standing to {@code health}, listed
   * under its version's key and its model's name.
   */
  public static Behavior<Command> create(
      LoadedModel model, InferenceThreads threads, PoolHealth health) {
    return create(model, threads, health, true);
  }

  /**
   * The same, listed under its model's name too only when {@code listedByName} (a version loaded at
   * run time is not, until an endpoint names it).
   */
  public static Behavior<Command> create(
      LoadedModel model, InferenceThreads threads, PoolHealth health, boolean listedByName) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> new ModelPool(ctx, timers, model, threads, health, listedByName)));
  }

  private final LoadedModel model;
  private final ModelSettings settings;
  private final TimerScheduler<Command> timers;
  private final long batchDelayNanos;

  /** Requests not yet given to a worker: queued behind busy workers, or held for a micro-batch. */
  private final WaitingRequests pending;

  private final ArrayDeque<ModelWorker> idle = new ArrayDeque<>();

  /** The batches being scored, by worker: when each was handed over, and its requests. */
  private final Map<ModelWorker, Running> running = new HashMap<>();

  private record Running(long sinceNanos, ModelWorker.Run run) {
    List<Score> batch() {
      return run.jobs();
    }

    int requests() {
      return run.jobs().size();
    }
  }

  /** Workers marked hung whose call has not returned: each holds a thread. */
  private final Map<ModelWorker, Long> hung = new HashMap<>();

  private final PoolHealth health;
  private final PoolHealth.Load load;
  private final InferenceThreads threads;

  private boolean registered;

  /** Who waits for the pool to drain (null while it serves), and any who asked after. */
  private ActorRef<Drained> drainedTo;

  private final List<ActorRef<Drained>> alsoDrainedTo = new java.util.ArrayList<>();

  /** Predictors of hung workers retired while draining: the model closes after them. */
  private final List<java.util.concurrent.CompletableFuture<Void>> closingHung =
      new java.util.ArrayList<>();

  private long drainGraceEndsNanos;

  private boolean closingWorkers;
  private final boolean listedByName;

  /** Workers making their predictors: they count as serving, since they soon will. */
  private int starting;

  private final long hangAfterNanos;
  private int workersSpawned;
  private long hungTotal;
  private long overranTotal;
  private long failedByWatchdog;

  /** Injected at run time ({@link InjectHang}): calls left to hold, and for how long. */
  private int injectedHangCalls;

  private Duration injectedHold = Duration.ZERO;

  private final ServiceTime serviceTime = new ServiceTime();
  private int inService;

  /** Requests ahead of a newcomer, those being scored too, at the measured pace of all workers. */
  private final WaitingRequests.Backlog backlog = this::nanosToScore;

  private long lastArrivalNanos = Long.MIN_VALUE / 2;

  private ModelPool(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      LoadedModel model,
      InferenceThreads threads,
      PoolHealth health,
      boolean listedByName) {
    super(ctx);
    this.threads = threads;
    this.listedByName = listedByName;
    this.model = model;
    this.settings = model.settings();
    this.timers = timers;
    this.health = health;
    this.load = health.load(PoolHealth.key(model.name(), model.version()));
    this.hangAfterNanos = settings.watchdog().hangAfter().toNanos();
    this.batchDelayNanos = settings.maxBatchDelay().toNanos();
    this.pending =
        new WaitingRequests(
            settings.queueCapacity(),
            refused ->
                refused
                    .replyTo()
                    .tell(new Overloaded(refused.requestId(), model.name(), model.version())));
    for (int i = 0; i < settings.workers(); i++) {
      startWorker();
    }
    timers.startTimerWithFixedDelay(WatchdogTick.INSTANCE, settings.watchdog().checkEvery());
    publishHealth();
    ctx.getLog()
        .info(
            "model {} v{} serving from {} with {} worker(s), queue {}, batches up to {} waiting up to {} ms",
            model.name(),
            model.version(),
            model.directory(),
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
        .onMessageEquals(WatchdogTick.INSTANCE, this::onWatchdogTick)
        .onMessage(InjectHang.class, this::onInjectHang)
        .onMessage(WorkerReady.class, this::onWorkerReady)
        .onMessage(WorkerFailedToStart.class, this::onWorkerFailedToStart)
        .onMessage(Drain.class, this::onDrain)
        .onMessageEquals(WorkersClosed.INSTANCE, this::onWorkersClosed)
        .onSignal(PostStop.class, s -> onStop())
        .build();
  }

  private Behavior<Command> onScore(Score s) {
    if (closingWorkers) {
      // sent before the listing without this pool reached its sender: no worker is left for it
      s.replyTo()
          .tell(new Failed(s.requestId(), model.name(), model.version(), "version is retired"));
      return this;
    }
    String mismatch = model.mismatch(s.input());
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
    noteLoad();
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
    if (hung.containsKey(m.worker())) {
      // its call returned at last: a replacement took its place, so it is retired
      long heldMillis = (System.nanoTime() - hung.remove(m.worker())) / 1_000_000;
      // (the thread added for it was given back by the worker as its call returned)
      closingHung.add(m.worker().closeNow());
      getContext()
          .getLog()
          .info(
              "model {}: hung worker {} returned after {} ms and is retired",
              model.name(),
              m.worker().name(),
              heldMillis);
      restoreStrength();
      publishHealth();
      return drainedIfDone();
    }
    Running done = running.remove(m.worker());
    if (done != null) {
      inService -= done.requests();
      noteLoad();
      if (m.overran()) {
        // past hang-after, but back before the watchdog took it: answered, and counted, but not
        // a pace to admit requests by
        overranTotal++;
        publishHealth();
      } else {
        serviceTime.record(System.nanoTime() - done.sinceNanos(), done.requests());
      }
    }
    if (pending.isEmpty() || !idle.isEmpty()) {
      // nothing waiting, or what waits is being held for a batch while other workers are idle
      // already
      idle.add(m.worker());
    } else {
      // these queued behind busy workers: they have waited enough
      dispatch(m.worker(), System.nanoTime());
    }
    return drainedIfDone();
  }

  private Behavior<Command> onWatchdogTick() {
    long now = System.nanoTime();
    refuseWhatNoWorkerWillScore(now);
    List<ModelWorker> stuck =
        running.entrySet().stream()
            .filter(e -> now - e.getValue().sinceNanos() > hangAfterNanos)
            .map(Map.Entry::getKey)
            .toList();
    List<Running> failing = new java.util.ArrayList<>();
    for (ModelWorker worker : stuck) {
      Running r = running.get(worker);
      // the stuck call keeps its thread: the others keep theirs. Unless the call returned just
      // now and answered: then its idle message is on its way
      if (!worker.markHung(r.run())) {
        continue;
      }
      running.remove(worker);
      inService -= r.requests();
      hung.put(worker, r.sinceNanos());
      hungTotal++;
      failedByWatchdog += r.requests();
      failing.add(r);
      getContext()
          .getLog()
          .warn(
              "model {}: worker {} hung, its call has run {} ms (watchdog.hang-after {} ms) on a"
                  + " batch of {} (first request {}); its requests fail and it gets no more work",
              model.name(),
              worker.name(),
              (now - r.sinceNanos()) / 1_000_000,
              settings.watchdog().hangAfter().toMillis(),
              r.requests(),
              r.batch().get(0).requestId());
    }
    if (!failing.isEmpty()) {
      restoreStrength();
      publishHealth();
    }
    // after the standing is published: whoever hears of the failure sees it
    failing.forEach(r -> fail(r.batch(), overranReason(now - r.sinceNanos())));
    return drainedIfDone();
  }

  /**
   * Requests waiting while no worker serves (every one hung, no spare left, or none could start)
   * would wait for ever: they are refused, as a full queue would refuse them.
   */
  private void refuseWhatNoWorkerWillScore(long now) {
    if (serving() == 0 && !pending.isEmpty()) {
      int n = pending.refuseAll();
      timers.cancel(FlushBatch.INSTANCE);
      getContext()
          .getLog()
          .warn(
              "model {} v{}: no worker serves ({} hung); {} waiting request(s) refused",
              model.name(),
              model.version(),
              hung.size(),
              n);
    }
  }

  private Behavior<Command> onDrain(Drain m) {
    if (drainedTo == null) {
      drainedTo = m.replyTo();
      drainGraceEndsNanos = System.nanoTime() + m.grace().toNanos();
      var receptionist = getContext().getSystem().receptionist();
      if (registered) {
        receptionist.tell(
            Receptionist.deregister(
                serviceKey(model.name(), model.version()), getContext().getSelf()));
        if (listedByName) {
          receptionist.tell(
              Receptionist.deregister(serviceKey(model.name()), getContext().getSelf()));
        }
      }
      getContext()
          .getLog()
          .info(
              "model {} v{}: draining ({} queued, {} running, {} hung)",
              model.name(),
              model.version(),
              pending.size(),
              running.size(),
              hung.size());
    } else if (!m.replyTo().equals(drainedTo)) {
      alsoDrainedTo.add(m.replyTo());
    }
    return drainedIfDone();
  }

  /**
   * Draining and nothing left to score or wait for: the idle workers' predictors are closed on the
   * inference threads, and the pool stops once they are.
   */
  private Behavior<Command> drainedIfDone() {
    if (drainedTo == null
        || closingWorkers
        || System.nanoTime() - drainGraceEndsNanos < 0
        || !pending.isEmpty()
        || !running.isEmpty()
        || !hung.isEmpty()
        || starting > 0) {
      return this;
    }
    closingWorkers = true;
    List<java.util.concurrent.CompletableFuture<Void>> closed =
        new java.util.ArrayList<>(idle.stream().map(ModelWorker::closeNow).toList());
    closed.addAll(closingHung);
    idle.clear();
    getContext()
        .pipeToSelf(
            java.util.concurrent.CompletableFuture.allOf(
                closed.toArray(java.util.concurrent.CompletableFuture[]::new)),
            (ok, failure) -> WorkersClosed.INSTANCE);
    return this;
  }

  private Behavior<Command> onWorkersClosed() {
    getContext()
        .getLog()
        .info("model {} v{}: drained, its workers are closed", model.name(), model.version());
    Drained d = new Drained(model.name(), model.version());
    drainedTo.tell(d);
    alsoDrainedTo.forEach(r -> r.tell(d));
    return Behaviors.stopped();
  }

  /**
   * Spawns replacements until the workers that take work are as many as configured, while spares
   * last: each hung worker still held by its call uses one.
   */
  private void restoreStrength() {
    if (drainedTo != null) {
      // draining: nothing more is wanted of it
      return;
    }
    while (serving() < settings.workers() && hung.size() <= settings.watchdog().spareWorkers()) {
      String name = startWorker();
      getContext()
          .getLog()
          .info(
              "model {}: worker {} replaces a hung one ({} hung, {} spare(s) left)",
              model.name(),
              name,
              hung.size(),
              sparesLeft());
    }
    if (serving() < settings.workers()) {
      getContext()
          .getLog()
          .error(
              "model {}: {} hung worker(s) hold their threads and no spare is left"
                  + " (watchdog.spare-workers {}): serving with {} of {} worker(s)",
              model.name(),
              hung.size(),
              settings.watchdog().spareWorkers(),
              serving(),
              settings.workers());
    }
  }

  private Behavior<Command> onWorkerReady(WorkerReady m) {
    starting--;
    if (!registered && drainedTo == null) {
      // listed once it can score: a node serves only when every pool has a warm worker
      registered = true;
      var receptionist = getContext().getSystem().receptionist();
      receptionist.tell(
          Receptionist.register(serviceKey(model.name(), model.version()), getContext().getSelf()));
      if (listedByName) {
        receptionist.tell(Receptionist.register(serviceKey(model.name()), getContext().getSelf()));
      }
    }
    if (pending.isEmpty() || !idle.isEmpty()) {
      idle.add(m.worker());
    } else {
      dispatch(m.worker(), System.nanoTime());
    }
    noteLoad();
    publishHealth();
    return drainedIfDone();
  }

  /** The figures of {@link PoolHealth.Load}, as of now. */
  private void noteLoad() {
    load.set(pending.size(), inService, idle.size() + running.size());
  }

  private Behavior<Command> onWorkerFailedToStart(WorkerFailedToStart m) {
    starting--;
    getContext()
        .getLog()
        .error(
            "model {}: worker {} failed to start ({}); serving with {} of {} worker(s)",
            model.name(),
            m.worker(),
            m.reason(),
            serving(),
            settings.workers());
    publishHealth();
    return drainedIfDone();
  }

  private Behavior<Command> onStop() {
    idle.forEach(w -> w.retire(true));
    running.keySet().forEach(w -> w.retire(false));
    hung.keySet().forEach(w -> w.retire(false));
    health.remove(PoolHealth.key(model.name(), model.version()));
    return this;
  }

  private int serving() {
    return idle.size() + running.size() + starting;
  }

  private int sparesLeft() {
    return Math.max(0, settings.watchdog().spareWorkers() - hung.size());
  }

  /** Starts a worker on an inference thread; it joins the idle ones when ready. */
  private String startWorker() {
    String name = model.name() + "-worker-" + workersSpawned++;
    starting++;
    ModelWorker.start(name, model, getContext().getSelf(), getContext().getSystem(), threads);
    return name;
  }

  private String overranReason(long heldNanos) {
    return "model hung: its predict call ran "
        + heldNanos / 1_000_000
        + " ms, past watchdog.hang-after "
        + settings.watchdog().hangAfter().toMillis()
        + " ms";
  }

  private void fail(List<Score> batch, String reason) {
    for (Score s : batch) {
      s.replyTo().tell(new Failed(s.requestId(), model.name(), model.version(), reason));
    }
  }

  private void publishHealth() {
    health.publish(
        new PoolHealth.Status(
            PoolHealth.key(model.name(), model.version()),
            serving(),
            settings.workers(),
            hung.size(),
            sparesLeft(),
            hungTotal,
            overranTotal,
            failedByWatchdog));
  }

  private Behavior<Command> onInjectHang(InjectHang m) {
    injectedHangCalls = Math.max(0, m.calls());
    injectedHold = injectedHangCalls == 0 ? Duration.ZERO : Duration.ofMillis(m.holdMillis());
    getContext()
        .getLog()
        .warn(
            "model {}: fault injected, the next {} predict call(s) hold their worker {} ms",
            model.name(),
            injectedHangCalls,
            injectedHold.toMillis());
    m.replyTo().tell(new HangInjected(model.name(), injectedHangCalls, injectedHold.toMillis()));
    return this;
  }

  /**
   * How long the next call holds its worker: injected at run time, or by fault.hang-probability.
   */
  private Duration nextHold() {
    if (injectedHangCalls > 0) {
      injectedHangCalls--;
      return injectedHold;
    }
    ModelSettings.Fault f = settings.fault();
    if (f.hangProbability() > 0
        && java.util.concurrent.ThreadLocalRandom.current().nextDouble() < f.hangProbability()) {
      return f.hangFor();
    }
    return Duration.ZERO;
  }

  /**
   * Gives {@code worker} the next batch: the oldest requests still in time, or else the late ones.
   */
  private void dispatch(ModelWorker worker, long nowNanos) {
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
    int serving = serving();
    if (serving == 0) {
      // every worker hung and no spare left: nothing here will be scored in time
      return Long.MAX_VALUE / 2;
    }
    return serviceTime.perRequestNanos() * (inService + ahead + 1) / serving;
  }

  private void run(ModelWorker worker, List<Score> batch, long nowNanos) {
    if (batch.isEmpty()) {
      // every waiting request was refused as unwanted: the worker stays idle
      idle.add(worker);
      return;
    }
    List<Score> jobs = List.copyOf(batch);
    ModelWorker.Run job = new ModelWorker.Run(jobs, nowNanos, nextHold());
    running.put(worker, new Running(nowNanos, job));
    inService += jobs.size();
    load.batch(jobs.size());
    noteLoad();
    worker.submit(job);
  }
}
