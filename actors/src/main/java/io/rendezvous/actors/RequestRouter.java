package io.rendezvous.actors;

import com.typesafe.config.Config;
import io.rendezvous.actors.RendezvousEntity.Accepted;
import io.rendezvous.actors.RendezvousEntity.Predict;
import io.rendezvous.actors.RendezvousEntity.Reply;
import io.rendezvous.workers.model.TensorData;
import java.time.Duration;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;

/**
 * The edge's way into the sharded rendezvous, one tracker per request. The tracker sends the request to
 * its entity through sharding and waits for the entity to accept it:
 *
 * <ul>
 *   <li>no acceptance within {@code resend-after}: send it again, then again after twice as long, and so
 *       on (messages in flight to a shard that is handed off are lost; the entity answers a resent
 *       request once);
 *   <li>no acceptance after the {@link FallbackPolicy}'s wait (on a clustered node: {@code fallback-after}
 *       while membership is in flux, when the entity's shard may sit on a node that is dead but not yet
 *       downed or be on its way elsewhere; {@code stalled-after} otherwise): the request is served here by
 *       a local, unsharded entity that runs the same schedule from the request's original start.
 * </ul>
 *
 * The first reply goes to the client. A request the fallback served may still reach its entity later if
 * its message was only delayed; that entity's story is then journaled too, on its node.
 */
public final class RequestRouter {
  private RequestRouter() {}

  /** {@code rendezvous.edge}. */
  public record Settings(Duration resendAfter, Duration fallbackAfter, Duration stalledAfter, Duration askGrace) {
    public static Settings fromConfig(Config root) {
      return new Settings(
          root.getDuration("rendezvous.edge.resend-after"),
          root.getDuration("rendezvous.edge.fallback-after"),
          root.getDuration("rendezvous.edge.stalled-after"),
          root.getDuration("rendezvous.entity-ask-grace"));
    }
  }

  /**
   * How long the edge waits for its entity to accept a request before serving it itself, as the cluster
   * looks now; empty: never (a single node, whose shards are all local).
   */
  @FunctionalInterface
  public interface FallbackPolicy {
    Optional<Duration> waitBeforeFallback();
  }

  /** Serve one instance; the answer goes to {@code replyTo}. */
  public record Submit(RendezvousEntity.Request request, ActorRef<Reply> replyTo) {}

  public static Behavior<Submit> create(
      ActorRef<ShardingEnvelope<RendezvousEntity.Command>> region,
      RendezvousRuntime runtime,
      Settings settings,
      FallbackPolicy fallbackPolicy) {
    return Behaviors.receive((ctx, submit) -> {
      ctx.spawnAnonymous(Tracker.create(submit, region, runtime, settings, fallbackPolicy));
      return Behaviors.same();
    });
  }

  /** Follows one request until its client has an answer (and a local fallback, if any, has finished). */
  private static final class Tracker {
    sealed interface Msg {}

    record GotAccepted(Accepted a) implements Msg {}

    record GotReply(Reply r) implements Msg {}

    enum Tick implements Msg { RESEND, FALLBACK, GIVE_UP }

    private final ActorContext<Msg> ctx;
    private final TimerScheduler<Msg> timers;
    private final Submit submit;
    private final ActorRef<ShardingEnvelope<RendezvousEntity.Command>> region;
    private final RendezvousRuntime runtime;
    private final Settings settings;
    private final FallbackPolicy fallbackPolicy;
    private final ShardingEnvelope<RendezvousEntity.Command> envelope;
    private final ActorRef<Reply> replyAdapter;
    private final long startNanos;
    private boolean accepted;
    /** Doubles after every resend: a slow entity must not be buried under copies of its request. */
    private Duration resendDelay;
    private boolean replied;
    private ActorRef<RendezvousEntity.Command> fallback;

    static Behavior<Msg> create(Submit submit, ActorRef<ShardingEnvelope<RendezvousEntity.Command>> region,
        RendezvousRuntime runtime, Settings settings, FallbackPolicy fallbackPolicy) {
      return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
          new Tracker(ctx, timers, submit, region, runtime, settings, fallbackPolicy).start()));
    }

    private Tracker(ActorContext<Msg> ctx, TimerScheduler<Msg> timers, Submit submit,
        ActorRef<ShardingEnvelope<RendezvousEntity.Command>> region, RendezvousRuntime runtime, Settings settings,
        FallbackPolicy fallbackPolicy) {
      this.ctx = ctx;
      this.timers = timers;
      this.submit = submit;
      this.region = region;
      this.runtime = runtime;
      this.settings = settings;
      this.fallbackPolicy = fallbackPolicy;
      this.startNanos = runtime.clock().getAsLong();
      this.resendDelay = settings.resendAfter();
      this.replyAdapter = ctx.messageAdapter(Reply.class, GotReply::new);
      ActorRef<Accepted> acceptedAdapter = ctx.messageAdapter(Accepted.class, GotAccepted::new);
      this.envelope = new ShardingEnvelope<>(submit.request().requestId(), predict(0, acceptedAdapter));
    }

    private Predict predict(long startOffsetMicros, ActorRef<Accepted> acceptedTo) {
      return new Predict(submit.request(), startOffsetMicros, acceptedTo, replyAdapter);
    }

    private Behavior<Msg> start() {
      region.tell(envelope);
      timers.startSingleTimer(Tick.RESEND, resendDelay);
      timers.startSingleTimer(Tick.FALLBACK, settings.resendAfter());
      EndpointSettings ep = runtime.endpoints().get(submit.request().endpoint());
      Duration sla = ep == null ? Duration.ZERO : ep.sla();
      timers.startSingleTimer(Tick.GIVE_UP, sla.plus(settings.askGrace()));
      return Behaviors.receive(Msg.class)
          .onMessage(GotAccepted.class, m -> onAccepted())
          .onMessage(GotReply.class, m -> onReply(m.r()))
          .onMessageEquals(Tick.RESEND, this::onResend)
          .onMessageEquals(Tick.FALLBACK, this::onFallbackDue)
          .onMessageEquals(Tick.GIVE_UP, Behaviors::stopped)
          .onSignal(Terminated.class, t -> replied ? Behaviors.stopped() : Behaviors.same())
          .build();
    }

    private Behavior<Msg> onAccepted() {
      accepted = true;
      timers.cancel(Tick.RESEND);
      timers.cancel(Tick.FALLBACK);
      return Behaviors.same();
    }

    private Behavior<Msg> onReply(Reply r) {
      if (!replied) {
        submit.replyTo().tell(r);
        replied = true;
      }
      // a fallback entity is this tracker's child: let it record its late scores before stopping
      return fallback == null ? Behaviors.stopped() : Behaviors.same();
    }

    private Behavior<Msg> onResend() {
      if (!accepted && fallback == null) {
        region.tell(envelope);
        resendDelay = resendDelay.multipliedBy(2);
        if (resendDelay.compareTo(settings.stalledAfter()) > 0) {
          resendDelay = settings.stalledAfter();
        }
        timers.startSingleTimer(Tick.RESEND, resendDelay);
      }
      return Behaviors.same();
    }

    private Behavior<Msg> onFallbackDue() {
      if (accepted || fallback != null) {
        return Behaviors.same();
      }
      long waitedMicros = (runtime.clock().getAsLong() - startNanos) / 1_000;
      Optional<Duration> limit = fallbackPolicy.waitBeforeFallback();
      if (limit.isEmpty() || waitedMicros < limit.get().toNanos() / 1_000) {
        // the entity will get a resent copy; look again later (the cluster may have changed by then)
        timers.startSingleTimer(Tick.FALLBACK, settings.resendAfter());
        return Behaviors.same();
      }
      ctx.getLog().warn("request {}: its entity did not accept it within {} ms; serving it on this node",
          submit.request().requestId(), waitedMicros / 1000);
      timers.cancel(Tick.RESEND);
      fallback = ctx.spawn(RendezvousEntity.create(submit.request().requestId(), null, runtime), "fallback");
      ctx.watch(fallback);
      fallback.tell(predict(waitedMicros, null));
      return Behaviors.same();
    }
  }
}
