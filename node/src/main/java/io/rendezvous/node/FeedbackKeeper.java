package io.rendezvous.node;

import io.rendezvous.actors.schedule.Rewards;
import io.rendezvous.config.CborSerializable;
import io.rendezvous.journal.Journal;
import io.rendezvous.journal.JournalLookup;
import io.rendezvous.journal.JournalRecord;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * One per node: takes corrections of the requests whose stories this node's journal holds. It finds
 * the story ({@link JournalLookup}), joins the correction to it (the input as the models saw it,
 * every score, the answer the client got), journals the joined record, and remembers the (request
 * id, source) in its {@link FeedbackLedger} so that the same correction sent again is one record.
 * Because the story's node is the one owner of its corrections, no two nodes can each take the same
 * one. Registered with the Receptionist; any node's {@link FeedbackClient} asks it.
 */
final class FeedbackKeeper extends AbstractBehavior<FeedbackKeeper.Command> {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(FeedbackKeeper.class);

  static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "rendezvous-feedback");

  sealed interface Command extends CborSerializable {}

  /** Which node this keeper is on (its name, as request ids hash it). */
  record WhoAreYou(ActorRef<Reply> replyTo) implements Command {}

  /** Whether this node's journal holds the story of {@code requestId}: nothing is written. */
  record Find(String requestId, ActorRef<Reply> replyTo) implements Command {}

  /**
   * Take the correction: {@code label} (a label of the endpoint, or its index) from {@code source};
   * {@code endpoint} non-null when the client named the endpoint the request went to.
   */
  record Take(
      String requestId,
      String label,
      String source,
      String endpoint,
      String receivedBy,
      ActorRef<Reply> replyTo)
      implements Command {}

  sealed interface Reply extends CborSerializable {
    String node();
  }

  record Name(String node) implements Reply {}

  /** This node's journal holds the story ({@link Find}). */
  record Here(String node) implements Reply {}

  /** Not in this node's journal; {@code pastRetention}: older than anything it still keeps. */
  record NotHere(String node, boolean pastRetention) implements Reply {}

  /**
   * The correction is joined and journaled on {@code node} ({@code duplicate}: it had been, by an
   * earlier identical request). {@code answered}/{@code answeredBy}: the label the client got and
   * the model version that gave it (null when no answer was recorded).
   */
  record Taken(
      String node,
      String requestId,
      String endpoint,
      String label,
      int labelIndex,
      String answered,
      String answeredBy,
      int scores,
      boolean duplicate)
      implements Reply {}

  /**
   * What a correction taken on some node said of each model version's own score for it (its top
   * label right or wrong): every keeper hears it and adds it to its node's {@link Rewards}, which
   * Thompson sampling draws from.
   */
  record Learn(String endpoint, List<Reward> rewards) implements Command {}

  /** Version {@code version} of {@code model} scored the corrected label highest, or not. */
  record Reward(String model, String version, boolean correct) implements CborSerializable {}

  private record Keepers(java.util.Set<ActorRef<Command>> all) implements Command {}

  /** Refused with an HTTP-style status (409, 422, 400, 503) and why. */
  record Refused(String node, int status, String error) implements Reply {}

  private record Looked(Take take, JournalLookup.Result result, Throwable failure)
      implements Command {}

  private record Acked(Journal.Ack ack) implements Command {}

  private record Remembered(FeedbackLedger.Entry entry, Throwable failure) implements Command {}

  private record Probed(Find find, JournalLookup.Result result, Throwable failure)
      implements Command {}

  private final String node;
  private final JournalLookup lookup;
  private final Journal journal;
  private final FeedbackLedger ledger;
  private final BiFunction<String, JournalLookup.Story, List<String>> labels;
  private final java.util.function.ToIntFunction<String> modelsOf;
  private final Executor blocking;
  private final ActorRef<Journal.Ack> ackTo;
  // corrections being looked up or written, by key: every Take of the same key waits on the first
  private final Map<FeedbackLedger.Key, List<Take>> inFlight = new HashMap<>();
  // offered to the journal, in the order offered (the journal acknowledges in that order)
  private final ArrayDeque<Pending> offered = new ArrayDeque<>();

  private record Pending(FeedbackLedger.Key key, FeedbackLedger.Entry entry, Learn learn) {}

  private final Rewards rewards;
  // every node's keeper, this one's included (the Receptionist's listing)
  private java.util.Set<ActorRef<Command>> keepers = java.util.Set.of();

  static Behavior<Command> create(
      String node,
      JournalLookup lookup,
      Journal journal,
      FeedbackLedger ledger,
      BiFunction<String, JournalLookup.Story, List<String>> labels,
      java.util.function.ToIntFunction<String> modelsOf,
      Rewards rewards,
      Executor blocking) {
    return Behaviors.setup(
        ctx -> {
          ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
          ctx.getSystem()
              .receptionist()
              .tell(
                  Receptionist.subscribe(
                      KEY,
                      ctx.messageAdapter(
                          Receptionist.Listing.class,
                          l -> new Keepers(java.util.Set.copyOf(l.getServiceInstances(KEY))))));
          return new FeedbackKeeper(
              ctx, node, lookup, journal, ledger, labels, modelsOf, rewards, blocking);
        });
  }

  private FeedbackKeeper(
      ActorContext<Command> ctx,
      String node,
      JournalLookup lookup,
      Journal journal,
      FeedbackLedger ledger,
      BiFunction<String, JournalLookup.Story, List<String>> labels,
      java.util.function.ToIntFunction<String> modelsOf,
      Rewards rewards,
      Executor blocking) {
    super(ctx);
    this.rewards = rewards;
    this.node = node;
    this.lookup = lookup;
    this.journal = journal;
    this.ledger = ledger;
    this.labels = labels;
    this.modelsOf = modelsOf;
    this.blocking = blocking;
    this.ackTo = ctx.messageAdapter(Journal.Ack.class, Acked::new);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(WhoAreYou.class, w -> reply(w.replyTo(), new Name(node)))
        .onMessage(Find.class, this::onFind)
        .onMessage(Probed.class, this::onProbed)
        .onMessage(Take.class, this::onTake)
        .onMessage(Looked.class, this::onLooked)
        .onMessage(Acked.class, this::onAcked)
        .onMessage(Remembered.class, this::onRemembered)
        .onMessage(Keepers.class, k -> remember(k.all()))
        .onMessage(Learn.class, this::onLearn)
        .build();
  }

  private Behavior<Command> remember(java.util.Set<ActorRef<Command>> all) {
    keepers = all;
    return this;
  }

  private Behavior<Command> onLearn(Learn l) {
    for (Reward r : l.rewards()) {
      rewards.record(l.endpoint(), r.model(), r.version(), r.correct());
    }
    return this;
  }

  private Behavior<Command> reply(ActorRef<Reply> to, Reply r) {
    to.tell(r);
    return this;
  }

  private Behavior<Command> onFind(Find f) {
    getContext()
        .pipeToSelf(
            CompletableFuture.supplyAsync(() -> find(f.requestId()), blocking),
            (r, failure) -> new Probed(f, r, failure));
    return this;
  }

  private Behavior<Command> onProbed(Probed p) {
    if (p.failure() != null) {
      getContext()
          .getLog()
          .warn("feedback: looking for request {} failed", p.find().requestId(), p.failure());
      return reply(
          p.find().replyTo(),
          new Refused(node, 503, "this node's journal could not be read (its log says why)"));
    }
    return reply(
        p.find().replyTo(),
        p.result().found() ? new Here(node) : new NotHere(node, p.result().pastRetention()));
  }

  private Behavior<Command> onTake(Take t) {
    FeedbackLedger.Key key = new FeedbackLedger.Key(t.requestId(), t.source());
    FeedbackLedger.Entry known = ledger.get(key);
    if (known != null) {
      return reply(t.replyTo(), repeat(known, t));
    }
    List<Take> waiting = inFlight.get(key);
    if (waiting != null) {
      waiting.add(t);
      return this;
    }
    List<Take> first = new ArrayList<>();
    first.add(t);
    inFlight.put(key, first);
    getContext()
        .pipeToSelf(
            CompletableFuture.supplyAsync(() -> find(t.requestId()), blocking),
            (r, failure) -> new Looked(t, r, failure));
    return this;
  }

  /** The story of {@code requestId} in this node's journal (on the blocking dispatcher). */
  private JournalLookup.Result find(String requestId) {
    long start = System.nanoTime();
    JournalLookup.Result r = lookup.find(requestId, modelsOf);
    log.debug(
        "feedback: request {} {} after reading {} record headers in {} us",
        requestId,
        r.found() ? "found" : "not found",
        r.examined(),
        (System.nanoTime() - start) / 1_000);
    return r;
  }

  /** The answer to a correction already taken: the same, or 409 when it says another label. */
  private Reply repeat(FeedbackLedger.Entry known, Take t) {
    if (!known.label().equals(t.label())
        && !known.label().equalsIgnoreCase(t.label())
        && !Integer.toString(known.labelIndex()).equals(t.label())) {
      return new Refused(
          node,
          409,
          "request "
              + t.requestId()
              + " was already corrected by source '"
              + t.source()
              + "' as '"
              + known.label()
              + "'; one correction per request and source");
    }
    return new Taken(
        node,
        known.requestId(),
        known.endpoint(),
        known.label(),
        known.labelIndex(),
        known.answered(),
        known.answeredBy(),
        known.scores(),
        true);
  }

  private Behavior<Command> onLooked(Looked l) {
    Take t = l.take();
    FeedbackLedger.Key key = new FeedbackLedger.Key(t.requestId(), t.source());
    if (l.failure() != null) {
      getContext()
          .getLog()
          .warn("feedback: looking for request {} failed", t.requestId(), l.failure());
      return finish(
          key, new Refused(node, 503, "this node's journal could not be read (its log says why)"));
    }
    JournalLookup.Result result = l.result();
    if (!result.found()) {
      return finish(key, new NotHere(node, result.pastRetention()));
    }
    JournalLookup.Story story = result.story();
    String endpoint = story.input().endpoint();
    if (t.endpoint() != null && !t.endpoint().equals(endpoint)) {
      return finish(
          key,
          new Refused(
              node,
              400,
              "request "
                  + t.requestId()
                  + " went to endpoint '"
                  + endpoint
                  + "', not '"
                  + t.endpoint()
                  + "'"));
    }
    List<String> known = labels.apply(endpoint, story);
    int index = labelIndex(known, t.label());
    if (index < 0) {
      return finish(
          key,
          new Refused(
              node,
              422,
              "'"
                  + t.label()
                  + "' is not a label of endpoint '"
                  + endpoint
                  + "'"
                  + (known.isEmpty() ? " (its labels are unknown)" : "; its labels: " + known)));
    }
    JournalRecord.Answer answer = story.answer();
    JournalRecord.Feedback record =
        new JournalRecord.Feedback(
            t.requestId(),
            node,
            endpoint,
            nowMicros(),
            t.source(),
            known.get(index),
            index,
            t.receivedBy(),
            story.input(),
            story.scores(),
            answer);
    FeedbackLedger.Entry entry =
        new FeedbackLedger.Entry(
            t.requestId(),
            t.source(),
            endpoint,
            known.get(index),
            index,
            answer == null ? null : answer.label(),
            answer == null || answer.model() == null
                ? null
                : answer.model() + (answer.version() == null ? "" : "@" + answer.version()),
            story.scores().size(),
            record.atMicros());
    if (!journal.offer(record, ackTo)) {
      String why = journal.unwritableReason();
      return finish(
          key,
          new Refused(
              node,
              503,
              "this node's journal is not taking records"
                  + (why == null ? " (its queue is full)" : ": " + why)));
    }
    offered.add(new Pending(key, entry, learn(record)));
    return this;
  }

  private Behavior<Command> onAcked(Acked a) {
    Pending p = offered.poll();
    if (p == null) {
      return this;
    }
    if (a.ack() instanceof Journal.NotWritten nw) {
      getContext()
          .getLog()
          .error(
              "feedback: the correction of request {} from {} was not journaled: {}",
              p.key().requestId(),
              p.key().source(),
              nw.reason());
      return finish(
          p.key(), new Refused(node, 503, "this node's journal did not write it: " + nw.reason()));
    }
    ledger.put(p.entry());
    // every node's Thompson sampling learns of it; its own keeper too, even before it is listed
    getContext().getSelf().tell(p.learn());
    for (ActorRef<Command> k : keepers) {
      if (!k.equals(getContext().getSelf())) {
        k.tell(p.learn());
      }
    }
    getContext()
        .pipeToSelf(
            CompletableFuture.runAsync(
                () -> {
                  try {
                    ledger.append(p.entry());
                  } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                },
                blocking),
            (ok, failure) -> new Remembered(p.entry(), failure));
    return this;
  }

  private Behavior<Command> onRemembered(Remembered r) {
    FeedbackLedger.Entry e = r.entry();
    if (r.failure() != null) {
      // journaled all the same: only a repeat after a restart could be taken twice
      getContext()
          .getLog()
          .error(
              "feedback: the ledger could not record the correction of request {} from {}",
              e.requestId(),
              e.source(),
              r.failure());
    }
    FeedbackLedger.Key key = new FeedbackLedger.Key(e.requestId(), e.source());
    List<Take> waiting = inFlight.remove(key);
    if (waiting != null) {
      boolean first = true;
      for (Take t : waiting) {
        Reply reply = repeat(e, t);
        if (first && reply instanceof Taken taken) {
          reply =
              new Taken(
                  node,
                  taken.requestId(),
                  taken.endpoint(),
                  taken.label(),
                  taken.labelIndex(),
                  taken.answered(),
                  taken.answeredBy(),
                  taken.scores(),
                  false);
        }
        first = false;
        t.replyTo().tell(reply);
      }
    }
    return this;
  }

  /** Replies to every Take of {@code key} waiting (none was journaled). */
  private Behavior<Command> finish(FeedbackLedger.Key key, Reply reply) {
    List<Take> waiting = inFlight.remove(key);
    if (waiting != null) {
      waiting.forEach(t -> t.replyTo().tell(reply));
    }
    return this;
  }

  /**
   * What the correction says of each score that has probabilities (scored in time or late): whether
   * its top label is the corrected one.
   */
  static Learn learn(JournalRecord.Feedback f) {
    List<Reward> out = new ArrayList<>();
    for (JournalRecord.Score s : f.scores()) {
      float[] p = s.probabilities();
      if (p == null || p.length == 0) {
        continue;
      }
      out.add(
          new Reward(
              s.model(),
              s.version(),
              io.rendezvous.model.Probabilities.argmax(p) == f.labelIndex()));
    }
    return new Learn(f.endpoint(), List.copyOf(out));
  }

  /**
   * The index of {@code label} among {@code labels}: the label itself, the same ignoring case, or
   * its index written as a number; -1 when it is none of them.
   */
  static int labelIndex(List<String> labels, String label) {
    int exact = labels.indexOf(label);
    if (exact >= 0) {
      return exact;
    }
    for (int i = 0; i < labels.size(); i++) {
      if (labels.get(i).toLowerCase(Locale.ROOT).equals(label.toLowerCase(Locale.ROOT))) {
        return i;
      }
    }
    try {
      int i = Integer.parseInt(label.trim());
      return i >= 0 && i < labels.size() ? i : -1;
    } catch (NumberFormatException notANumber) {
      return -1;
    }
  }

  private static long nowMicros() {
    java.time.Instant now = java.time.Instant.now();
    return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
  }
}
