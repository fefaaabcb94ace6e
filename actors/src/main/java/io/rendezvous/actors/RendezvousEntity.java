package io.rendezvous.actors;

import com.typesafe.config.Config;
import io.rendezvous.actors.Reply.Rejected;
import io.rendezvous.actors.edge.RequestIds;
import io.rendezvous.actors.schedule.Decider;
import io.rendezvous.actors.schedule.Decision;
import io.rendezvous.config.CborSerializable;
import io.rendezvous.journal.Journal;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.ModelPool;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * One prediction request: a Cluster Sharding entity keyed by the request id. It journals the input,
 * gives it to every model of the endpoint at once, and answers as the endpoint's decision policy
 * decides ({@link Decider}; records and replies come from {@link RequestStory}). The answer is
 * journaled before it is sent. Scores that come after it are journaled as late until every model
 * has answered or the linger time has passed; then the entity stops, and the node remembers the
 * request for the dedup window ({@link FinishedRequests}) so that a resent copy is not served
 * again.
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
                .withMessageExtractor(shards(system))
                .withStopMessage(Stop.INSTANCE));
  }

  /**
   * Which shard a request id belongs to: Pekko's default hashing, made explicit so that the edge
   * can tell which requests share a shard (and so a home node) with one it has seen accepted.
   */
  public static HashCodeMessageExtractor<Command> shards(ActorSystem<?> system) {
    return shards(system.settings().config());
  }

  /** As {@link #shards(ActorSystem)}, from the configuration the actor system runs on. */
  public static HashCodeMessageExtractor<Command> shards(Config config) {
    return new HashCodeMessageExtractor<>(config.getInt("pekko.cluster.sharding.number-of-shards"));
  }

  public sealed interface Command extends CborSerializable {}

  /**
   * One instance to predict, as the edge accepted it. {@code acceptedAtMicros} is the wall-clock
   * time the edge accepted it; {@code source} says how it came (json, image/png, ...) and {@code
   * sourceSha256} hashes the original bytes when they were not the tensor itself (an image). {@code
   * deadlineMicros}: the client's own deadline from acceptance when it is shorter than the
   * endpoint's SLA (a gRPC deadline), 0 for none: the request is then decided by it ({@link
   * EndpointSettings#within}).
   */
  public record Request(
      String requestId,
      String clientId,
      String endpoint,
      TensorData input,
      String source,
      String sourceSha256,
      long acceptedAtMicros,
      String traceparent,
      long deadlineMicros)
      implements CborSerializable {
    /** A request with the endpoint's own SLA. */
    public Request(
        String requestId,
        String clientId,
        String endpoint,
        TensorData input,
        String source,
        String sourceSha256,
        long acceptedAtMicros,
        String traceparent) {
      this(
          requestId,
          clientId,
          endpoint,
          input,
          source,
          sourceSha256,
          acceptedAtMicros,
          traceparent,
          0);
    }

    /** A request with no trace context. */
    public Request(
        String requestId,
        String clientId,
        String endpoint,
        TensorData input,
        String source,
        String sourceSha256,
        long acceptedAtMicros) {
      this(requestId, clientId, endpoint, input, source, sourceSha256, acceptedAtMicros, null);
    }

    /** The endpoint as this request is decided by it: within the client's deadline, if any. */
    public EndpointSettings decidedBy(EndpointSettings endpoint) {
      return endpoint == null || deadlineMicros <= 0
          ? endpoint
          : endpoint.within(Duration.ofNanos(deadlineMicros * 1_000));
    }
  }

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

  /**
   * The entity has the request (sent again for a resent Predict). Not the answer. {@code node}: the
   * address of the node the entity runs on (its shard's home).
   */
  public record Accepted(String requestId, String node) implements CborSerializable {}

  /** Sent by the shard when it passivates or hands off this entity. */
  public enum Stop implements Command {
    INSTANCE
  }

  private record ScoreArrived(ModelPool.ScoreResult result) implements Command {}

  /**
   * Something may be due: what the decider said is next (a stage's offset, its deadline), the SLA,
   * the end of the linger. One timer per entity, armed for whichever is due next, not one each.
   */
  private enum Tick implements Command {
    INSTANCE
  }

  private record JournalAcked(Journal.Ack ack) implements Command {}

  public static Behavior<Command> create(
      String requestId, ActorRef<ClusterSharding.ShardCommand> shard, RendezvousRuntime runtime) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> new RendezvousEntity(ctx, timers, requestId, shard, runtime)));
  }

  /**
   * WAITING for the request; COLLECTING scores until the decider decides; ANSWERING while the
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
  private final ActorRef<Journal.Ack> journalAdapter;
  private Phase phase = Phase.WAITING;
  // who gets the answer; not the whole Predict: an entity lingers for late scores after its answer,
  // and the input tensor would stay live with it for every young collection to copy
  private ActorRef<Reply> replyTo;
  private RequestStory story;
  private Decider decider;
  // when the decider was last asked, on the request's clock: what it says is due counts from there
  private long lookedAtMicros;
  // the journal's failure count when the input was offered (see Journal#failures)
  private long failuresBeforeInput;
  // the shard wants this entity gone (hand-off, node leaving): stop once the client has a reply
  private boolean stopRequested;
  // when the armed tick is due (MAX_VALUE when none is), and when the linger ends
  private long armedDueMicros = Long.MAX_VALUE;
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
    this.journalAdapter = ctx.messageAdapter(Journal.Ack.class, JournalAcked::new);
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
    // a handler that finished the request on the way (through answer, linger ...) may say "this"
    Behavior<Command> after = b == this ? next() : b;
    if (after == this) {
      armTick();
    }
    return after;
  }

  private Behavior<Command> onPredict(Predict p) {
    // accepted either way, so the edge stops resending it (and never serves a refused one anywhere)
    if (p.acceptedTo() != null) {
      p.acceptedTo().tell(new Accepted(requestId, getContext().getSystem().address().toString()));
    }
    Request req = p.request();
    if (phase != Phase.WAITING) {
      // from its own client, the edge resent it (its first copy could have been lost while a shard
      // moved): one answer only
      if (!p.replyTo().equals(replyTo)) {
        p.replyTo().tell(RequestStory.idInUse(req.requestId()));
      }
      return this;
    }
    // the client's address from the start: a request refused at once (400, 404) is remembered with
    // it too, so that its client's own resent copy is not told 409
    replyTo = p.replyTo();
    FinishedRequests.Finished done = runtime.finished().lookup(requestId);
    if (done != null) {
      // a copy the edge resent after this request's entity had finished and stopped: accepted, so
      // the edge stops resending it; its own client has its answer, anyone else is refused
      if (!replyTo.path().equals(done.client())) {
        replyTo.tell(RequestStory.idInUse(req.requestId()));
      }
      phase = Phase.DONE;
      return Behaviors.stopped();
    }
    EndpointSettings ep = req.decidedBy(runtime.endpoints().get(req.endpoint()));
    Rejected refused = RequestStory.refusal(req, ep);
    if (refused != null) {
      replyTo.tell(refused);
      return finish();
    }
    story = new RequestStory(requestId, p, runtime.node(), ep, runtime.clock());
    // the answer's record, which the client waits on, brings the writer round for this one too, and
    // its acknowledgement answers for this one as well (one message per request fewer)
    failuresBeforeInput = runtime.journal().failures();
    if (!runtime.journal().offerLazily(story.input(req), null)) {
      replyTo.tell(story.journalRefused(runtime.journal()).reply());
      return finish();
    }
    decider = ep.policy().start(ep, runtime.rewards());
    phase = Phase.COLLECTING;
    // a request that already waited (a fallback) has part of its schedule behind it: the decider
    // counts from the original start, and the first tick is armed for what is due after that
    lookedAtMicros = story.elapsedMicros();
    runtime.scoreEverywhere(requestId, ep, req.input(), decider, lookedAtMicros, scoreAdapter);
    return this;
  }

  private Behavior<Command> onScore(ModelPool.ScoreResult r) {
    if (phase == Phase.WAITING || phase == Phase.DONE) {
      return this;
    }
    int i = story.arrived(r);
    if (i < 0) {
      getContext().getLog().warn("request {}: unexpected score from {}", requestId, r.model());
      return this;
    }
    journalWithoutAck(story.score(i, phase != Phase.COLLECTING));
    decider.record(i, r);
    if (phase == Phase.COLLECTING) {
      decideAt(story.arrivalMicros(i));
    } else if (!RequestIds.isWarmUp(requestId)) {
      story.compareCanary(i, runtime.canaries());
    }
    return phase == Phase.LINGERING && story.complete() ? finish() : next();
  }

  /**
   * Whatever is due by now, on the request's clock: the timer can come early (the scheduler's
   * thread catches up tick by tick on a busy machine) or late, and a fallback entity starts with
   * part of the schedule already behind it.
   */
  private Behavior<Command> onTick() {
    long now = story.elapsedMicros();
    if (armedDueMicros != Long.MAX_VALUE && !RequestIds.isWarmUp(requestId)) {
      runtime.lateDeliveries().timers().record(now - armedDueMicros);
    }
    armedDueMicros = Long.MAX_VALUE;
    if (phase == Phase.COLLECTING) {
      decideAt(now);
    }
    if (phase == Phase.ANSWERING && story.deliveryDeadlineMicros() <= now) {
      // not confirmed by the SLA and its grace: a stuck journal, a 503 rather than no answer
      RequestStory.Told told = story.notConfirmedWithinSla();
      getContext().getLog().warn("request {}: {}; answering 503", requestId, told.record().error());
      return reply(told);
    }
    if (phase == Phase.LINGERING && lingerEndMicros <= now) {
      String why = "no score within linger " + story.endpoint().linger().toMillis() + " ms";
      story.abandonMissing(why, this::journalWithoutAck);
      return finish();
    }
    return next();
  }

  private void decideAt(long now) {
    lookedAtMicros = now;
    Decision d = decider.decide(now);
    if (d != null) {
      answer(d);
    }
  }

  /**
   * Arms the one timer for what is due next, when that changed: at the start, at the decision, when
   * the linger begins (three timers started where a timer per deadline made five, and three
   * cancelled where it made five). Arming only ever for earlier, and letting a tick with nothing
   * due arm for what is next, would save two more, but the re-arming would then count from whenever
   * the early tick was handled, which a test on manual time cannot pin down.
   */
  private void armTick() {
    long due =
        switch (phase) {
          case COLLECTING -> decider.nextDueMicros(lookedAtMicros);
          case ANSWERING -> story.deliveryDeadlineMicros();
          case LINGERING -> lingerEndMicros;
          default -> Long.MAX_VALUE;
        };
    if (due == armedDueMicros) {
      return;
    }
    if (due == Long.MAX_VALUE) {
      timers.cancel(Tick.INSTANCE);
    } else {
      long delay = Math.max(0, due - story.elapsedMicros());
      timers.startSingleTimer(Tick.INSTANCE, Duration.ofNanos(delay * 1_000));
    }
    armedDueMicros = due;
  }

  /**
   * Records the decision in the journal; the reply goes out when the journal confirms it, and never
   * after the SLA (a 503 then, since an answer without a record is not given).
   */
  private void answer(Decision decision) {
    phase = Phase.ANSWERING;
    JournalRecord.Answer record = story.decided(decision);
    if (!RequestIds.isWarmUp(requestId)) {
      story.compareCanaries(runtime.canaries());
    }
    if (!runtime.journal().offer(record, journalAdapter)) {
      // what it makes of the entity (lingering, or stopped) is picked up once the handler returns
      reply(story.journalRefused(runtime.journal()));
    }
  }

  private Behavior<Command> onJournalAcked(Journal.Ack ack) {
    // no answer may go out for an input the journal might not hold: a record that failed between
    // the input's offer and this acknowledgement could have been the input
    return phase != Phase.ANSWERING
        ? this
        : reply(story.confirmed(ack, ack.failures() - failuresBeforeInput));
  }

  /**
   * Journals the second answer record if there is one, lingers for late scores with the timer armed
   * for it, and only then replies: whoever waits on the reply may move the clock on at once (a test
   * on manual time does), and the linger must already count from before.
   */
  private Behavior<Command> reply(RequestStory.Told told) {
    if (told.record() != null) {
      journalWithoutAck(told.record());
    }
    if (told.lateMicros() > 0 && !RequestIds.isWarmUp(requestId)) {
      // the node's own warm-up is no user's request: it stays out of the figures
      runtime.lateDeliveries().record(story.endpoint().name(), told.lateMicros());
    }
    phase = Phase.LINGERING;
    if (stopRequested) {
      // no lingering once a stop was asked for: every missing model is recorded, and it is done
      story.abandonMissing("request stopped before this model answered", this::journalWithoutAck);
    }
    lingerEndMicros = story.elapsedMicros() + story.lingerMicros();
    Behavior<Command> b = story.complete() ? finish() : this;
    if (b == this) {
      armTick();
    }
    replyTo.tell(told.reply());
    return b;
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
      story.abandonMissing("request stopped before this model answered", this::journalWithoutAck);
    }
    phase = Phase.DONE;
    return Behaviors.stopped();
  }

  /** Scores and stop-time records are not waited for; the writer counts and logs a refusal. */
  private void journalWithoutAck(JournalRecord record) {
    runtime.journal().offerLazily(record, null);
  }

  private Behavior<Command> finish() {
    phase = Phase.DONE;
    timers.cancelAll();
    // A finished entity stops itself instead of asking its shard to passivate it (two messages
    // fewer per request): with remember-entities off the shard only forgets it. A copy the edge
    // resent may still come and start a new entity; the node remembers the request for the dedup
    // window so that one does not serve it again (a handed-off or fallback entity has no shard)
    if (shard != null && !stopRequested) {
      runtime.finished().add(requestId, replyTo != null ? replyTo.path() : null);
    }
    return Behaviors.stopped();
  }

  /** This behavior, or stopped when a call below the handler decided the entity is done. */
  private Behavior<Command> next() {
    return phase == Phase.DONE ? Behaviors.stopped() : this;
  }
}
