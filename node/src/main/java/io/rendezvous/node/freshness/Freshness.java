package io.rendezvous.node.freshness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.config.CborSerializable;
import io.rendezvous.journal.Journal;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.model.ModelRef;
import io.rendezvous.model.ModelStore;
import io.rendezvous.node.ModelArchive;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.stream.UniqueKillSwitch;

/**
 * The freshness trainer: one in the cluster (a cluster singleton), it keeps its endpoint's models
 * fresh from the corrections users give. It reads the joined corrections from the feedback topic;
 * when a model has {@code retrain-after-corrections} new ones (or {@code retrain-every} has passed
 * with some), it trains a new version from the shipped training part plus the corrections not held
 * out, in a low-priority child process ({@link ChildTrainer}). A candidate that passes the checks
 * ({@link FreshnessPolicy#check}: the hold-out floor, no worse than live by more than the allowed
 * drop, better than live on the held-out corrections) is uploaded through the lifecycle admin API
 * and made a shadow on every node. From the corrections that come while it is a shadow (its own
 * score and live's, joined to the user's label) it is promoted (the old live becomes the canary) or
 * withdrawn; after promotion, on the corrections that follow, it is rolled back when it does worse
 * than the canary by the margin, or declared stable. Every step is a journal {@code lifecycle}
 * record ({@code freshness-*}), a metric, and visible in {@code GET /admin/freshness}.
 *
 * <p>One model at a time trains; each model has at most one candidate in flight.
 */
public final class Freshness extends AbstractBehavior<Freshness.Command> {

  public sealed interface Command extends CborSerializable {}

  /** The trainer's state as JSON ({@code GET /admin/freshness}). */
  public record GetStatus(ActorRef<Status> replyTo) implements Command {}

  public record Status(String json) implements CborSerializable {}

  /**
   * Train {@code model} now, whatever the count of new corrections ({@code shuffleLabels}: a
   * deliberately bad version, on shuffled labels, through the same path).
   */
  public record TrainNow(String model, boolean shuffleLabels, ActorRef<Accepted> replyTo)
      implements Command {}

  /** {@code status}: 202 queued, 404 not a model it keeps fresh, 409 busy with it. */
  public record Accepted(int status, String detail) implements CborSerializable {}

  /** A correction from the feedback topic (local only: from this node's consumer). */
  record Corrected(Correction correction) implements Command {}

  private record Trained(String model, long run, JsonNode report, Throwable failure)
      implements Command {}

  private record Stepped(
      String model, String step, String version, LifecycleApi.Answer answer, Throwable failure)
      implements Command {}

  private enum Tick implements Command {
    INSTANCE
  }

  /** The endpoint as it stands when this trainer starts (or the call's failure). */
  private record Found(LifecycleApi.Answer answer, Throwable failure) implements Command {}

  /** Where a model stands. */
  enum Phase {
    IDLE,
    TRAINING,
    UPLOADING,
    SHADOW,
    PROMOTING,
    LIVE,
    ROLLING_BACK,
    WITHDRAWING
  }

  private static final class Target {
    final String model;
    Phase phase = Phase.IDLE;
    long newCorrections;
    Instant lastTraining;
    boolean shuffleNext;
    String liveVersion;
    String candidate;
    String canary;
    Instant phaseSince = Instant.now();
    long judged;
    long candidateRight;
    long otherRight;
    JsonNode lastReport;
    final ArrayDeque<String> history = new ArrayDeque<>();

    Target(String model) {
      this.model = model;
    }
  }

  /** How each step of the trainer is counted (the node's metrics). */
  @FunctionalInterface
  public interface Events {
    void event(String endpoint, String model, String event);
  }

  private static final int HISTORY = 20;

  private static final Duration TICK = Duration.ofSeconds(30);

  // whether this trainer has looked at the endpoint for candidates a predecessor left in flight
  private boolean looked;

  /** Training runs whose directories (set, candidate, log, report) are kept for a look. */
  private static final int RUNS_KEPT = 5;

  private final Instant started = Instant.now();

  private final FreshnessSettings settings;
  private final String node;
  private final Journal journal;
  private final Path journalDir;
  private final ModelStore store;
  private final LifecycleApi api;
  private final Executor blocking;
  private final Events events;
  private final Map<String, Target> targets = new LinkedHashMap<>();
  private final ArrayDeque<Correction> kept = new ArrayDeque<>();
  private final ArrayDeque<Target> waitingToTrain = new ArrayDeque<>();
  private final long startedMicros = nowMicros();
  private final UniqueKillSwitch source;
  private Target training;
  private long runs;
  private long correctionsRead;

  /**
   * {@code source} starts the feedback topic's consumer, telling this actor of each correction; the
   * kill switch stops it when the trainer stops (it moved to another node).
   */
  public static Behavior<Command> create(
      FreshnessSettings settings,
      String node,
      Journal journal,
      Path journalDir,
      ModelStore store,
      LifecycleApi api,
      Executor blocking,
      Events events,
      java.util.function.Function<ActorRef<Command>, UniqueKillSwitch> source) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers ->
                    new Freshness(
                        ctx,
                        timers,
                        settings,
                        node,
                        journal,
                        journalDir,
                        store,
                        api,
                        blocking,
                        events,
                        source.apply(ctx.getSelf()))));
  }

  private Freshness(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      FreshnessSettings settings,
      String node,
      Journal journal,
      Path journalDir,
      ModelStore store,
      LifecycleApi api,
      Executor blocking,
      Events events,
      UniqueKillSwitch source) {
    super(ctx);
    this.journalDir = journalDir;
    this.settings = settings;
    this.node = node;
    this.journal = journal;
    this.store = store;
    this.api = api;
    this.blocking = blocking;
    this.events = events;
    this.source = source;
    for (String m : settings.models()) {
      targets.put(m, new Target(m));
    }
    timers.startTimerWithFixedDelay(Tick.INSTANCE, TICK);
    lookAtEndpoint();
    ctx.getLog()
        .info(
            "freshness: the trainer runs on node {}, keeping {} of endpoint {} fresh (retraining"
                + " after {} new corrections)",
            node,
            settings.models(),
            settings.endpoint(),
            settings.retrainAfterCorrections());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Corrected.class, this::onCorrected)
        .onMessage(Trained.class, this::onTrained)
        .onMessage(Stepped.class, this::onStepped)
        .onMessage(GetStatus.class, g -> reply(g))
        .onMessage(TrainNow.class, this::onTrainNow)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onMessage(Found.class, this::onFound)
        .onSignal(PostStop.class, s -> stopped())
        .build();
  }

  private Behavior<Command> stopped() {
    if (source != null) {
      source.shutdown();
    }
    return this;
  }

  // ---- corrections

  private Behavior<Command> onCorrected(Corrected msg) {
    Correction c = msg.correction();
    if (!settings.endpoint().equals(c.endpoint())) {
      return this;
    }
    correctionsRead++;
    kept.addLast(c);
    while (kept.size() > settings.maxKept()) {
      kept.removeFirst();
    }
    // what came before this trainer started is training data, not news: a trainer that takes over
    // on another node does not retrain at once on what its predecessor had seen
    boolean fresh = c.atMicros() >= startedMicros;
    for (Target t : targets.values()) {
      Correction.Seen live = c.seen(t.model, "live");
      if (live != null && t.phase == Phase.IDLE) {
        t.liveVersion = live.version();
      }
      if (!fresh) {
        continue;
      }
      t.newCorrections++;
      switch (t.phase) {
        case SHADOW -> judgeShadow(t, c);
        case LIVE -> judgeLive(t, c);
        case IDLE -> {
          if (t.newCorrections >= settings.retrainAfterCorrections()) {
            queueTraining(t, false);
          }
        }
        default -> {}
      }
    }
    return this;
  }

  private void judgeShadow(Target t, Correction c) {
    Correction.Seen cand = c.seenVersion(t.model, t.candidate);
    Correction.Seen live = c.seen(t.model, "live");
    if (cand == null || live == null || live.version().equals(t.candidate)) {
      return;
    }
    t.judged++;
    t.candidateRight += cand.top() == c.labelIndex() ? 1 : 0;
    t.otherRight += live.top() == c.labelIndex() ? 1 : 0;
    t.liveVersion = live.version();
    FreshnessPolicy.ShadowStep step =
        FreshnessPolicy.judgeShadow(
            t.judged, t.candidateRight, t.otherRight, shadowTimedOut(t), settings);
    if (step == FreshnessPolicy.ShadowStep.PROMOTE) {
      String member = ModelRef.of(t.model, t.candidate);
      record(
          t,
          "freshness-promoting",
          t.candidate,
          String.format(
              java.util.Locale.ROOT,
              "%s: right on %d of %d corrections while a shadow, live %s on %d: promoting",
              member,
              t.candidateRight,
              t.judged,
              ModelRef.of(t.model, t.liveVersion),
              t.otherRight));
      t.canary = t.liveVersion;
      enter(t, Phase.PROMOTING);
      step(t, "promote", t.candidate, api.promote(settings.endpoint(), member));
    } else if (step == FreshnessPolicy.ShadowStep.WITHDRAW) {
      withdraw(
          t,
          String.format(
              java.util.Locale.ROOT,
              "right on %d of %d corrections while a shadow, live on %d: not better",
              t.candidateRight,
              t.judged,
              t.otherRight));
    }
  }

  private boolean shadowTimedOut(Target t) {
    return Duration.between(t.phaseSince, Instant.now()).compareTo(settings.shadowMaxDuration())
        > 0;
  }

  private void judgeLive(Target t, Correction c) {
    Correction.Seen mine = c.seenVersion(t.model, t.candidate);
    Correction.Seen canary = c.seenVersion(t.model, t.canary);
    if (mine == null || canary == null || !"live".equals(mine.role())) {
      return;
    }
    t.judged++;
    t.candidateRight += mine.top() == c.labelIndex() ? 1 : 0;
    t.otherRight += canary.top() == c.labelIndex() ? 1 : 0;
    FreshnessPolicy.LiveStep step =
        FreshnessPolicy.judgeLive(t.judged, t.candidateRight, t.otherRight, settings);
    String member = ModelRef.of(t.model, t.candidate);
    String figures =
        String.format(
            java.util.Locale.ROOT,
            "right on %d of %d corrections since promotion, the canary %s on %d",
            t.candidateRight,
            t.judged,
            ModelRef.of(t.model, t.canary),
            t.otherRight);
    if (step == FreshnessPolicy.LiveStep.ROLL_BACK) {
      record(t, "freshness-rolling-back", t.candidate, member + ": " + figures + ": rolling back");
      enter(t, Phase.ROLLING_BACK);
      step(
          t,
          "demote",
          t.candidate,
          api.demote(settings.endpoint(), member)
              .thenCompose(
                  a ->
                      a.ok()
                          ? api.remove(settings.endpoint(), member)
                              .thenCompose(r -> r.ok() ? api.retire(t.model, t.candidate) : done(r))
                          : done(a)));
    } else if (step == FreshnessPolicy.LiveStep.STABLE) {
      record(t, "freshness-stable", t.candidate, member + ": " + figures + ": stays live");
      enter(t, Phase.IDLE);
      t.liveVersion = t.candidate;
      t.candidate = null;
      maybeTrain(t);
    }
  }

  // ---- training

  private void queueTraining(Target t, boolean shuffle) {
    if (t.phase != Phase.IDLE || waitingToTrain.contains(t)) {
      return;
    }
    t.shuffleNext = shuffle;
    waitingToTrain.addLast(t);
    startNextTraining();
  }

  private void maybeTrain(Target t) {
    if (t.phase == Phase.IDLE && t.newCorrections >= settings.retrainAfterCorrections()) {
      queueTraining(t, false);
    }
  }

  private void startNextTraining() {
    if (training != null || waitingToTrain.isEmpty()) {
      return;
    }
    Target t = waitingToTrain.removeFirst();
    if (t.liveVersion == null) {
      t.liveVersion = liveVersionOf(t.model);
    }
    if (t.liveVersion == null) {
      record(
          t,
          "freshness-failed",
          null,
          t.model + ": no live version of it is known to compare with");
      startNextTraining();
      return;
    }
    List<Correction> set = List.copyOf(kept);
    long heldOut = set.stream().filter(Correction::heldOut).count();
    training = t;
    long run = ++runs;
    boolean shuffle = t.shuffleNext;
    t.shuffleNext = false;
    t.lastTraining = Instant.now();
    long news = t.newCorrections;
    t.newCorrections = 0;
    enter(t, Phase.TRAINING);
    record(
        t,
        "freshness-training",
        null,
        String.format(
            java.util.Locale.ROOT,
            "%s: training a new version from the shipped training part and %d corrections (%d held"
                + " out, never trained on; %d new since the last)%s, against live %s",
            t.model,
            set.size() - heldOut,
            heldOut,
            news,
            shuffle ? " on SHUFFLED labels" : "",
            ModelRef.of(t.model, t.liveVersion)));
    Path runDir =
        Path.of(settings.workDir())
            .resolve(t.model + "-" + Instant.now().toEpochMilli() + "-" + run);
    ChildTrainer.Request req =
        new ChildTrainer.Request(
            t.model,
            set,
            store.root(),
            t.liveVersion,
            1000 + run,
            settings.correctionWeight(),
            shuffle,
            journalDir,
            settings.endpoint());
    getContext()
        .pipeToSelf(
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    keepLastRuns(runDir.getParent(), RUNS_KEPT);
                    return ChildTrainer.run(req, runDir, settings);
                  } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                  }
                },
                blocking),
            (report, failure) -> new Trained(t.model, run, report, failure));
  }

  /** The newest version in this node's store, when no correction has said which one is live. */
  private String liveVersionOf(String model) {
    try {
      return store.latest(model).orElse(null);
    } catch (java.io.IOException e) {
      return null;
    }
  }

  private Behavior<Command> onTrained(Trained m) {
    Target t = targets.get(m.model());
    training = null;
    if (m.failure() != null) {
      Throwable cause =
          m.failure() instanceof java.util.concurrent.CompletionException ce
                  && ce.getCause() != null
              ? ce.getCause()
              : m.failure();
      getContext().getLog().error("freshness: training {} failed", m.model(), cause);
      record(t, "freshness-failed", null, m.model() + ": training failed: " + cause.getMessage());
      enter(t, Phase.IDLE);
      startNextTraining();
      return this;
    }
    t.lastReport = m.report();
    FreshnessPolicy.Verdict v = FreshnessPolicy.check(evaluation(m.report()), settings);
    JsonNode cand = m.report().get("candidate");
    if (!v.passed()) {
      record(
          t,
          "freshness-rejected",
          null,
          m.model()
              + " (trained as "
              + cand.path("version").asText()
              + " in "
              + m.report().path("train_millis").asLong()
              + " ms): "
              + v.summary()
              + recent(m.report())
              + "; rejected: "
              + String.join("; ", v.reasons()));
      enter(t, Phase.IDLE);
      startNextTraining();
      return this;
    }
    Path dir = Path.of(cand.get("dir").asText());
    enter(t, Phase.UPLOADING);
    record(
        t,
        "freshness-checked",
        null,
        m.model() + ": " + v.summary() + recent(m.report()) + "; passed, uploading as a shadow");
    CompletionStage<LifecycleApi.Answer> uploaded =
        CompletableFuture.supplyAsync(
                () -> {
                  try {
                    ByteArrayOutputStream tar = new ByteArrayOutputStream();
                    ModelArchive.pack(dir, tar);
                    return tar.toByteArray();
                  } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                },
                blocking)
            .thenCompose(bytes -> api.upload(m.model(), bytes));
    step(t, "upload", null, uploaded);
    startNextTraining();
    return this;
  }

  /** What the replay of recent traffic said, as a clause; empty without one. */
  static String recent(JsonNode report) {
    JsonNode r = report.path("recent_traffic");
    JsonNode versions = r.path("versions");
    if (versions.size() < 2 || r.path("inputs").asLong() == 0) {
      return "";
    }
    return String.format(
        java.util.Locale.ROOT,
        "; replayed on %d recent requests it agrees with the answers given on %.1f%% (live %.1f%%)",
        r.path("inputs").asLong(),
        100 * versions.get(0).path("agreement_with_answers").asDouble(),
        100 * versions.get(1).path("agreement_with_answers").asDouble());
  }

  /** The report's figures, as the checks read them. */
  public static FreshnessPolicy.Evaluation evaluation(JsonNode report) {
    JsonNode cand = report.get("candidate");
    JsonNode live = report.get("live");
    return new FreshnessPolicy.Evaluation(
        cand.get("holdout_accuracy").asDouble(),
        live.get("holdout_accuracy").asDouble(),
        report.get("held_out").asLong(),
        cand.get("held_out_right").asLong(),
        live.get("held_out_right").asLong());
  }

  // ---- the lifecycle API's answers

  private void step(
      Target t, String step, String version, CompletionStage<LifecycleApi.Answer> call) {
    getContext().pipeToSelf(call, (a, failure) -> new Stepped(t.model, step, version, a, failure));
  }

  private static CompletionStage<LifecycleApi.Answer> done(LifecycleApi.Answer a) {
    return CompletableFuture.completedFuture(a);
  }

  private Behavior<Command> onStepped(Stepped s) {
    Target t = targets.get(s.model());
    String why =
        s.failure() != null
            ? String.valueOf(s.failure().getMessage())
            : s.answer().ok() ? null : s.answer().status() + " " + s.answer().why();
    switch (s.step()) {
      case "upload" -> {
        if (why != null) {
          record(t, "freshness-failed", null, t.model + ": the upload failed: " + why);
          enter(t, Phase.IDLE);
          return this;
        }
        t.candidate = s.answer().body().path("version").asText();
        String member = ModelRef.of(t.model, t.candidate);
        step(t, "shadow", t.candidate, api.role(settings.endpoint(), member, "shadow"));
      }
      case "shadow" -> {
        if (why != null) {
          record(
              t,
              "freshness-failed",
              s.version(),
              ModelRef.of(t.model, s.version()) + " could not become a shadow: " + why);
          enter(t, Phase.IDLE);
          retireQuietly(t.model, s.version());
          t.candidate = null;
          return this;
        }
        enter(t, Phase.SHADOW);
        record(
            t,
            "freshness-shadow",
            t.candidate,
            ModelRef.of(t.model, t.candidate)
                + " is a shadow of endpoint "
                + settings.endpoint()
                + " on every node ("
                + nodes(s.answer())
                + "); judged against live "
                + ModelRef.of(t.model, t.liveVersion)
                + " on the corrections to come");
      }
      case "promote" -> {
        if (why != null) {
          record(t, "freshness-failed", t.candidate, "promoting failed: " + why);
          withdraw(t, "it could not be promoted");
          return this;
        }
        enter(t, Phase.LIVE);
        record(
            t,
            "freshness-promoted",
            t.candidate,
            ModelRef.of(t.model, t.candidate)
                + " is live on endpoint "
                + settings.endpoint()
                + "; "
                + ModelRef.of(t.model, t.canary)
                + " is the canary ("
                + nodes(s.answer())
                + ")");
        cleanUpShadows(t);
      }
      case "demote" -> {
        if (why != null) {
          record(t, "freshness-failed", t.candidate, "rolling back failed: " + why);
        } else {
          record(
              t,
              "freshness-rolled-back",
              t.candidate,
              ModelRef.of(t.model, t.canary)
                  + " is live again; "
                  + ModelRef.of(t.model, t.candidate)
                  + " taken out and retired");
          t.liveVersion = t.canary;
        }
        t.candidate = null;
        enter(t, Phase.IDLE);
        maybeTrain(t);
      }
      case "withdraw" -> {
        if (why != null) {
          record(t, "freshness-failed", s.version(), "withdrawing failed: " + why);
        }
        t.candidate = null;
        enter(t, Phase.IDLE);
        maybeTrain(t);
      }
      default -> {
        if (why != null) {
          getContext().getLog().warn("freshness: {} {} failed: {}", s.step(), s.version(), why);
        }
      }
    }
    return this;
  }

  private void withdraw(Target t, String reason) {
    String member = ModelRef.of(t.model, t.candidate);
    record(
        t, "freshness-withdrawn", t.candidate, member + ": " + reason + "; taken out and retired");
    enter(t, Phase.WITHDRAWING);
    step(
        t,
        "withdraw",
        t.candidate,
        api.remove(settings.endpoint(), member)
            .thenCompose(r -> r.ok() ? api.retire(t.model, t.candidate) : done(r)));
  }

  /** After a promotion: an older canary the promotion made a shadow is taken out and retired. */
  private void cleanUpShadows(Target t) {
    api.endpoint(settings.endpoint())
        .thenAccept(
            a -> {
              if (!a.ok()) {
                return;
              }
              for (JsonNode m : a.body().path("models")) {
                ModelRef ref = ModelRef.parse(m.path("model").asText());
                if (ref.name().equals(t.model)
                    && ref.versioned()
                    && "shadow".equals(m.path("role").asText())
                    && !ref.version().equals(t.candidate)) {
                  api.remove(settings.endpoint(), ref.toString())
                      .thenCompose(r -> r.ok() ? api.retire(ref.name(), ref.version()) : done(r))
                      .thenAccept(
                          r ->
                              getContext()
                                  .getSelf()
                                  .tell(new Stepped(t.model, "cleanup", ref.version(), r, null)));
                }
              }
            });
  }

  private void retireQuietly(String model, String version) {
    if (version != null) {
      api.retire(model, version);
    }
  }

  private static String nodes(LifecycleApi.Answer a) {
    JsonNode n = a.body().path("nodes");
    return n.isMissingNode() ? "status " + a.status() : n.size() + " nodes, status " + a.status();
  }

  // ---- admin

  private Behavior<Command> onTrainNow(TrainNow m) {
    Target t = targets.get(m.model());
    if (t == null) {
      m.replyTo()
          .tell(
              new Accepted(
                  404,
                  "the trainer keeps " + settings.models() + " fresh, not '" + m.model() + "'"));
      return this;
    }
    if (t.phase != Phase.IDLE || waitingToTrain.contains(t)) {
      m.replyTo()
          .tell(
              new Accepted(
                  409,
                  m.model()
                      + " is "
                      + t.phase.name().toLowerCase(java.util.Locale.ROOT)
                      + (waitingToTrain.contains(t) ? " (queued)" : "")
                      + ": one candidate at a time"));
      return this;
    }
    if (kept.isEmpty()) {
      m.replyTo().tell(new Accepted(409, "no corrections yet to train on"));
      return this;
    }
    queueTraining(t, m.shuffleLabels());
    m.replyTo()
        .tell(
            new Accepted(
                202,
                m.model()
                    + ": training"
                    + (m.shuffleLabels() ? " on shuffled labels" : "")
                    + (training == t ? " now" : ", queued")));
    return this;
  }

  /**
   * A trainer that takes over (its predecessor's node left) finds the candidates it left in flight
   * in the endpoint: a shadow newer than live is judged as a shadow again, a live version with a
   * canary of its model is watched again, both on the corrections to come.
   */
  private void lookAtEndpoint() {
    getContext().pipeToSelf(api.endpoint(settings.endpoint()), Found::new);
  }

  private Behavior<Command> onFound(Found f) {
    if (looked) {
      return this;
    }
    if (f.failure() != null || !f.answer().ok()) {
      // the node's HTTP server not bound yet, or the endpoint not there yet: the next tick asks
      // again
      return this;
    }
    looked = true;
    for (Target t : targets.values()) {
      if (t.phase != Phase.IDLE) {
        continue;
      }
      String live = null;
      String shadow = null;
      String canary = null;
      for (JsonNode m : f.answer().body().path("models")) {
        ModelRef ref = ModelRef.parse(m.path("model").asText());
        if (!ref.name().equals(t.model) || !ref.versioned()) {
          continue;
        }
        switch (m.path("role").asText()) {
          case "live" -> live = ref.version();
          case "shadow" -> shadow = newer(shadow, ref.version());
          case "canary" -> canary = ref.version();
          default -> {}
        }
      }
      if (live == null) {
        continue;
      }
      t.liveVersion = live;
      if (shadow != null && Long.parseLong(shadow) > Long.parseLong(live)) {
        t.candidate = shadow;
        enter(t, Phase.SHADOW);
        record(
            t,
            "freshness-adopted",
            shadow,
            ModelRef.of(t.model, shadow)
                + " found a shadow by a new trainer; judged against live "
                + ModelRef.of(t.model, live)
                + " on the corrections to come");
      } else if (canary != null) {
        t.candidate = live;
        t.canary = canary;
        enter(t, Phase.LIVE);
        record(
            t,
            "freshness-adopted",
            live,
            ModelRef.of(t.model, live)
                + " found live with the canary "
                + ModelRef.of(t.model, canary)
                + " by a new trainer; watched on the corrections to come");
      }
    }
    return this;
  }

  private static String newer(String a, String b) {
    return a == null || Long.parseLong(b) > Long.parseLong(a) ? b : a;
  }

  private Behavior<Command> onTick() {
    if (!looked) {
      lookAtEndpoint();
    }
    for (Target t : targets.values()) {
      Instant since = t.lastTraining != null ? t.lastTraining : started;
      if (t.phase == Phase.IDLE
          && t.newCorrections > 0
          && Duration.between(since, Instant.now()).compareTo(settings.retrainEvery()) >= 0) {
        queueTraining(t, false);
      }
      if (t.phase == Phase.SHADOW && shadowTimedOut(t)) {
        withdraw(t, "no verdict within " + settings.shadowMaxDuration());
      }
    }
    return this;
  }

  private Behavior<Command> reply(GetStatus g) {
    ObjectNode o = Json.object();
    o.put("node", node);
    o.put("endpoint", settings.endpoint());
    o.put("corrections_read", correctionsRead);
    o.put("corrections_kept", kept.size());
    o.put("held_out_share", settings.heldOutShare());
    o.put("retrain_after_corrections", settings.retrainAfterCorrections());
    o.put("training", training == null ? null : training.model);
    ArrayNode models = o.putArray("models");
    for (Target t : targets.values()) {
      ObjectNode m = models.addObject();
      m.put("model", t.model);
      m.put("phase", t.phase.name().toLowerCase(java.util.Locale.ROOT));
      m.put("since", t.phaseSince.toString());
      m.put("new_corrections", t.newCorrections);
      m.put("live", t.liveVersion == null ? null : ModelRef.of(t.model, t.liveVersion));
      m.put("candidate", t.candidate == null ? null : ModelRef.of(t.model, t.candidate));
      m.put("canary", t.canary == null ? null : ModelRef.of(t.model, t.canary));
      if (t.phase == Phase.SHADOW || t.phase == Phase.LIVE) {
        ObjectNode j = m.putObject("judged");
        j.put("corrections", t.judged);
        j.put("candidate_right", t.candidateRight);
        j.put(t.phase == Phase.SHADOW ? "live_right" : "canary_right", t.otherRight);
      }
      if (t.lastReport != null) {
        ObjectNode r = m.putObject("last_training");
        r.put("trained_corrections", t.lastReport.path("trained_corrections").asLong());
        r.put("held_out", t.lastReport.path("held_out").asLong());
        r.put("shuffled_labels", t.lastReport.path("shuffled_labels").asBoolean());
        r.put("train_millis", t.lastReport.path("train_millis").asLong());
        r.set("candidate", t.lastReport.path("candidate"));
        r.set("live", t.lastReport.path("live"));
      }
      ArrayNode h = m.putArray("history");
      t.history.forEach(h::add);
    }
    g.replyTo().tell(new Status(o.toString()));
    return this;
  }

  // ---- the story

  private void enter(Target t, Phase p) {
    if (t.phase != p) {
      t.phase = p;
      t.phaseSince = Instant.now();
      if (p == Phase.IDLE) {
        // the corrections that judged the candidate just settled are not news that calls for
        // another: the model is retrained on the next retrain-after-corrections that come
        t.newCorrections = 0;
      }
      if (p == Phase.SHADOW || p == Phase.LIVE) {
        t.judged = 0;
        t.candidateRight = 0;
        t.otherRight = 0;
      }
    }
  }

  /** A step of the story: journaled, counted, logged, and kept for the admin API. */
  private void record(Target t, String event, String version, String detail) {
    getContext().getLog().info("freshness: {} {}", event, detail);
    events.event(settings.endpoint(), t.model, event.substring("freshness-".length()));
    t.history.addLast(Instant.now() + " " + event + ": " + detail);
    while (t.history.size() > HISTORY) {
      t.history.removeFirst();
    }
    journal.offer(
        new JournalRecord.Lifecycle(
            UUID.randomUUID().toString(),
            node,
            settings.endpoint(),
            nowMicros(),
            event,
            t.model,
            version,
            0,
            detail),
        null);
  }

  private static long nowMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
  }

  /** A run directory's files are kept for a look; older runs than the last few are deleted. */
  static void keepLastRuns(Path workDir, int keep) {
    try (var dirs = Files.list(workDir)) {
      List<Path> all = new ArrayList<>(dirs.filter(Files::isDirectory).sorted().toList());
      for (int i = 0; i < all.size() - keep; i++) {
        deleteTree(all.get(i));
      }
    } catch (java.io.IOException ignored) {
      // a work directory that cannot be listed is not worth failing a training for
    }
  }

  private static void deleteTree(Path p) throws java.io.IOException {
    try (var walk = Files.walk(p)) {
      for (Path f : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(f);
      }
    }
  }
}
