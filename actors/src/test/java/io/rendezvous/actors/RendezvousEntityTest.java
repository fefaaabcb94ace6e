package io.rendezvous.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.rendezvous.actors.EndpointSettings.Stage;
import io.rendezvous.actors.Reply.Prediction;
import io.rendezvous.actors.Reply.Rejected;
import io.rendezvous.actors.schedule.DeadlinePriority;
import io.rendezvous.journal.Journal;
import io.rendezvous.journal.JournalReader;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.journal.JournalRecord.Outcome;
import io.rendezvous.journal.JournalSettings;
import io.rendezvous.journal.JournalWriter;
import io.rendezvous.model.TensorData;
import io.rendezvous.model.TensorSpec;
import io.rendezvous.workers.ModelPool;
import io.rendezvous.workers.WorkerDirectory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deadline schedule, driven by manual time and test workers that answer on cue, fail, or never
 * answer. Default schedule: m3 at 0, m2 from 15 ms, m1 from 30 ms; SLA 50 ms, journal margin 5 ms.
 */
class RendezvousEntityTest {
  static final ActorTestKit testKit =
      ActorTestKit.create(ManualTime.config().withFallback(ConfigFactory.load()));
  static final ManualTime time = ManualTime.get(testKit.system());
  static final TensorSpec INPUT = new TensorSpec("input", "float32", List.of(-1L, 4L));
  static final AtomicInteger ids = new AtomicInteger();

  /** The entity's clock, moved together with manual time. */
  static final java.util.concurrent.atomic.AtomicLong clock =
      new java.util.concurrent.atomic.AtomicLong();

  static void passes(Duration d) {
    clock.addAndGet(d.toNanos());
    time.timePasses(d);
  }

  RendezvousRuntime runtime(EndpointSettings ep) {
    return runtime(ep, journal);
  }

  RendezvousRuntime runtime(EndpointSettings ep, io.rendezvous.journal.Journal j) {
    return new RendezvousRuntime(
        "test-node", Map.of("ep", ep), directory, j, clock::get, Duration.ZERO);
  }

  @TempDir Path dir;
  JournalWriter journal;
  WorkerDirectory directory;
  Map<String, TestProbe<ModelPool.Command>> workers;

  @BeforeEach
  void setUp() throws Exception {
    journal =
        JournalWriter.start(
            JournalSettings.fromConfig(ConfigFactory.load()).withDir(dir.resolve("journal")));
    directory = new WorkerDirectory();
    workers = new HashMap<>();
  }

  @AfterEach
  void tearDown() {
    journal.close();
  }

  @AfterAll
  static void stopAll() {
    testKit.shutdownTestKit();
  }

  static EndpointSettings endpoint(List<String> models, List<Stage> schedule, long slaMs) {
    return new EndpointSettings(
        "ep",
        models,
        INPUT,
        schedule,
        DeadlinePriority.INSTANCE,
        Duration.ofMillis(slaMs),
        Duration.ofMillis(5),
        Duration.ofMillis(200),
        List.of("a", "b", "c"));
  }

  static EndpointSettings standard() {
    return endpoint(
        List.of("m1", "m2", "m3"),
        List.of(
            new Stage("m3", Duration.ZERO),
            new Stage("m2", Duration.ofMillis(15)),
            new Stage("m1", Duration.ofMillis(30))),
        50);
  }

  /** A running request: the entity, the reply probe, and the Score each worker received. */
  /** A journal in front of the test's real one, changing only how records are offered. */
  abstract class JournalInFront implements io.rendezvous.journal.Journal {
    @Override
    public String unwritableReason() {
      return journal.unwritableReason();
    }

    @Override
    public long failures() {
      return journal.failures();
    }
  }

  final class Run {
    final String id = "req-" + ids.incrementAndGet();
    final TestProbe<Reply> client = testKit.createTestProbe();
    final TestProbe<Object> watcher = testKit.createTestProbe();
    final Map<String, ModelPool.Score> scores = new HashMap<>();
    final ActorRef<RendezvousEntity.Command> entity;
    final EndpointSettings ep;
    final RendezvousRuntime runtime;

    Run(EndpointSettings ep) {
      this(ep, journal);
    }

    Run(EndpointSettings ep, io.rendezvous.journal.Journal j) {
      this.ep = ep;
      for (String m : ep.models()) {
        if (!workers.containsKey(m)) {
          TestProbe<ModelPool.Command> w = testKit.createTestProbe();
          workers.put(m, w);
          directory.update(m, List.of(w.getRef()));
        }
      }
      runtime = runtime(ep, j);
      entity = testKit.spawn(RendezvousEntity.create(id, null, runtime));
      entity.tell(
          new RendezvousEntity.Predict(
              new RendezvousEntity.Request(
                  id,
                  "client-1",
                  "ep",
                  TensorData.float32(new long[] {1, 4}, new float[] {1, 2, 3, 4}),
                  "json",
                  null,
                  1L),
              0L,
              null,
              client.getRef()));
      for (String m : ep.models()) {
        ModelPool.Score s = workers.get(m).expectMessageClass(ModelPool.Score.class);
        assertEquals(id, s.requestId());
        scores.put(m, s);
      }
    }

    void answer(String model, int top) {
      float[] p = new float[3];
      p[top] = 1f;
      scores.get(model).replyTo().tell(new ModelPool.Scored(id, model, "7", new float[][] {p}, 10));
    }

    void fail(String model) {
      scores.get(model).replyTo().tell(new ModelPool.Failed(id, model, "7", "boom"));
    }

    void overload(String model) {
      scores.get(model).replyTo().tell(new ModelPool.Overloaded(id, model, "7"));
    }

    Prediction expectPrediction(String model, int stage) {
      Prediction p = assertInstanceOf(Prediction.class, client.expectMessageClass(Reply.class));
      assertEquals(model, p.model());
      assertEquals(stage, p.stage());
      assertEquals("7", p.version());
      return p;
    }

    Rejected expectRejected(int status) {
      Rejected r = assertInstanceOf(Rejected.class, client.expectMessageClass(Reply.class));
      assertEquals(status, r.status());
      return r;
    }

    void expectNoAnswer() {
      client.expectNoMessage(Duration.ofMillis(50));
    }

    void expectStopped() {
      watcher.expectTerminated(entity, Duration.ofSeconds(3));
    }

    List<JournalRecord> journaled(int expected) {
      List<JournalRecord> mine = new ArrayList<>();
      watcher.awaitAssert(
          Duration.ofSeconds(5),
          () -> {
            mine.clear();
            JournalReader.forEach(
                dir.resolve("journal"),
                r -> {
                  if (r.requestId().equals(id)) {
                    mine.add(r);
                  }
                });
            assertEquals(expected, mine.size(), "journal records for " + id + ": " + mine);
            return null;
          });
      return mine;
    }
  }

  static Map<String, Outcome> outcomes(List<JournalRecord> records) {
    return records.stream()
        .filter(r -> r instanceof JournalRecord.Score)
        .map(r -> (JournalRecord.Score) r)
        .collect(Collectors.toMap(JournalRecord.Score::model, JournalRecord.Score::outcome));
  }

  @Test
  void preferredModelAnswersAtOnce() {
    Run r = new Run(standard());
    r.answer("m3", 2);
    Prediction p = r.expectPrediction("m3", 0);
    assertEquals("c", p.label());
    assertEquals(2, p.labelIndex());
    assertEquals("client-1", p.clientId());
  }

  @Test
  void secondStageWaitsForItsOffset() {
    Run r = new Run(standard());
    r.answer("m2", 1);
    r.answer("m1", 0);
    passes(Duration.ofMillis(14));
    r.expectNoAnswer();
    passes(Duration.ofMillis(1));
    r.expectPrediction("m2", 1);
  }

  @Test
  void preferredModelStillWinsWhileLaterStagesAreOpenButUnanswered() {
    Run r = new Run(standard());
    passes(Duration.ofMillis(20));
    r.expectNoAnswer();
    r.answer("m3", 0);
    r.expectPrediction("m3", 0);
  }

  @Test
  void thirdStageOpensAtItsOffset() {
    Run r = new Run(standard());
    r.answer("m1", 0);
    passes(Duration.ofMillis(29));
    r.expectNoAnswer();
    passes(Duration.ofMillis(1));
    r.expectPrediction("m1", 2);
  }

  @Test
  void aFailedPreferredModelUnblocksTheNextStageAtOnce() {
    Run r = new Run(standard());
    r.answer("m2", 1);
    r.expectNoAnswer();
    r.fail("m3");
    r.expectPrediction("m2", 1);
  }

  @Test
  void overloadCountsAsWillNotAnswerButOnlyForTheStagesBelowIt() {
    Run r = new Run(standard());
    r.answer("m1", 0);
    r.overload("m3");
    r.expectNoAnswer(); // m2 is still expected; m1's stage is not open yet
    r.fail("m2");
    r.expectPrediction("m1", 2);
    Map<String, Outcome> o = outcomes(r.journaled(5));
    assertEquals(Outcome.OVERLOADED, o.get("m3"));
    assertEquals(Outcome.FAILED, o.get("m2"));
    assertEquals(Outcome.OK, o.get("m1"));
  }

  @Test
  void everyModelFailedIsA503AtOnce() {
    Run r = new Run(standard());
    r.fail("m3");
    r.overload("m2");
    r.expectNoAnswer();
    r.fail("m1");
    Rejected rej = r.expectRejected(503);
    assertTrue(rej.error().contains("every scheduled model failed"), rej.error());
    // one model was only overloaded: the same request may be answered if it comes again
    assertTrue(rej.forLoad(), "a refusal for load is marked as such");
    r.expectStopped();
  }

  @Test
  void modelsThatFailOnTheInputAreNotALoadRefusal() {
    Run r = new Run(standard());
    r.fail("m3");
    r.fail("m2");
    r.fail("m1");
    Rejected rej = r.expectRejected(503);
    assertFalse(rej.forLoad(), "coming again would fail again: " + rej.error());
  }

  @Test
  void nobodyAnsweringIsA504AtTheSlaLessTheJournalMargin() {
    Run r = new Run(standard());
    passes(Duration.ofMillis(44));
    r.expectNoAnswer();
    passes(Duration.ofMillis(1));
    assertTrue(r.expectRejected(504).forLoad());
    // late scores after the 504 are still journaled, marked late
    r.answer("m3", 0);
    r.answer("m2", 0);
    r.answer("m1", 0);
    r.expectStopped();
    List<JournalRecord> records = r.journaled(5);
    Map<String, Outcome> o = outcomes(records);
    assertEquals(Map.of("m1", Outcome.LATE, "m2", Outcome.LATE, "m3", Outcome.LATE), o);
    JournalRecord.Answer a =
        (JournalRecord.Answer)
            records.stream()
                .filter(x -> x instanceof JournalRecord.Answer)
                .findFirst()
                .orElseThrow();
    assertEquals(504, a.status());
    assertNull(a.model());
  }

  @Test
  void lateScoresAreJournaledAsLateAndTheEntityStopsWhenAllAreIn() {
    Run r = new Run(standard());
    r.answer("m3", 1);
    r.expectPrediction("m3", 0);
    r.answer("m2", 1);
    r.fail("m1");
    r.expectStopped();
    List<JournalRecord> records = r.journaled(5);
    assertInstanceOf(JournalRecord.Input.class, records.get(0));
    Map<String, Outcome> o = outcomes(records);
    assertEquals(Map.of("m3", Outcome.OK, "m2", Outcome.LATE, "m1", Outcome.FAILED), o);
    JournalRecord.Answer a =
        (JournalRecord.Answer)
            records.stream()
                .filter(x -> x instanceof JournalRecord.Answer)
                .findFirst()
                .orElseThrow();
    assertEquals("m3", a.model());
    assertEquals(0, a.stage());
    assertEquals(200, a.status());
    assertEquals("b", a.label());
  }

  @Test
  void modelsThatNeverAnswerAreAbandonedAfterTheLinger() {
    Run r = new Run(standard());
    r.answer("m3", 1);
    r.expectPrediction("m3", 0);
    passes(Duration.ofMillis(199));
    r.journaled(3); // input, m3's score, the answer: nothing abandoned before the linger is over
    passes(Duration.ofMillis(1));
    r.expectStopped();
    Map<String, Outcome> o = outcomes(r.journaled(5));
    assertEquals(Map.of("m3", Outcome.OK, "m2", Outcome.ABANDONED, "m1", Outcome.ABANDONED), o);
  }

  @Test
  void modelsOutsideTheScheduleAreScoredButNeverChosen() {
    EndpointSettings ep =
        endpoint(
            List.of("m1", "m2", "shadow"),
            List.of(new Stage("m2", Duration.ZERO), new Stage("m1", Duration.ofMillis(10))),
            40);
    Run r = new Run(ep);
    r.answer("shadow", 0);
    r.fail("m2");
    r.expectNoAnswer();
    passes(Duration.ofMillis(10));
    r.expectNoAnswer();
    r.answer("m1", 2);
    r.expectPrediction("m1", 1);
    assertEquals(Outcome.OK, outcomes(r.journaled(5)).get("shadow"));
  }

  @Test
  void fiveStagesFollowTheSameRules() {
    List<String> models = List.of("a", "b", "c", "d", "e");
    List<Stage> schedule = new ArrayList<>();
    for (int i = 0; i < models.size(); i++) {
      schedule.add(new Stage(models.get(i), Duration.ofMillis(10L * i)));
    }
    Run r = new Run(endpoint(models, schedule, 80));
    r.answer("e", 0);
    r.answer("d", 0);
    passes(Duration.ofMillis(30));
    r.expectPrediction("d", 3);

    Run r2 = new Run(endpoint(models, schedule, 80));
    r2.fail("a");
    r2.fail("b");
    r2.answer("d", 0);
    r2.expectNoAnswer();
    r2.overload("c");
    r2.expectPrediction("d", 3);
  }

  @Test
  void aJournalThatCannotWriteAnswers503AndNoModelIsAsked() throws Exception {
    journal.close();
    journal =
        JournalWriter.start(
            JournalSettings.fromConfig(ConfigFactory.load())
                .withDir(dir.resolve("journal"))
                .withMinFreeBytes(Long.MAX_VALUE));
    TestProbe<ModelPool.Command> w = testKit.createTestProbe();
    directory.update("m1", List.of(w.getRef()));
    directory.update("m2", List.of(w.getRef()));
    directory.update("m3", List.of(w.getRef()));
    TestProbe<Reply> client = testKit.createTestProbe();
    RendezvousRuntime runtime = runtime(standard());
    ActorRef<RendezvousEntity.Command> entity =
        testKit.spawn(RendezvousEntity.create("j1", null, runtime));
    entity.tell(
        new RendezvousEntity.Predict(
            new RendezvousEntity.Request(
                "j1",
                null,
                "ep",
                TensorData.float32(new long[] {1, 4}, new float[4]),
                "json",
                null,
                1L),
            0L,
            null,
            client.getRef()));
    Rejected rej = assertInstanceOf(Rejected.class, client.expectMessageClass(Reply.class));
    assertEquals(503, rej.status());
    assertTrue(rej.error().contains("min-free-space"), rej.error());
    w.expectNoMessage(Duration.ofMillis(50));
  }

  @Test
  void aSecondPredictWithTheSameIdIsRefused() {
    Run r = new Run(standard());
    TestProbe<Reply> other = testKit.createTestProbe();
    TestProbe<RendezvousEntity.Accepted> edge = testKit.createTestProbe();
    r.entity.tell(
        new RendezvousEntity.Predict(
            new RendezvousEntity.Request(
                r.id,
                null,
                "ep",
                TensorData.float32(new long[] {1, 4}, new float[4]),
                "json",
                null,
                1L),
            0L,
            edge.getRef(),
            other.getRef()));
    assertEquals(
        409, assertInstanceOf(Rejected.class, other.expectMessageClass(Reply.class)).status());
    // the refused copy is still acknowledged, or its edge would resend it and serve it elsewhere
    assertEquals(r.id, edge.expectMessageClass(RendezvousEntity.Accepted.class).requestId());
    r.answer("m3", 0);
    r.expectPrediction("m3", 0);
  }

  @Test
  void aFinishedRequestIsRememberedForTheDedupWindowAfterItsEntityStopped() throws Exception {
    EndpointSettings ep = endpoint(List.of("m3"), List.of(new Stage("m3", Duration.ZERO)), 50);
    TestProbe<ModelPool.Command> w = testKit.createTestProbe();
    directory.update("m3", List.of(w.getRef()));
    RendezvousRuntime runtime =
        new RendezvousRuntime(
            "test-node", Map.of("ep", ep), directory, journal, clock::get, Duration.ofSeconds(1));
    TestProbe<org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding.ShardCommand> shard =
        testKit.createTestProbe();
    ActorRef<RendezvousEntity.Command> entity =
        testKit.spawn(RendezvousEntity.create("dd-1", shard.getRef(), runtime));
    RendezvousEntity.Request req =
        new RendezvousEntity.Request(
            "dd-1",
            null,
            "ep",
            TensorData.float32(new long[] {1, 4}, new float[4]),
            "json",
            null,
            1L);
    // replies nobody can take (a 409 to the finished ask) end here; subscribed well before they
    // could come
    TestProbe<Object> deadReplies = testKit.createTestProbe();
    ActorRef<org.apache.pekko.actor.DeadLetter> onlyReplies =
        testKit.spawn(
            org.apache.pekko.actor.typed.javadsl.Behaviors.receiveMessage(
                d -> {
                  if (d.message() instanceof Reply) {
                    deadReplies.getRef().tell(d.message());
                  }
                  return org.apache.pekko.actor.typed.javadsl.Behaviors.same();
                }));
    testKit
        .system()
        .eventStream()
        .tell(
            new org.apache.pekko.actor.typed.eventstream.EventStream.Subscribe<>(
                org.apache.pekko.actor.DeadLetter.class, onlyReplies));
    TestProbe<RendezvousEntity.Accepted> edge = testKit.createTestProbe();
    // the client asks, as the HTTP edge does: the reply address is the ask's own, which holds the
    // answer
    java.util.concurrent.atomic.AtomicReference<ActorRef<Reply>> asker =
        new java.util.concurrent.atomic.AtomicReference<>();
    java.util.concurrent.CompletionStage<Reply> answer =
        org.apache.pekko.actor.typed.javadsl.AskPattern.ask(
            entity,
            (ActorRef<Reply> r) -> {
              asker.set(r);
              return new RendezvousEntity.Predict(req, 0L, edge.getRef(), r);
            },
            Duration.ofSeconds(5),
            testKit.scheduler());
    edge.expectMessageClass(RendezvousEntity.Accepted.class);
    w.expectMessageClass(ModelPool.Score.class)
        .replyTo()
        .tell(new ModelPool.Scored("dd-1", "m3", "7", new float[][] {{0f, 1f, 0f}}, 10));
    assertEquals(
        "m3",
        assertInstanceOf(
                Prediction.class,
                answer.toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS))
            .model());
    // its story journaled, the entity stops at once, by itself (the shard only sees it terminate)
    TestProbe<Object> watcher = testKit.createTestProbe();
    watcher.expectTerminated(entity, Duration.ofSeconds(5));
    shard.expectNoMessage(Duration.ofMillis(50));
    // a late copy from its edge starts a new entity, as the shard would: accepted, neither served
    // again nor refused (a 409 to the finished ask would land in dead letters), and that entity
    // stops too
    ActorRef<RendezvousEntity.Command> copy =
        testKit.spawn(RendezvousEntity.create("dd-1", shard.getRef(), runtime));
    copy.tell(new RendezvousEntity.Predict(req, 0L, edge.getRef(), asker.get()));
    edge.expectMessageClass(RendezvousEntity.Accepted.class);
    watcher.expectTerminated(copy, Duration.ofSeconds(5));
    w.expectNoMessage(Duration.ofMillis(100));
    deadReplies.expectNoMessage(Duration.ofMillis(200));
    // another client under the same id is refused
    TestProbe<Reply> other = testKit.createTestProbe();
    testKit
        .spawn(RendezvousEntity.create("dd-1", shard.getRef(), runtime))
        .tell(new RendezvousEntity.Predict(req, 0L, null, other.getRef()));
    assertEquals(
        409, assertInstanceOf(Rejected.class, other.expectMessageClass(Reply.class)).status());
    w.expectNoMessage(Duration.ofMillis(50));
    // once the window has passed the id is forgotten: a request under it is served as a new one
    passes(Duration.ofMillis(2_100));
    TestProbe<Reply> later = testKit.createTestProbe();
    testKit
        .spawn(RendezvousEntity.create("dd-1", shard.getRef(), runtime))
        .tell(new RendezvousEntity.Predict(req, 0L, null, later.getRef()));
    w.expectMessageClass(ModelPool.Score.class);
  }

  @Test
  void withoutADedupWindowASharedEntityStopsAsSoonAsItsStoryIsJournaled() {
    EndpointSettings ep = endpoint(List.of("m3"), List.of(new Stage("m3", Duration.ZERO)), 50);
    TestProbe<ModelPool.Command> w = testKit.createTestProbe();
    directory.update("m3", List.of(w.getRef()));
    TestProbe<org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding.ShardCommand> shard =
        testKit.createTestProbe();
    ActorRef<RendezvousEntity.Command> entity =
        testKit.spawn(RendezvousEntity.create("dd-0", shard.getRef(), runtime(ep)));
    TestProbe<Reply> client = testKit.createTestProbe();
    entity.tell(
        new RendezvousEntity.Predict(
            new RendezvousEntity.Request(
                "dd-0",
                null,
                "ep",
                TensorData.float32(new long[] {1, 4}, new float[4]),
                "json",
                null,
                1L),
            0L,
            null,
            client.getRef()));
    w.expectMessageClass(ModelPool.Score.class)
        .replyTo()
        .tell(new ModelPool.Scored("dd-0", "m3", "7", new float[][] {{0f, 1f, 0f}}, 10));
    assertEquals(
        "m3", assertInstanceOf(Prediction.class, client.expectMessageClass(Reply.class)).model());
    testKit.createTestProbe().expectTerminated(entity, Duration.ofSeconds(5));
    shard.expectNoMessage(Duration.ofMillis(50));
  }

  @Test
  void wrongInputShapeIsRefusedBeforeAnyModel() {
    TestProbe<ModelPool.Command> w = testKit.createTestProbe();
    standard().models().forEach(m -> directory.update(m, List.of(w.getRef())));
    TestProbe<Reply> client = testKit.createTestProbe();
    RendezvousRuntime runtime = runtime(standard());
    ActorRef<RendezvousEntity.Command> entity =
        testKit.spawn(RendezvousEntity.create("s1", null, runtime));
    entity.tell(
        new RendezvousEntity.Predict(
            new RendezvousEntity.Request(
                "s1",
                null,
                "ep",
                TensorData.float32(new long[] {1, 3}, new float[3]),
                "json",
                null,
                1L),
            0L,
            null,
            client.getRef()));
    assertEquals(
        400, assertInstanceOf(Rejected.class, client.expectMessageClass(Reply.class)).status());
    w.expectNoMessage(Duration.ofMillis(50));
    assertEquals(List.of(), JournalReader.readAll(dir.resolve("journal")));
  }

  @Test
  void aFirstStageWithAnOffsetWaitsForIt() {
    EndpointSettings ep =
        endpoint(
            List.of("m1", "m2"),
            List.of(new Stage("m2", Duration.ofMillis(5)), new Stage("m1", Duration.ofMillis(10))),
            40);
    Run r = new Run(ep);
    r.answer("m2", 0);
    r.expectNoAnswer();
    passes(Duration.ofMillis(5));
    r.expectPrediction("m2", 0);
  }

  @Test
  void aTimerThatFiresEarlyIsSetAgainForTheTimeStillMissing() {
    Run r = new Run(standard());
    r.answer("m2", 1);
    // the scheduler (manual time) reaches 15 ms while the clock shows only 10 ms: not yet m2's
    // stage
    clock.addAndGet(-Duration.ofMillis(5).toNanos());
    passes(Duration.ofMillis(15));
    r.expectNoAnswer();
    passes(Duration.ofMillis(5));
    r.expectPrediction("m2", 1);
  }

  @Test
  void aModelWithNoWorkerAnywhereCountsAsFailed() {
    directory.update("m3", List.of());
    Run r =
        new Run(
            endpoint(
                List.of("m1", "m2"),
                List.of(new Stage("m2", Duration.ZERO), new Stage("m1", Duration.ofMillis(10))),
                40));
    TestProbe<Reply> client = testKit.createTestProbe();
    RendezvousRuntime runtime = runtime(standard());
    ActorRef<RendezvousEntity.Command> entity =
        testKit.spawn(RendezvousEntity.create("nw", null, runtime));
    entity.tell(
        new RendezvousEntity.Predict(
            new RendezvousEntity.Request(
                "nw",
                null,
                "ep",
                TensorData.float32(new long[] {1, 4}, new float[4]),
                "json",
                null,
                1L),
            0L,
            null,
            client.getRef()));
    ModelPool.Score toM2 = workers.get("m2").expectMessageClass(ModelPool.Score.class);
    workers.get("m1").expectMessageClass(ModelPool.Score.class);
    // m3 has no pool: it will not answer, so m2's stage opens at once
    toM2.replyTo().tell(new ModelPool.Scored("nw", "m2", "7", new float[][] {{0, 1, 0}}, 1));
    Prediction p = assertInstanceOf(Prediction.class, client.expectMessageClass(Reply.class));
    assertEquals("m2", p.model());
    r.answer("m2", 0);
    r.expectPrediction("m2", 0);
  }

  @Test
  void aScoreAfterTheLingerIsNotRecordedTwice() {
    Run r = new Run(standard());
    r.answer("m3", 1);
    r.expectPrediction("m3", 0);
    passes(Duration.ofMillis(200));
    r.expectStopped();
    r.answer("m2", 1); // to a stopped entity: dead letters, never a second record
    Map<String, Outcome> o = outcomes(r.journaled(5));
    assertEquals(Outcome.ABANDONED, o.get("m2"));
  }

  @Test
  void stopWhileCollectingLetsTheEntityAnswerFirstThenRecordsTheRestAndStops() {
    Run r = new Run(standard());
    r.answer("m1", 0);
    r.entity.tell(RendezvousEntity.Stop.INSTANCE);
    r.expectNoAnswer(); // still collecting: a hand-off waits for the answer
    r.answer("m3", 2);
    r.expectPrediction("m3", 0);
    r.expectStopped(); // no linger once a stop was asked for
    List<JournalRecord> records = r.journaled(5);
    Map<String, Outcome> o = outcomes(records);
    assertEquals(Map.of("m1", Outcome.OK, "m2", Outcome.ABANDONED, "m3", Outcome.OK), o);
  }

  @Test
  void stopWhileCollectingStillEndsByTheSla() {
    Run r = new Run(standard());
    r.entity.tell(RendezvousEntity.Stop.INSTANCE);
    passes(Duration.ofMillis(45));
    r.expectRejected(504);
    r.expectStopped();
    assertEquals(
        Map.of("m1", Outcome.ABANDONED, "m2", Outcome.ABANDONED, "m3", Outcome.ABANDONED),
        outcomes(r.journaled(5)));
  }

  @Test
  void stopWhileLingeringRecordsTheMissingScores() {
    Run r = new Run(standard());
    r.answer("m3", 0);
    r.expectPrediction("m3", 0);
    r.answer("m2", 0);
    r.entity.tell(RendezvousEntity.Stop.INSTANCE);
    r.expectStopped();
    assertEquals(
        Map.of("m3", Outcome.OK, "m2", Outcome.LATE, "m1", Outcome.ABANDONED),
        outcomes(r.journaled(5)));
  }

  @Test
  void anAnswerTheJournalHasNotConfirmedByTheSlaIsA503ThatSaysWhen() {
    // the answer record is written, but its acknowledgement is held back (a writer stalled by the
    // disk)
    List<ActorRef<Journal.Ack>> held = new ArrayList<>();
    Run r = new Run(standard(), holdingAnswerAcks(held));
    passes(Duration.ofMillis(3));
    r.answer("m3", 1);
    r.expectNoAnswer();
    passes(Duration.ofMillis(46));
    r.expectNoAnswer();
    passes(Duration.ofMillis(1));
    Rejected rej = r.expectRejected(503);
    assertTrue(
        rej.error().contains("journal did not confirm the answer within the SLA of 50 ms"),
        rej.error());
    assertTrue(rej.error().contains("decided at 3.0 ms, 47.0 ms waited"), rej.error());
    assertEquals(1, held.size());
    r.answer("m2", 0);
    r.answer("m1", 0);
    // the story: input, three scores, the 200 that was chosen, then the 503 the client got (the
    // last word)
    List<JournalRecord> story = r.journaled(6);
    List<JournalRecord.Answer> answers =
        story.stream()
            .filter(x -> x instanceof JournalRecord.Answer)
            .map(x -> (JournalRecord.Answer) x)
            .toList();
    assertEquals(List.of(200, 503), answers.stream().map(JournalRecord.Answer::status).toList());
  }

  /** A journal that writes every record but holds back the answer's acknowledgement. */
  io.rendezvous.journal.Journal holdingAnswerAcks(List<ActorRef<Journal.Ack>> held) {
    return new JournalInFront() {
      @Override
      public boolean offer(JournalRecord record, ActorRef<Journal.Ack> ackTo) {
        if (record instanceof JournalRecord.Answer && ackTo != null) {
          held.add(ackTo);
          return journal.offer(record, null);
        }
        return journal.offer(record, ackTo);
      }
    };
  }

  @Test
  void anAnswerConfirmedAfterTheSlaIsDeliveredLateAndCounted() {
    List<ActorRef<Journal.Ack>> held = new ArrayList<>();
    Run r = new Run(standard().withDeliveryGrace(Duration.ofSeconds(1)), holdingAnswerAcks(held));
    passes(Duration.ofMillis(3));
    r.answer("m3", 1);
    passes(Duration.ofMillis(47));
    // past the SLA: the decision stands, and the client waits for the journal
    r.expectNoAnswer();
    passes(Duration.ofMillis(10));
    assertEquals(1, held.size());
    held.get(0).tell(new Journal.Written(r.id, "answer", journal.failures()));
    Prediction p = r.expectPrediction("m3", 0);
    assertEquals(10_000, p.deliveredLateMicros());
    assertEquals(1, r.runtime.lateDeliveries().count("ep"));
    assertEquals(10_000, r.runtime.lateDeliveries().maxMicros("ep"));
    r.answer("m2", 0);
    r.answer("m1", 0);
    // input, three scores, the answer, and a second answer record: the same 200, delivered late
    List<JournalRecord.Answer> answers =
        r.journaled(6).stream()
            .filter(x -> x instanceof JournalRecord.Answer)
            .map(x -> (JournalRecord.Answer) x)
            .toList();
    assertEquals(List.of(200, 200), answers.stream().map(JournalRecord.Answer::status).toList());
    assertEquals("m3", answers.get(1).model());
    assertTrue(
        answers.get(1).error().contains("delivered 10.0 ms after the SLA of 50 ms"),
        answers.get(1).error());
  }

  @Test
  void anAnswerNotConfirmedWithinTheDeliveryGraceIsA503() {
    List<ActorRef<Journal.Ack>> held = new ArrayList<>();
    Run r = new Run(standard().withDeliveryGrace(Duration.ofSeconds(1)), holdingAnswerAcks(held));
    passes(Duration.ofMillis(3));
    r.answer("m3", 1);
    passes(Duration.ofMillis(1046));
    r.expectNoAnswer();
    passes(Duration.ofMillis(1));
    Rejected rej = r.expectRejected(503);
    assertTrue(
        rej.error()
            .contains(
                "journal did not confirm the answer within the SLA of 50 ms and the delivery grace"
                    + " of 1000 ms"),
        rej.error());
    assertEquals(0, r.runtime.lateDeliveries().count("ep"));
  }

  @Test
  void aFirstScoreAfterTheDecisionDeadlineIsTheAnswerDeliveredLateAndCounted() {
    Run r = new Run(standard().withDeliveryGrace(Duration.ofSeconds(1)));
    // nobody by the decision deadline (45 ms): with a grace, no 504 yet
    passes(Duration.ofMillis(45));
    r.expectNoAnswer();
    passes(Duration.ofMillis(75));
    // m1 comes first, 70 ms past the SLA (its core was frozen, say): it is the answer
    r.answer("m1", 2);
    Prediction p = r.expectPrediction("m1", 2);
    assertEquals(70_000, p.deliveredLateMicros());
    assertEquals(1, r.runtime.lateDeliveries().count("ep"));
    // and a later, higher-priority score does not change what the client has
    r.answer("m3", 1);
    r.answer("m2", 1);
    r.expectStopped();
    List<JournalRecord> records = r.journaled(6);
    assertEquals(
        Map.of("m1", Outcome.OK, "m2", Outcome.LATE, "m3", Outcome.LATE), outcomes(records));
    List<JournalRecord.Answer> answers =
        records.stream()
            .filter(x -> x instanceof JournalRecord.Answer)
            .map(x -> (JournalRecord.Answer) x)
            .toList();
    assertEquals(List.of(200, 200), answers.stream().map(JournalRecord.Answer::status).toList());
    assertEquals("m1", answers.get(1).model());
    assertTrue(
        answers.get(1).error().contains("no live model had answered by the decision deadline"),
        answers.get(1).error());
  }

  @Test
  void nobodyAnsweringWithinTheDeliveryGraceIsA504() {
    Run r = new Run(standard().withDeliveryGrace(Duration.ofSeconds(1)));
    passes(Duration.ofMillis(1044));
    r.expectNoAnswer();
    passes(Duration.ofMillis(1));
    Rejected rej = r.expectRejected(504);
    assertTrue(
        rej.error()
            .contains(
                "no scheduled model answered within the SLA of 50 ms and the delivery grace of"
                    + " 1000 ms"),
        rej.error());
    assertEquals(0, r.runtime.lateDeliveries().count("ep"));
  }

  @Test
  void anInputTheJournalFailedToWriteGetsNoAnswerThoughTheAnswerWasWritten() {
    // the input's append fails and is counted, as the writer counts it; the answer's succeeds, and
    // its acknowledgement carries the count
    java.util.concurrent.atomic.AtomicLong lost = new java.util.concurrent.atomic.AtomicLong();
    io.rendezvous.journal.Journal losesInputs =
        new JournalInFront() {
          @Override
          public boolean offer(JournalRecord record, ActorRef<Journal.Ack> ackTo) {
            if (record instanceof JournalRecord.Input) {
              lost.incrementAndGet();
              if (ackTo != null) {
                ackTo.tell(
                    new Journal.NotWritten(
                        record.requestId(), record.type(), "disk error", lost.get()));
              }
              return true;
            }
            boolean taken = journal.offer(record, null);
            if (taken && ackTo != null) {
              ackTo.tell(new Journal.Written(record.requestId(), record.type(), failures()));
            }
            return taken;
          }

          @Override
          public long failures() {
            return journal.failures() + lost.get();
          }
        };
    Run r = new Run(standard(), losesInputs);
    r.answer("m3", 1);
    Rejected rej = r.expectRejected(503);
    assertTrue(rej.error().contains("journal may not hold the input: 1 record(s)"), rej.error());
    r.answer("m2", 0);
    r.answer("m1", 0);
    // no input; three scores, the 200 that was chosen, then the 503 the client got (the last word)
    List<JournalRecord.Answer> answers =
        r.journaled(5).stream()
            .filter(x -> x instanceof JournalRecord.Answer)
            .map(x -> (JournalRecord.Answer) x)
            .toList();
    assertEquals(List.of(200, 503), answers.stream().map(JournalRecord.Answer::status).toList());
  }

  @Test
  void aCopyOfARefusedRequestFromItsOwnClientIsNotToldTheIdIsTaken() {
    EndpointSettings ep = endpoint(List.of("m3"), List.of(new Stage("m3", Duration.ZERO)), 50);
    RendezvousRuntime runtime =
        new RendezvousRuntime(
            "test-node", Map.of("ep", ep), directory, journal, clock::get, Duration.ofSeconds(1));
    TestProbe<org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding.ShardCommand> shard =
        testKit.createTestProbe();
    RendezvousEntity.Request req =
        new RendezvousEntity.Request(
            "nf-1",
            null,
            "nope",
            TensorData.float32(new long[] {1, 4}, new float[4]),
            "json",
            null,
            1L);
    TestProbe<Reply> client = testKit.createTestProbe();
    TestProbe<RendezvousEntity.Accepted> edge = testKit.createTestProbe();
    ActorRef<RendezvousEntity.Command> first =
        testKit.spawn(RendezvousEntity.create("nf-1", shard.getRef(), runtime));
    first.tell(new RendezvousEntity.Predict(req, 0L, edge.getRef(), client.getRef()));
    assertEquals(
        404, assertInstanceOf(Rejected.class, client.expectMessageClass(Reply.class)).status());
    edge.expectMessageClass(RendezvousEntity.Accepted.class);
    // the edge's copy, come after the entity stopped (the shard starts a new one only then):
    // accepted, and its client hears nothing more
    testKit.createTestProbe().expectTerminated(first, Duration.ofSeconds(5));
    testKit
        .spawn(RendezvousEntity.create("nf-1", shard.getRef(), runtime))
        .tell(new RendezvousEntity.Predict(req, 0L, edge.getRef(), client.getRef()));
    edge.expectMessageClass(RendezvousEntity.Accepted.class);
    client.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void eachModelIsToldForHowLongItsScoreCanDecideTheAnswer() {
    // m3 until m2's stage opens, m2 until m1's, m1 until the decision deadline; m0 is not scheduled
    Run r =
        new Run(
            endpoint(
                List.of("m0", "m1", "m2", "m3"),
                List.of(
                    new Stage("m3", Duration.ZERO),
                    new Stage("m2", Duration.ofMillis(15)),
                    new Stage("m1", Duration.ofMillis(30))),
                50));
    assertEquals(15_000, r.scores.get("m3").decisiveForMicros());
    assertEquals(30_000, r.scores.get("m2").decisiveForMicros());
    assertEquals(45_000, r.scores.get("m1").decisiveForMicros());
    assertEquals(0, r.scores.get("m0").decisiveForMicros());
    // and each score is recorded until the SLA and the linger after it have passed
    assertEquals(250_000, r.scores.get("m0").wantedForMicros());
  }

  @Test
  void aRequestThatAlreadyWaitedRunsItsScheduleFromItsOriginalStart() {
    // as a fallback entity gets it: 20 ms of the schedule already behind it (m2's stage opened at
    // 15)
    TestProbe<ModelPool.Command> m2 = testKit.createTestProbe();
    TestProbe<ModelPool.Command> m3 = testKit.createTestProbe();
    TestProbe<ModelPool.Command> m1 = testKit.createTestProbe();
    directory.update("m1", List.of(m1.getRef()));
    directory.update("m2", List.of(m2.getRef()));
    directory.update("m3", List.of(m3.getRef()));
    TestProbe<Reply> client = testKit.createTestProbe();
    ActorRef<RendezvousEntity.Command> entity =
        testKit.spawn(RendezvousEntity.create("late-1", null, runtime(standard())));
    entity.tell(
        new RendezvousEntity.Predict(
            new RendezvousEntity.Request(
                "late-1",
                null,
                "ep",
                TensorData.float32(new long[] {1, 4}, new float[4]),
                "json",
                null,
                1L),
            20_000L,
            null,
            client.getRef()));
    ModelPool.Score toM2 = m2.expectMessageClass(ModelPool.Score.class);
    // each pool is told how much of its model's window is left: none for m3, whose stage m2's has
    // followed
    assertEquals(0, m3.expectMessageClass(ModelPool.Score.class).decisiveForMicros());
    assertEquals(10_000, toM2.decisiveForMicros());
    ModelPool.Score toM1 = m1.expectMessageClass(ModelPool.Score.class);
    assertEquals(25_000, toM1.decisiveForMicros());
    assertEquals(230_000, toM1.wantedForMicros());
    toM2.replyTo().tell(new ModelPool.Scored("late-1", "m2", "7", new float[][] {{0, 1, 0}}, 1));
    // no time passes: m2's stage is already open
    Prediction p = assertInstanceOf(Prediction.class, client.expectMessageClass(Reply.class));
    assertEquals("m2", p.model());
    assertEquals(1, p.stage());
    // and nobody answering: the 504 falls at 45 ms from the original start, 25 ms after this one's
    TestProbe<Reply> client2 = testKit.createTestProbe();
    ActorRef<RendezvousEntity.Command> silent =
        testKit.spawn(RendezvousEntity.create("late-2", null, runtime(standard())));
    silent.tell(
        new RendezvousEntity.Predict(
            new RendezvousEntity.Request(
                "late-2",
                null,
                "ep",
                TensorData.float32(new long[] {1, 4}, new float[4]),
                "json",
                null,
                1L),
            20_000L,
            null,
            client2.getRef()));
    m1.expectMessageClass(ModelPool.Score.class);
    m2.expectMessageClass(ModelPool.Score.class);
    m3.expectMessageClass(ModelPool.Score.class);
    passes(Duration.ofMillis(24));
    client2.expectNoMessage(Duration.ofMillis(50));
    passes(Duration.ofMillis(1));
    assertEquals(
        504, assertInstanceOf(Rejected.class, client2.expectMessageClass(Reply.class)).status());
  }

  @Test
  void aJournalThatRefusesTheAnswerGivesA503AtOnceAndTheLingerStillEnds() {
    // the input and scores are taken; the answer is refused when it is offered (a full writer
    // queue)
    io.rendezvous.journal.Journal refusesAnswers =
        new JournalInFront() {
          @Override
          public boolean offer(JournalRecord record, ActorRef<Journal.Ack> ackTo) {
            return !(record instanceof JournalRecord.Answer) && journal.offer(record, ackTo);
          }
        };
    Run r = new Run(standard(), refusesAnswers);
    r.answer("m3", 1);
    Rejected rej = r.expectRejected(503);
    assertTrue(rej.error().contains("journal unavailable"), rej.error());
    // no deadline of the schedule fires a second reply; the linger ends and the rest are abandoned
    passes(Duration.ofMillis(60));
    r.expectNoAnswer();
    passes(Duration.ofMillis(140));
    r.expectStopped();
    Map<String, Outcome> o = outcomes(r.journaled(4));
    assertEquals(Map.of("m3", Outcome.OK, "m2", Outcome.ABANDONED, "m1", Outcome.ABANDONED), o);
  }
}
