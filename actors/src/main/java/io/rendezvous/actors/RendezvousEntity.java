package io.rendezvous.actors;

import io.rendezvous.actors.Reply.ModelScore;
import io.rendezvous.actors.Reply.Prediction;
import io.rendezvous.actors.Reply.Rejected;
import io.rendezvous.config.CborSerializable;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.journal.JournalRecord.Outcome;
import io.rendezvous.journal.JournalWriter;
import io.rendezvous.model.Probabilities;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.ModelPool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * One prediction request: a Cluster Sharding entity keyed by the request id. It journals the input,
 * gives it to every model of the endpoint at once, and answers by the deadline schedule:
 *
 * <ul>
 *   <li>stage k is open once its offset has passed (timer), or at once when every higher-priority
 *       stage's model will not answer (failed, overloaded, no worker);
 *   <li>the answer is the highest-priority model that has answered and whose stage is open;
 *   <li>every scheduled model failed: 503 at once; nothing chosen by {@code sla - journal-margin}:
 *       504.
 * </ul>
 *
 * The answer is journaled before it is sent. Scores that come after it are journaled as late until
 * every model has answered or the linger time has passed; then the entity stops, and the node
 * remembers the request for the dedup window ({@link FinishedRequests}) so that a copy resent by
 * the edge is not served again.
 */
public final class RendezvousEntity extends AbstractBehavior<RendezvousEntity.Command> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "rendezvous-request");

  /** Starts sharding for request entities on this node; returns the region to send envelopes to. */
  public static ActorRef<ShardingEnvelope<Command>> init(
      ActorSystem<?> system, RendezvousRuntime runtime) {
    return ClusterSharding.get(system)
        .init(
            Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), ctx.getShard(), runtime))
                .withStopMessage(Stop.INSTANCE));
  }

  // ---- protocol

  public sealed interface Command extends CborSerializable {}

  /**
   * One instance to predict, as the edge accepted it. {@code acceptedAtMicros} is the wall-clock
   * time the edge accepted it; {@code source} says how it came (json, image/png, ...) and {@code
   * sourceSha256} hashes the original bytes when they were not the tensor itself (an image).
   */
  public record Request(
      String requestId,
      String clientId,
      String endpoint,
      TensorData input,
      String source,
      String sourceSha256,
      long acceptedAtMicros)
      implements CborSerializable {}

  /**
   * Predict {@code request}. {@code startOffsetMicros} is how long the request already waited
   * before reaching this entity (a local fallback starts late; the schedule still counts from the
   * start). {@code acceptedTo}, if set, hears {@link Accepted} as soon as the entity has the
   * request, so the edge knows the message was not lost.
   */
  public record Predict(
      Request request,
      long startOffsetMicros,
      ActorRef<Accepted> acceptedTo,
      ActorRef<Reply> replyTo)
      implements Command {}

  /** The entity has the request (sent again for a resent Predict). Not the answer. */
  public record Accepted(String requestId) implements CborSerializable {}

  /** Sent by the shard when it passivates or hands off this entity. */
  public enum Stop implements Command {
    INSTANCE
  }

  private record ScoreArrived(ModelPool.ScoreResult result) implements Command {}

  /**
   * Something on the schedule may be due: a stage's offset, the decision deadline, the SLA, the end
   * of the linger. One timer per entity, armed for whichever is due next, instead of one per
   * deadline.
   */
  private enum Tick implements Command {
    INSTANCE
  }

  private record JournalAcked(JournalWriter.Ack ack) implements Command {}

  public static Behavior<Command> create(
      String requestId, ActorRef<ClusterSharding.ShardCommand> shard, RendezvousRuntime runtime) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> new RendezvousEntity(ctx, timers, requestId, shard, runtime)));
  }

  // ---- state

  /**
   * WAITING for the request; COLLECTING scores until the schedule decides; ANSWERING while the
   * journal confirms the answer; LINGERING to record late scores; DONE once everything is recorded.
   */
  private enum Phase {
    WAITING,
    COLLECTING,
    ANSWERING,
    LINGERING,
    DONE
  }

  private final TimerScheduler<Command> timers;
  private final String requestId;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final RendezvousRuntime runtime;
  private final ActorRef<ModelPool.ScoreResult> scoreAdapter;
  private final ActorRef<JournalWriter.Ack> journalAdapter;

  private Phase phase = Phase.WAITING;

  /**
   * Who gets the answer, and the client's id. Not the whole Predict: an entity lingers for late
   * scores after its answer, and the input tensor would stay live with it for every young
   * collection to copy.
   */
  private ActorRef<Reply> replyTo;

  private String clientId;
  private EndpointSettings endpoint;
  private long startNanos;

  /** Per model of the endpoint (same index as endpoint.models()): what came back, and when. */
  private ModelPool.ScoreResult[] results;

  private long[] arrivalMicros;
  private boolean[] stageTimerFired;
  private Reply pendingReply;

  /** When the answer was chosen, from the request's start. */
  private long decidedAtMicros;

  /**
   * The journal's failure count when the input was offered (see {@link
   * io.rendezvous.journal.Journal#failures}).
   */
  private long failuresBeforeInput;

  /**
   * The shard wants this entity gone (hand-off, node leaving): stop as soon as the client has its
   * reply.
   */
  private boolean stopRequested;

  private boolean stopNow;

  /** When the armed tick is due, on the schedule's clock; MAX_VALUE when none is armed. */
  private long armedDueMicros = Long.MAX_VALUE;

  /** When lingering for late scores ends, on the schedule's clock. */
  private long lingerEndMicros;

  private RendezvousEntity(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      String requestId,
      ActorRef<ClusterSharding.ShardCommand> shard,
      RendezvousRuntime runtime) {
    super(ctx);
    this.timers = timers;
    this.requestId = requestId;
    this.shard = shard;
    this.runtime = runtime;
    this.scoreAdapter = ctx.messageAdapter(ModelPool.ScoreResult.class, ScoreArrived::new);
    this.journalAdapter = ctx.messageAdapter(JournalWriter.Ack.class, JournalAcked::new);
  }

  /**
   * One case for every command: an entity, and its receive with it, is built for each request, and
   * a case per message type was some 30 objects per request, kept for as long as the entity lives.
   */
  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder().onMessage(Command.class, this::onCommand).build();
  }

  private Behavior<Command> onCommand(Command m) {
    Behavior<Command> b;
    if (m instanceof ScoreArrived s) {
      b = onScore(s.result());
    } else if (m instanceof JournalAcked a) {
      b = onJournalAcked(a.ack());
    } else if (m instanceof Predict p) {
      b = onPredict(p);
    } else if (m == Tick.INSTANCE) {
      b = onTick();
    } else if (m == Stop.INSTANCE) {
      b = onStop();
    } else {
      b = Behaviors.unhandled();
    }
    // a handler that finished the request on the way (through answer, linger ...) may still say
    // "this"
    Behavior<Command> after = b == this ? next() : b;
    if (after == this) {
      armTick();
    }
    return after;
  }

  private Behavior<Command> onPredict(Predict p) {
    if (phase != Phase.WAITING) {
      // accepted either way, so the edge stops resending it (and never serves a refused one
      // elsewhere)
      if (p.acceptedTo() != null) {
        p.acceptedTo().tell(new Accepted(requestId));
      }
      if (!isTheClient(p.replyTo())) {
        p.replyTo()
            .tell(
                new Rejected(
                    p.request().requestId(),
                    409,
                    "request id " + p.request().requestId() + " is already in use"));
      }
      // else the edge resent it (its first copy could have been lost while a shard moved): one
      // answer only
      return this;
    }
    if (p.acceptedTo() != null) {
      p.acceptedTo().tell(new Accepted(requestId));
    }
    // the client's address from the start: a request refused at once (400, 404) is remembered with
    // it too,
    // so that its client's own resent copy is not told 409
    replyTo = p.replyTo();
    FinishedRequests.Finished done = runtime.finished().lookup(requestId);
    if (done != null) {
      // a copy the edge resent, come after this request's entity had finished and stopped: accepted
      // above,
      // so the edge stops resending it; its own client has its answer, anyone else is refused
      if (!p.replyTo().path().equals(done.client())) {
        p.replyTo()
            .tell(
                new Rejected(
                    p.request().requestId(),
                    409,
                    "request id " + p.request().requestId() + " is already in use"));
      }
      phase = Phase.DONE;
      return Behaviors.stopped();
    }
    EndpointSettings ep = runtime.endpoints().get(p.request().endpoint());
    if (ep == null) {
      p.replyTo()
          .tell(
              new Rejected(
                  p.request().requestId(), 404, "no endpoint '" + p.request().endpoint() + "'"));
      return finish();
    }
    String mismatch = ep.input().mismatch(p.request().input());
    if (mismatch != null) {
      p.replyTo().tell(new Rejected(p.request().requestId(), 400, "input has " + mismatch));
      return finish();
    }
    startNanos = runtime.clock().getAsLong() - p.startOffsetMicros() * 1_000;
    clientId = p.request().clientId();
    endpoint = ep;
    JournalRecord.Input input =
        new JournalRecord.Input(
            requestId,
            p.request().clientId(),
            runtime.node(),
            ep.name(),
            p.request().acceptedAtMicros(),
            p.request().source(),
            p.request().sourceSha256(),
            p.request().input());
    // the answer's record, which the client waits on, brings the writer round for this one too, and
    // its
    // acknowledgement answers for this one as well (one message per request fewer)
    failuresBeforeInput = runtime.journal().failures();
    if (!runtime.journal().offerLazily(input, null)) {
      p.replyTo().tell(new Rejected(requestId, 503, journalRefusal()));
      return finish();
    }
    int n = ep.models().size();
    results = new ModelPool.ScoreResult[n];
    arrivalMicros = new long[n];
    stageTimerFired = new boolean[ep.schedule().size()];
    phase = Phase.COLLECTING;

    // open from the start: a stage at offset zero, and for a request that already waited (a
    // fallback) every
    // stage whose offset is behind it
    long waited = elapsedMicros();
    for (int k = 0; k < ep.schedule().size(); k++) {
      stageTimerFired[k] = micros(ep.schedule().get(k).after()) <= waited;
    }

    // the reply goes out by the SLA, and late scores are recorded for the linger after it at most
    long wantedFor = Math.max(0, micros(ep.sla()) + micros(ep.linger()) - waited);
    for (String model : ep.models()) {
      Optional<ActorRef<ModelPool.Command>> pool = runtime.directory().pick(model);
      if (pool.isPresent()) {
        long decisiveFor = Math.max(0, micros(ep.decisiveUntil(model)) - waited);
        pool.get()
            .tell(
                new ModelPool.Score(
                    requestId, p.request().input(), decisiveFor, wantedFor, scoreAdapter));
      } else {
        // handled like any failure: recorded, and it unblocks the next stage
        getContext()
            .getSelf()
            .tell(
                new ScoreArrived(
                    new ModelPool.Failed(
                        requestId, model, null, "no worker for model " + model + " on any node")));
      }
    }
    return this;
  }

  private Behavior<Command> onScore(ModelPool.ScoreResult r) {
    if (phase == Phase.WAITING || phase == Phase.DONE) {
      return this;
    }
    int i = endpoint.models().indexOf(r.model());
    if (i < 0 || results[i] != null) {
      getContext().getLog().warn("request {}: unexpected score from {}", requestId, r.model());
      return this;
    }
    results[i] = r;
    arrivalMicros[i] = elapsedMicros();
    Outcome outcome;
    if (r instanceof ModelPool.Scored) {
      outcome = phase == Phase.COLLECTING ? Outcome.OK : Outcome.LATE;
    } else {
      outcome = r instanceof ModelPool.Overloaded ? Outcome.OVERLOADED : Outcome.FAILED;
    }
    journalWithoutAck(scoreRecord(i, outcome));
    if (phase == Phase.COLLECTING) {
      decide();
    }
    return phase == Phase.LINGERING ? finishIfComplete() : next();
  }

  /**
   * Whatever the schedule has due by now, on its own clock: the timer can come early (the
   * scheduler's thread catches up tick by tick on a busy machine) or late, and a fallback entity
   * starts with part of the schedule already behind it.
   */
  private Behavior<Command> onTick() {
    armedDueMicros = Long.MAX_VALUE;
    long now = elapsedMicros();
    if (phase == Phase.COLLECTING) {
      boolean opened = false;
      for (int k = 0; k < stageTimerFired.length; k++) {
        if (!stageTimerFired[k] && micros(endpoint.schedule().get(k).after()) <= now) {
          stageTimerFired[k] = true;
          opened = true;
        }
      }
      if (opened) {
        decide();
      }
      if (phase == Phase.COLLECTING && micros(endpoint.decisionDeadline()) <= now) {
        answer(
            504,
            -1,
            "no scheduled model answered within the SLA of " + endpoint.sla().toMillis() + " ms");
      }
    }
    if (phase == Phase.ANSWERING && micros(endpoint.sla()) <= now) {
      return answerDeadlinePassed();
    }
    if (phase == Phase.LINGERING && lingerEndMicros <= now) {
      abandonMissing("no score within linger " + endpoint.linger().toMillis() + " ms");
      return finish();
    }
    return next();
  }

  /**
   * When something is next due in this phase, on the schedule's clock; MAX_VALUE when nothing is.
   */
  private long nextDueMicros() {
    if (phase == Phase.COLLECTING) {
      long due = micros(endpoint.decisionDeadline());
      for (int k = 0; k < stageTimerFired.length; k++) {
        if (!stageTimerFired[k]) {
          due = Math.min(due, micros(endpoint.schedule().get(k).after()));
        }
      }
      return due;
    }
    if (phase == Phase.ANSWERING) {
      return micros(endpoint.sla());
    }
    return phase == Phase.LINGERING ? lingerEndMicros : Long.MAX_VALUE;
  }

  /**
   * Arms the one timer for what is due next, when that changed: at the start, at the decision, when
   * the linger begins (three timers started where a timer per deadline made five, and three
   * cancelled where it made five). Arming only ever for earlier, and letting a tick with nothing
   * due arm for what is next, would save two more, but the re-arming would then count from whenever
   * the early tick was handled, which a test on manual time cannot pin down.
   */
  private void armTick() {
    long due = nextDueMicros();
    if (due == armedDueMicros) {
      return;
    }
    if (due == Long.MAX_VALUE) {
      timers.cancel(Tick.INSTANCE);
    } else {
      timers.startSingleTimer(
          Tick.INSTANCE, Duration.ofNanos(Math.max(0, due - elapsedMicros()) * 1_000));
    }
    armedDueMicros = due;
  }

  private static long micros(Duration d) {
    return d.toNanos() / 1_000;
  }

  private Behavior<Command> onJournalAcked(JournalWriter.Ack ack) {
    boolean written = ack instanceof JournalWriter.Written;
    String reason = ack instanceof JournalWriter.NotWritten nw ? nw.reason() : null;
    if (phase != Phase.ANSWERING) {
      return this;
    }
    // no answer may go out for an input the journal might not hold: a record that failed between
    // the
    // input's offer and this acknowledgement could have been the input
    long failedSince = ack.failures() - failuresBeforeInput;
    if (!written || failedSince != 0) {
      return rejectDecidedAnswer(
          written
              ? "journal may not hold the input: "
                  + failedSince
                  + " record(s) it took since the input was offered"
                  + " could not be written"
              : "journal could not record the answer: " + reason);
    }
    Reply reply = pendingReply;
    pendingReply = null;
    return lingerAndReply(reply);
  }

  /**
   * The decided answer cannot go out: the client gets a 503 instead, and a second answer record
   * says so, since for a request's story the last answer record is what the client got.
   */
  private Behavior<Command> rejectDecidedAnswer(String why) {
    journalWithoutAck(
        new JournalRecord.Answer(
            requestId,
            clientId,
            runtime.node(),
            endpoint.name(),
            nowMicros(),
            503,
            null,
            null,
            -1,
            null,
            null,
            elapsedMicros(),
            why));
    pendingReply = null;
    return lingerAndReply(new Rejected(requestId, 503, why));
  }

  /**
   * Lingers, with the timer armed for it, and only then replies: whoever waits on the reply may
   * move the clock on at once (a test on manual time does), and the linger must already count from
   * before.
   */
  private Behavior<Command> lingerAndReply(Reply reply) {
    Behavior<Command> b = linger();
    if (b == this) {
      armTick();
    }
    replyTo.tell(reply);
    return b;
  }

  /**
   * The journal has not confirmed the answer by the SLA. The client gets a 503 now (never an answer
   * the journal might not hold, never later than the SLA), and a second answer record says so: for
   * a request's story the last answer record is what the client got.
   */
  private Behavior<Command> answerDeadlinePassed() {
    // when it was decided says where the time went: a late decision leaves the journal little of
    // the SLA
    String why =
        String.format(
            java.util.Locale.ROOT,
            "journal did not confirm the answer within the SLA of %d ms (answer decided at %.1f ms, %.1f ms waited)",
            endpoint.sla().toMillis(),
            decidedAtMicros / 1000.0,
            (elapsedMicros() - decidedAtMicros) / 1000.0);
    getContext().getLog().warn("request {}: {}; answering 503", requestId, why);
    return rejectDecidedAnswer(why);
  }

  /** The client has its reply; keep recording late scores until all are in or the linger passes. */
  private Behavior<Command> linger() {
    phase = Phase.LINGERING;
    if (stopRequested) {
      abandonMissing("request stopped before this model answered");
      return finish();
    }
    lingerEndMicros = elapsedMicros() + micros(endpoint.linger());
    return finishIfComplete();
  }

  /**
   * The shard stops this entity (passivation, hand-off, node leaving). A client still waiting gets
   * its answer first: the schedule runs on (the SLA bounds how long), then the entity records every
   * model that has not answered and stops, without lingering.
   */
  private Behavior<Command> onStop() {
    if (phase == Phase.COLLECTING || phase == Phase.ANSWERING) {
      stopRequested = true;
      return this;
    }
    if (phase == Phase.LINGERING) {
      abandonMissing("request stopped before this model answered");
    }
    phase = Phase.DONE;
    return Behaviors.stopped();
  }

  private void abandonMissing(String why) {
    for (int i = 0; i < results.length; i++) {
      if (results[i] == null) {
        results[i] = new ModelPool.Failed(requestId, endpoint.models().get(i), null, why);
        journalWithoutAck(
            new JournalRecord.Score(
                requestId,
                runtime.node(),
                endpoint.name(),
                nowMicros(),
                endpoint.models().get(i),
                null,
                Outcome.ABANDONED,
                elapsedMicros(),
                0,
                null,
                why));
      }
    }
  }

  /**
   * Scores and stop-time records are not waited for; a refusal is counted and logged by the writer.
   */
  private void journalWithoutAck(JournalRecord record) {
    runtime.journal().offerLazily(record, null);
  }

  // ---- the schedule

  private void decide() {
    List<EndpointSettings.Stage> schedule = endpoint.schedule();
    boolean allBeforeWillNotAnswer = true;
    for (int k = 0; k < schedule.size(); k++) {
      ModelPool.ScoreResult r = results[endpoint.models().indexOf(schedule.get(k).model())];
      // a stage opens at its offset, or early when every stage above it will not answer
      boolean open = stageTimerFired[k] || (k > 0 && allBeforeWillNotAnswer);
      if (open && r instanceof ModelPool.Scored) {
        answer(200, k, null);
        return;
      }
      allBeforeWillNotAnswer &= willNotAnswer(r);
    }
    if (allBeforeWillNotAnswer) {
      StringBuilder why = new StringBuilder("every scheduled model failed:");
      for (EndpointSettings.Stage s : schedule) {
        why.append(' ')
            .append(s.model())
            .append(" (")
            .append(reasonOf(results[endpoint.models().indexOf(s.model())]))
            .append(')');
      }
      answer(503, -1, why.toString());
    }
  }

  private static boolean willNotAnswer(ModelPool.ScoreResult r) {
    return r instanceof ModelPool.Failed || r instanceof ModelPool.Overloaded;
  }

  private static String reasonOf(ModelPool.ScoreResult r) {
    if (r instanceof ModelPool.Failed f) {
      return f.reason();
    }
    return r instanceof ModelPool.Overloaded ? "overloaded" : "scored";
  }

  /**
   * Records the decision in the journal; the reply goes out when the journal confirms it, and never
   * after the SLA (a 503 then, since an answer without a record is not given).
   */
  private void answer(int status, int stage, String error) {
    phase = Phase.ANSWERING;
    long decided = elapsedMicros();
    decidedAtMicros = decided;
    JournalRecord.Answer record;
    if (status == 200) {
      EndpointSettings.Stage s = endpoint.schedule().get(stage);
      ModelPool.Scored scored = (ModelPool.Scored) results[endpoint.models().indexOf(s.model())];
      float[] p = scored.probabilities()[0];
      int labelIndex = Probabilities.argmax(p);
      String label = labelName(labelIndex);
      record =
          new JournalRecord.Answer(
              requestId,
              clientId,
              runtime.node(),
              endpoint.name(),
              nowMicros(),
              200,
              s.model(),
              scored.version(),
              stage,
              label,
              p,
              decided,
              null);
      pendingReply =
          new Prediction(
              requestId,
              clientId,
              endpoint.name(),
              runtime.node(),
              s.model(),
              scored.version(),
              stage,
              label,
              labelIndex,
              p,
              decided,
              scoresSoFar());
    } else {
      record =
          new JournalRecord.Answer(
              requestId,
              clientId,
              runtime.node(),
              endpoint.name(),
              nowMicros(),
              status,
              null,
              null,
              -1,
              null,
              null,
              decided,
              error);
      pendingReply = new Rejected(requestId, status, error);
    }
    if (!runtime.journal().offer(record, journalAdapter)) {
      pendingReply = null;
      // what it makes of the entity (lingering, or stopped) is picked up once the handler returns
      lingerAndReply(new Rejected(requestId, 503, journalRefusal()));
    }
  }

  private List<ModelScore> scoresSoFar() {
    List<ModelScore> out = new ArrayList<>(results.length);
    for (int i = 0; i < results.length; i++) {
      ModelPool.ScoreResult r = results[i];
      String model = endpoint.models().get(i);
      if (r == null) {
        out.add(new ModelScore(model, null, "pending", null, null, -1, 0, null));
      } else if (r instanceof ModelPool.Scored s) {
        float[] p = s.probabilities()[0];
        out.add(
            new ModelScore(
                model,
                s.version(),
                Outcome.OK.wireName(),
                labelName(Probabilities.argmax(p)),
                p,
                arrivalMicros[i],
                s.inferenceMicros(),
                null));
      } else {
        out.add(
            new ModelScore(
                model,
                r.version(),
                r instanceof ModelPool.Overloaded
                    ? Outcome.OVERLOADED.wireName()
                    : Outcome.FAILED.wireName(),
                null,
                null,
                arrivalMicros[i],
                0,
                reasonOf(r)));
      }
    }
    return out;
  }

  private JournalRecord.Score scoreRecord(int i, Outcome outcome) {
    ModelPool.ScoreResult r = results[i];
    float[] p = null;
    long inference = 0;
    String error = null;
    if (r instanceof ModelPool.Scored s) {
      p = s.probabilities()[0];
      inference = s.inferenceMicros();
    } else {
      error = reasonOf(r);
    }
    return new JournalRecord.Score(
        requestId,
        runtime.node(),
        endpoint.name(),
        nowMicros(),
        r.model(),
        r.version(),
        outcome,
        arrivalMicros[i],
        inference,
        p,
        error);
  }

  private Behavior<Command> finishIfComplete() {
    for (ModelPool.ScoreResult r : results) {
      if (r == null) {
        return this;
      }
    }
    return finish();
  }

  private Behavior<Command> finish() {
    phase = Phase.DONE;
    timers.cancelAll();
    // A finished entity stops itself instead of asking its shard to passivate it (two messages
    // fewer per
    // request): with remember-entities off the shard then only forgets it. A copy of the request
    // resent
    // by the edge may still come and start a new entity; the node remembers the request for the
    // dedup
    // window so that one does not serve it again (a handed-off or fallback entity has no shard
    // here)
    if (shard != null && !stopRequested) {
      runtime.finished().add(requestId, replyTo != null ? replyTo.path() : null);
    }
    stopNow = true;
    return Behaviors.stopped();
  }

  /** Whether {@code ref} is this request's client: a copy of the request the edge resent. */
  private boolean isTheClient(ActorRef<Reply> ref) {
    return ref.equals(replyTo);
  }

  /** This behavior, or stopped when a call below the handler decided the entity is done. */
  private Behavior<Command> next() {
    return stopNow ? Behaviors.stopped() : this;
  }

  private String journalRefusal() {
    String why = runtime.journal().unwritableReason();
    return "journal unavailable: " + (why != null ? why : "its queue is full");
  }

  private String labelName(int index) {
    List<String> labels = endpoint.labels();
    return index < labels.size() ? labels.get(index) : Integer.toString(index);
  }

  private long elapsedMicros() {
    return (runtime.clock().getAsLong() - startNanos) / 1_000;
  }

  private static long nowMicros() {
    java.time.Instant now = java.time.Instant.now();
    return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
  }
}
