package io.rendezvous.actors;

import com.typesafe.config.Config;
import io.rendezvous.actors.RendezvousEntity.Accepted;
import io.rendezvous.actors.RendezvousEntity.Predict;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;

/**
 * The edge's way into the sharded rendezvous. The router sends each request to its entity through
 * sharding, with the client's reply address, and keeps it in a table until the entity accepts it:
 *
 * <ul>
 *   <li>no acceptance within {@code resend-after}: send it again, then again after twice as long,
 *       and so on (messages in flight to a shard that is handed off are lost; the entity answers a
 *       resent request once);
 *   <li>no acceptance after the {@link FallbackPolicy}'s wait (on a clustered node: {@code
 *       fallback-after} while membership is in flux, when the entity's shard may sit on a node that
 *       is dead but not yet downed or be on its way elsewhere; {@code stalled-after} otherwise):
 *       the request is served here by a local, unsharded entity that runs the same schedule from
 *       the request's original start. Under load every acceptance is slow, not only those of a dead
 *       node's shards, and a request served twice only adds to the load: the wait is at least
 *       {@code fallback-load-factor} times the recent acceptance time ({@link AcceptanceTime}), but
 *       never more than half the endpoint's decision deadline, so that the fallback leaves its
 *       models time to answer;
 *   <li>no acceptance by the endpoint's SLA plus {@code entity-ask-grace}: dropped (the client's
 *       ask has timed out by then).
 * </ul>
 *
 * The edge remembers on which node each shard's entities last accepted a request (the shard's
 * home). While that node is out (unreachable, downed or removed: {@link FallbackPolicy#isOut}), a
 * request of that shard is served here at once; it still goes to the region too, so that the shard
 * is allocated elsewhere once the node is removed, and the first acceptance from its new home ends
 * the fallbacks.
 *
 * <p>One actor owns the table and looks at it every {@code check-every} while it is not empty: no
 * actor and no timer per request, since nearly every request is accepted within a millisecond. The
 * answer goes from the entity straight to the client. A request the fallback served may still reach
 * its entity later if its message was only delayed; that entity's story is then journaled too, on
 * its node, and the client keeps the first answer.
 */
public final class RequestRouter {
  private RequestRouter() {}

  /** {@code rendezvous.edge}. */
  public record Settings(
      Duration resendAfter,
      Duration fallbackAfter,
      Duration stalledAfter,
      Duration askGrace,
      Duration checkEvery,
      double fallbackLoadFactor) {
    public static Settings fromConfig(Config root) {
      return new Settings(
          root.getDuration("rendezvous.edge.resend-after"),
          root.getDuration("rendezvous.edge.fallback-after"),
          root.getDuration("rendezvous.edge.stalled-after"),
          root.getDuration("rendezvous.entity-ask-grace"),
          root.getDuration("rendezvous.edge.check-every"),
          root.getDouble("rendezvous.edge.fallback-load-factor"));
    }
  }

  /**
   * How long the edge waits for its entity to accept a request before serving it itself, as the
   * cluster looks now; empty: never (a single node, whose shards are all local).
   */
  @FunctionalInterface
  public interface FallbackPolicy {
    Optional<Duration> waitBeforeFallback();

    /**
     * Whether the node at {@code address} cannot host its shards now: unreachable, downed or
     * removed. A request whose shard was last accepted there is served here at once, without
     * waiting for {@link #waitBeforeFallback()}: its message is lost or buffered until the shard is
     * allocated elsewhere, seconds after the node died.
     */
    default boolean isOut(String address) {
      return false;
    }
  }

  public sealed interface Command {}

  /** Serve one instance; the answer goes to {@code replyTo}. */
  public record Submit(RendezvousEntity.Request request, ActorRef<Reply> replyTo)
      implements Command {}

  private record GotAccepted(Accepted accepted) implements Command {}

  private enum Check implements Command {
    INSTANCE
  }

  public static Behavior<Command> create(
      ActorRef<ShardingEnvelope<RendezvousEntity.Command>> region,
      RendezvousRuntime runtime,
      Settings settings,
      FallbackPolicy fallbackPolicy) {
    // every request of this node passes through this one actor: a failure in one request's handling
    // (logged by the supervisor) must not stop the edge or lose the table of the others
    return Behaviors.supervise(
            Behaviors.<Command>setup(
                ctx ->
                    Behaviors.withTimers(
                        timers ->
                            new Router(ctx, timers, region, runtime, settings, fallbackPolicy)
                                .behavior())))
        .onFailure(Exception.class, SupervisorStrategy.resume());
  }

  /** A request its entity has not accepted yet. */
  private static final class Pending {
    final Submit submit;
    final ShardingEnvelope<RendezvousEntity.Command> envelope;
    final long startNanos;
    final long giveUpAtNanos;
    long resendAtNanos;

    /** Doubles after every resend: a slow entity must not be buried under copies of its request. */
    long resendDelayNanos;

    boolean failureLogged;

    Pending(
        Submit submit,
        ShardingEnvelope<RendezvousEntity.Command> envelope,
        long startNanos,
        long giveUpAtNanos,
        long resendDelayNanos) {
      this.submit = submit;
      this.envelope = envelope;
      this.startNanos = startNanos;
      this.giveUpAtNanos = giveUpAtNanos;
      this.resendDelayNanos = resendDelayNanos;
      this.resendAtNanos = startNanos + resendDelayNanos;
    }
  }

  private static final class Router {
    private final ActorContext<Command> ctx;
    private final TimerScheduler<Command> timers;
    private final ActorRef<ShardingEnvelope<RendezvousEntity.Command>> region;
    private final RendezvousRuntime runtime;
    private final Settings settings;
    private final FallbackPolicy fallbackPolicy;
    private final ActorRef<Accepted> acceptedAdapter;
    private final Map<String, Pending> awaiting = new HashMap<>();
    private final AcceptanceTime acceptance = new AcceptanceTime();
    private final HashCodeMessageExtractor<RendezvousEntity.Command> shards;

    /** Shard id to the address of the node its entities last accepted a request on. */
    private final Map<String, String> homeByShard = new HashMap<>();

    /** Shards whose home was seen out; logged once until a new home accepts. */
    private final Set<String> shardsServedHere = new HashSet<>();

    Router(
        ActorContext<Command> ctx,
        TimerScheduler<Command> timers,
        ActorRef<ShardingEnvelope<RendezvousEntity.Command>> region,
        RendezvousRuntime runtime,
        Settings settings,
        FallbackPolicy fallbackPolicy) {
      this.ctx = ctx;
      this.timers = timers;
      this.region = region;
      this.runtime = runtime;
      this.settings = settings;
      this.fallbackPolicy = fallbackPolicy;
      this.acceptedAdapter = ctx.messageAdapter(Accepted.class, GotAccepted::new);
      this.shards = RendezvousEntity.shards(ctx.getSystem());
    }

    Behavior<Command> behavior() {
      return Behaviors.receive(Command.class)
          .onMessage(Submit.class, this::onSubmit)
          .onMessage(
              GotAccepted.class,
              m -> {
                Accepted accepted = m.accepted();
                Pending p = awaiting.remove(accepted.requestId());
                if (p != null) {
                  acceptance.record(runtime.clock().getAsLong() - p.startNanos);
                }
                learnHome(accepted);
                return Behaviors.same();
              })
          .onMessageEquals(Check.INSTANCE, this::onCheck)
          .build();
    }

    private Behavior<Command> onSubmit(Submit submit) {
      RendezvousEntity.Request request = submit.request();
      ShardingEnvelope<RendezvousEntity.Command> envelope =
          new ShardingEnvelope<>(
              request.requestId(), new Predict(request, 0, acceptedAdapter, submit.replyTo()));
      region.tell(envelope);
      if (awaiting.containsKey(request.requestId())) {
        // a second request under a live id: its entity refuses it (409); only the first is followed
        return Behaviors.same();
      }
      if (homeIsOut(request.requestId())) {
        fallBack(submit, 0);
        return Behaviors.same();
      }
      long now = runtime.clock().getAsLong();
      EndpointSettings ep = request.decidedBy(runtime.endpoints().get(request.endpoint()));
      Duration sla = ep == null ? Duration.ZERO : ep.sla();
      if (awaiting.isEmpty()) {
        timers.startSingleTimer(Check.INSTANCE, settings.checkEvery());
      }
      awaiting.put(
          request.requestId(),
          new Pending(
              submit,
              envelope,
              now,
              now + sla.plus(settings.askGrace()).toNanos(),
              settings.resendAfter().toNanos()));
      return Behaviors.same();
    }

    private void learnHome(Accepted accepted) {
      if (accepted.node() == null) {
        return;
      }
      String shard = shards.shardId(accepted.requestId());
      String before = homeByShard.put(shard, accepted.node());
      if (!accepted.node().equals(before) && shardsServedHere.remove(shard)) {
        ctx.getLog()
            .info(
                "shard {} has a home again ({}): its requests go there, no longer served here",
                shard,
                accepted.node());
      }
    }

    /** The request's shard was last seen on a node that is out now (see the class comment). */
    private boolean homeIsOut(String requestId) {
      String shard = shards.shardId(requestId);
      String home = homeByShard.get(shard);
      if (home == null || !fallbackPolicy.isOut(home)) {
        return false;
      }
      if (shardsServedHere.add(shard)) {
        ctx.getLog()
            .warn(
                "shard {}: its home {} is unreachable or gone; serving its requests on this node"
                    + " until a new home accepts one",
                shard,
                home);
      }
      return true;
    }

    private Behavior<Command> onCheck() {
      try {
        checkAwaiting();
      } finally {
        // re-armed even when a check failed half-way (the supervisor resumes): the rest need it
        if (!awaiting.isEmpty()) {
          timers.startSingleTimer(Check.INSTANCE, settings.checkEvery());
        }
      }
      return Behaviors.same();
    }

    private void checkAwaiting() {
      long now = runtime.clock().getAsLong();
      // asked once per check, and only if some request is due
      Optional<Duration> fallbackLimit = null;
      for (Iterator<Pending> it = awaiting.values().iterator(); it.hasNext(); ) {
        Pending p = it.next();
        if (now - p.giveUpAtNanos >= 0) {
          it.remove();
          continue;
        }
        try {
          long waitedNanos = now - p.startNanos;
          if (waitedNanos >= settings.resendAfter().toNanos()) {
            if (fallbackLimit == null) {
              fallbackLimit = fallbackPolicy.waitBeforeFallback();
            }
            if (fallbackLimit.isPresent()
                && waitedNanos
                    >= acceptance.fallbackWaitNanos(
                        fallbackLimit.get(),
                        settings.fallbackLoadFactor(),
                        decisionDeadlineNanos(p) / 2)) {
              ctx.getLog()
                  .warn(
                      "request {}: its entity did not accept it within {} ms; serving it on this"
                          + " node",
                      p.submit.request().requestId(),
                      waitedNanos / 1_000_000);
              fallBack(p.submit, waitedNanos / 1_000);
              it.remove();
              continue;
            }
          }
          if (now - p.resendAtNanos >= 0) {
            region.tell(p.envelope);
            p.resendDelayNanos =
                Math.min(p.resendDelayNanos * 2, settings.stalledAfter().toNanos());
            p.resendAtNanos = now + p.resendDelayNanos;
          }
        } catch (RuntimeException e) {
          // one request's failure must not hold up the others; it stays, to be tried on the next
          // check until it gives up, and is logged once
          if (!p.failureLogged) {
            p.failureLogged = true;
            ctx.getLog()
                .error(
                    "request {}: edge check failed; trying again until its SLA has passed",
                    p.submit.request().requestId(),
                    e);
          }
        }
      }
    }

    /** After this a fallback could only answer 504 (no endpoint: whenever, it refuses at once). */
    private long decisionDeadlineNanos(Pending p) {
      RendezvousEntity.Request request = p.submit.request();
      EndpointSettings ep = request.decidedBy(runtime.endpoints().get(request.endpoint()));
      return ep == null ? Long.MAX_VALUE : ep.decisionDeadline().toNanos();
    }

    /**
     * Serves the request on this node; the entity is this router's child and stops once it is done.
     */
    private void fallBack(Submit submit, long waitedMicros) {
      RendezvousEntity.Request request = submit.request();
      ActorRef<RendezvousEntity.Command> fallback =
          ctx.spawnAnonymous(RendezvousEntity.create(request.requestId(), null, runtime));
      fallback.tell(new Predict(request, waitedMicros, null, submit.replyTo()));
    }
  }
}
