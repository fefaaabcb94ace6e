package io.rendezvous.node;

import io.rendezvous.actors.edge.RequestIds;
import io.rendezvous.journal.JournalLookup;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * Where a node sends the corrections its clients give: to the {@link FeedbackKeeper} of the node
 * whose journal holds the corrected request's story. A request id carries a hash of the node that
 * issued it, and a request is served (journaled) where it entered, so that node is asked first;
 * only when it does not hold the story (its shard had moved, or a fallback served it elsewhere) are
 * the others asked whether they do, all at once, and the first that does takes it. Not found
 * anywhere: 404. The issuing node out of reach (or not yet known here): 503, since the story may be
 * in its journal and only it can say; a fallback may have journaled the story there as well as on
 * another node, and asking it first is what keeps two keepers from each taking a correction.
 */
final class FeedbackClient {

  /** What the client is told: an HTTP status and the keeper's reply or why there is none. */
  record Outcome(int status, FeedbackKeeper.Reply reply, String error) {}

  private final ActorSystem<?> system;
  private final Duration timeout;
  private final String self;
  private final ActorRef<FeedbackKeeper.Command> local;
  private final AtomicReference<Set<ActorRef<FeedbackKeeper.Command>>> keepers =
      new AtomicReference<>(Set.of());
  private final Map<ActorRef<FeedbackKeeper.Command>, CompletionStage<String>> names =
      new ConcurrentHashMap<>();

  /**
   * {@code local}: this node's own keeper, known at once (the Receptionist's listing reaches a node
   * some time after its start: a correction of a request this node served must not wait for it).
   */
  FeedbackClient(
      ActorSystem<?> system,
      Duration timeout,
      String self,
      ActorRef<FeedbackKeeper.Command> local) {
    this.system = system;
    this.timeout = timeout;
    this.self = self;
    this.local = local;
    names.put(local, CompletableFuture.completedFuture(self));
    system.systemActorOf(
        listings(), "feedback-keepers", org.apache.pekko.actor.typed.Props.empty());
  }

  private Behavior<Receptionist.Listing> listings() {
    return Behaviors.setup(
        ctx -> {
          ctx.getSystem()
              .receptionist()
              .tell(Receptionist.subscribe(FeedbackKeeper.KEY, ctx.getSelf()));
          return Behaviors.receiveMessage(
              listing -> {
                Set<ActorRef<FeedbackKeeper.Command>> now =
                    listing.getServiceInstances(FeedbackKeeper.KEY);
                keepers.set(Set.copyOf(now));
                names.keySet().removeIf(k -> !now.contains(k) && !k.equals(local));
                return Behaviors.same();
              });
        });
  }

  /** Keepers known now (their node's name, asked once each). */
  private CompletionStage<List<Named>> named() {
    List<CompletableFuture<Named>> all = new ArrayList<>();
    java.util.Set<ActorRef<FeedbackKeeper.Command>> known =
        new java.util.LinkedHashSet<>(keepers.get());
    known.add(local);
    for (ActorRef<FeedbackKeeper.Command> k : known) {
      CompletionStage<String> name =
          names.computeIfAbsent(
              k,
              ref ->
                  AskPattern.<FeedbackKeeper.Command, FeedbackKeeper.Reply>ask(
                          ref, FeedbackKeeper.WhoAreYou::new, timeout, system.scheduler())
                      .thenApply(FeedbackKeeper.Reply::node));
      all.add(
          name.toCompletableFuture()
              .handle(
                  (n, failure) -> {
                    if (failure != null) {
                      names.remove(k); // asked again next time
                      return new Named(k, null);
                    }
                    return new Named(k, n);
                  }));
    }
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
        .thenApply(v -> all.stream().map(CompletableFuture::join).toList());
  }

  private record Named(ActorRef<FeedbackKeeper.Command> ref, String node) {}

  /**
   * Sends the correction of {@code requestId} to {@code label} by {@code source} (and, when not
   * null, checks that the request went to {@code endpoint}) to the node that holds its story.
   */
  CompletionStage<Outcome> submit(String requestId, String label, String source, String endpoint) {
    try {
      JournalLookup.millisOf(requestId);
    } catch (IllegalArgumentException bad) {
      return CompletableFuture.completedFuture(
          new Outcome(
              400,
              null,
              "request_id '" + requestId + "' is not a request id of this server (a UUIDv7)"));
    }
    if (RequestIds.isWarmUp(requestId)) {
      // a node's own warm-up: not traffic, nothing to correct
      return CompletableFuture.completedFuture(
          new Outcome(404, null, "request " + requestId + " is a node's warm-up request"));
    }
    int home = RequestIds.nodeHashOf(requestId);
    return named()
        .thenCompose(
            all -> {
              Named homeKeeper =
                  all.stream()
                      .filter(n -> n.node() != null && RequestIds.nodeHash(n.node()) == home)
                      .findFirst()
                      .orElse(null);
              List<Named> others =
                  all.stream().filter(n -> n != homeKeeper && n.node() != null).toList();
              if (homeKeeper == null) {
                // the node that issued the id is the first word on where its story is: a
                // fallback served there may have journaled it there as well as elsewhere, and two
                // keepers must never each take the same correction
                return CompletableFuture.completedFuture(unreachable(requestId));
              }
              return take(homeKeeper.ref(), requestId, label, source, endpoint)
                  .thenCompose(
                      r -> {
                        if (r instanceof FeedbackKeeper.NotHere nh) {
                          return elsewhere(
                              requestId, label, source, endpoint, others, nh.pastRetention());
                        }
                        if (r == null) {
                          return CompletableFuture.completedFuture(unreachable(requestId));
                        }
                        return CompletableFuture.completedFuture(outcome(r));
                      });
            });
  }

  private CompletionStage<FeedbackKeeper.Reply> take(
      ActorRef<FeedbackKeeper.Command> keeper,
      String requestId,
      String label,
      String source,
      String endpoint) {
    return AskPattern.<FeedbackKeeper.Command, FeedbackKeeper.Reply>ask(
            keeper,
            replyTo -> new FeedbackKeeper.Take(requestId, label, source, endpoint, self, replyTo),
            timeout,
            system.scheduler())
        .exceptionally(timedOut -> null);
  }

  /**
   * Asks {@code others} whether they hold the story and has the first that does take it; {@code
   * homePastRetention}: what the node that issued the id said when it did not hold it.
   */
  private CompletionStage<Outcome> elsewhere(
      String requestId,
      String label,
      String source,
      String endpoint,
      List<Named> others,
      boolean homePastRetention) {
    List<CompletableFuture<FeedbackKeeper.Reply>> asks = new ArrayList<>();
    for (Named n : others) {
      asks.add(
          AskPattern.<FeedbackKeeper.Command, FeedbackKeeper.Reply>ask(
                  n.ref(),
                  replyTo -> new FeedbackKeeper.Find(requestId, replyTo),
                  timeout,
                  system.scheduler())
              .toCompletableFuture()
              .exceptionally(timedOut -> null));
    }
    return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
        .thenCompose(
            v -> {
              boolean allAnswered = true;
              boolean pastRetention = homePastRetention;
              for (int i = 0; i < asks.size(); i++) {
                FeedbackKeeper.Reply r = asks.get(i).join();
                if (r instanceof FeedbackKeeper.Here) {
                  Named holder = others.get(i);
                  return take(holder.ref(), requestId, label, source, endpoint)
                      .thenApply(
                          t ->
                              t == null
                                  ? new Outcome(
                                      503,
                                      null,
                                      "node "
                                          + holder.node()
                                          + " holds request "
                                          + requestId
                                          + " but did not answer in "
                                          + timeout.toMillis()
                                          + " ms")
                                  : outcome(t));
                }
                allAnswered &= r != null;
                pastRetention &= r instanceof FeedbackKeeper.NotHere nh && nh.pastRetention();
              }
              if (!allAnswered) {
                return CompletableFuture.completedFuture(
                    new Outcome(
                        503,
                        null,
                        "request "
                            + requestId
                            + " is not in the journal of the node that took it, and a node that"
                            + " may hold it did not answer: try again"));
              }
              return CompletableFuture.completedFuture(
                  new Outcome(
                      404,
                      null,
                      "no node's journal holds request "
                          + requestId
                          + (pastRetention ? " (it is older than the journals keep)" : "")));
            });
  }

  private static Outcome unreachable(String requestId) {
    return new Outcome(
        503,
        null,
        "request "
            + requestId
            + " was taken by a node that is not reachable now (its journal may hold it): try"
            + " again");
  }

  private static Outcome outcome(FeedbackKeeper.Reply r) {
    if (r instanceof FeedbackKeeper.Taken) {
      return new Outcome(200, r, null);
    }
    if (r instanceof FeedbackKeeper.Refused refused) {
      return new Outcome(refused.status(), r, refused.error());
    }
    return new Outcome(500, r, "unexpected reply " + r);
  }
}
