package io.rendezvous.workers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.inference.Predictor;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.ModelPool.ScoreResult;
import io.rendezvous.workers.data.FashionMnist;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ModelPoolTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  static final InferenceThreads THREADS = new InferenceThreads(2);
  static LoadedModel m2;
  static List<FashionMnist.Sample> holdout;

  @BeforeAll
  static void load() {
    m2 = TestModels.load("m2");
    holdout = FashionMnist.load().holdout();
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
    THREADS.close();
    m2.close();
  }

  static TensorData instance(int i) {
    return TensorData.float32(new long[] {1, FashionMnist.PIXELS}, holdout.get(i).scaled());
  }

  @Test
  void poolScoresMatchADirectDjlPredict() throws Exception {
    ActorRef<ModelPool.Command> pool =
        testKit.spawn(ModelPool.create(m2, THREADS, new PoolHealth()));
    TestProbe<ScoreResult> probe = testKit.createTestProbe();
    try (Predictor<TensorData, float[][]> direct = m2.newPredictor()) {
      for (int i = 0; i < 20; i++) {
        pool.tell(new ModelPool.Score("r" + i, instance(i), probe.getRef()));
        ModelPool.Scored s = probe.expectMessageClass(ModelPool.Scored.class);
        assertEquals("r" + i, s.requestId());
        assertEquals("m2", s.model());
        assertEquals("1", s.version());
        assertArrayEquals(direct.predict(instance(i))[0], s.probabilities()[0], 1e-5f);
      }
    }
  }

  @Test
  void batchedScoresMatchSingleScores() throws Exception {
    int n = 100;
    ModelSettings d = m2.settings();
    // room for all of them at once, whatever the default queue: this is about batches, not refusals
    LoadedModel roomy =
        reload(
            new ModelSettings(
                "m2", d.store(), d.workers(), n, d.maxBatchSize(), d.maxBatchDelay(), d.fault()));
    ActorRef<ModelPool.Command> pool =
        testKit.spawn(ModelPool.create(roomy, THREADS, new PoolHealth()));
    TestProbe<ScoreResult> probe = testKit.createTestProbe();
    for (int i = 0; i < n; i++) {
      pool.tell(new ModelPool.Score("b" + i, instance(i), probe.getRef()));
    }
    List<ScoreResult> results = probe.receiveSeveralMessages(n, Duration.ofSeconds(20));
    try (Predictor<TensorData, float[][]> direct = m2.newPredictor()) {
      for (ScoreResult r : results) {
        int i = Integer.parseInt(r.requestId().substring(1));
        ModelPool.Scored s = assertInstanceOf(ModelPool.Scored.class, r);
        assertArrayEquals(direct.predict(instance(i))[0], s.probabilities()[0], 1e-5f);
      }
    } finally {
      roomy.close();
    }
  }

  @Test
  void underLoadAnIdleWorkerWaitsForAFullBatchButNotAfterAQuietSpell() throws Exception {
    ModelSettings s = m2.settings();
    // a delay far longer than the test: whatever is answered early was not held. Two workers, so
    // one is idle whatever the order in which the first one reports back
    LoadedModel holding =
        reload(
            new ModelSettings(
                "m2", s.store(), 2, 16, 3, Duration.ofSeconds(30), ModelSettings.Fault.NONE));
    try (Predictor<TensorData, float[][]> direct = m2.newPredictor()) {
      PoolHealth health = new PoolHealth();
      ActorRef<ModelPool.Command> pool = testKit.spawn(ModelPool.create(holding, THREADS, health));
      TestProbe<ScoreResult> probe = testKit.createTestProbe();
      // both workers started: else the second arrival could find none idle, queue behind the
      // first, and go to it as soon as it is back instead of being held
      long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (health.load(PoolHealth.key("m2", holding.version())).ready() < 2
          && System.nanoTime() < until) {
        Thread.sleep(10);
      }
      // the first request after a quiet spell goes straight to the idle worker
      pool.tell(new ModelPool.Score("alone", instance(0), probe.getRef()));
      assertEquals("alone", probe.expectMessageClass(ModelPool.Scored.class).requestId());
      // arrivals closer together than the delay are held until the batch of three is full
      pool.tell(new ModelPool.Score("h1", instance(1), probe.getRef()));
      pool.tell(new ModelPool.Score("h2", instance(2), probe.getRef()));
      probe.expectNoMessage(Duration.ofMillis(300));
      pool.tell(new ModelPool.Score("h3", instance(3), probe.getRef()));
      List<ScoreResult> batch = probe.receiveSeveralMessages(3, Duration.ofSeconds(10));
      for (ScoreResult r : batch) {
        int i = Integer.parseInt(r.requestId().substring(1));
        ModelPool.Scored scored = assertInstanceOf(ModelPool.Scored.class, r);
        assertArrayEquals(direct.predict(instance(i))[0], scored.probabilities()[0], 1e-5f);
      }
    } finally {
      holding.close();
    }
  }

  @Test
  void aHeldBatchIsScoredWhenItsDelayRunsOut() {
    ModelSettings s = m2.settings();
    LoadedModel holding =
        reload(
            new ModelSettings(
                "m2", s.store(), 2, 16, 16, Duration.ofMillis(200), ModelSettings.Fault.NONE));
    try {
      ActorRef<ModelPool.Command> pool =
          testKit.spawn(ModelPool.create(holding, THREADS, new PoolHealth()));
      TestProbe<ScoreResult> probe = testKit.createTestProbe();
      for (int i = 0; i < 4; i++) {
        pool.tell(new ModelPool.Score("d" + i, instance(i), probe.getRef()));
      }
      // far fewer than a batch: the rest are scored once the oldest held one has waited 200 ms
      List<ScoreResult> results = probe.receiveSeveralMessages(4, Duration.ofSeconds(10));
      assertTrue(results.stream().allMatch(r -> r instanceof ModelPool.Scored), results.toString());
    } finally {
      holding.close();
    }
  }

  @Test
  void aFullQueueRefusesAtOnceWithOverloaded() {
    // One worker, no queue: while the worker is busy every further request is refused. The worker
    // takes 200 ms a call (injected latency), so the burst below arrives while it is busy however
    // fast the machine is.
    LoadedModel tiny = TestModels.load("m3");
    try {
      ModelSettings s = tiny.settings();
      LoadedModel strict =
          reload(
              new ModelSettings(
                  "m3",
                  s.store(),
                  1,
                  0,
                  1,
                  Duration.ZERO,
                  new ModelSettings.Fault(Duration.ofMillis(200), 1.0, 0.0)));
      ActorRef<ModelPool.Command> pool =
          testKit.spawn(ModelPool.create(strict, THREADS, new PoolHealth()));
      TestProbe<ScoreResult> probe = testKit.createTestProbe();
      // its worker starts (predictors, warm-up) before it takes work: with no queue, wait for it
      probe.awaitAssert(
          () -> {
            pool.tell(new ModelPool.Score("ready", instance(0), probe.getRef()));
            return probe.expectMessageClass(ModelPool.Scored.class);
          });
      int n = 50;
      for (int i = 0; i < n; i++) {
        pool.tell(new ModelPool.Score("o" + i, instance(i), probe.getRef()));
      }
      List<ScoreResult> results = probe.receiveSeveralMessages(n, Duration.ofSeconds(20));
      long overloaded = results.stream().filter(r -> r instanceof ModelPool.Overloaded).count();
      long scored = results.stream().filter(r -> r instanceof ModelPool.Scored).count();
      assertEquals(n, overloaded + scored);
      assertTrue(overloaded > 0, "a pool with no queue space refused nothing");
      assertTrue(scored >= 1);
      strict.close();
    } finally {
      tiny.close();
    }
  }

  @Test
  void wrongShapeFailsThatScoreOnly() {
    ActorRef<ModelPool.Command> pool =
        testKit.spawn(ModelPool.create(m2, THREADS, new PoolHealth()));
    TestProbe<ScoreResult> probe = testKit.createTestProbe();
    pool.tell(
        new ModelPool.Score(
            "bad", TensorData.float32(new long[] {1, 10}, new float[10]), probe.getRef()));
    pool.tell(new ModelPool.Score("good", instance(0), probe.getRef()));
    ModelPool.Failed f = probe.expectMessageClass(ModelPool.Failed.class);
    assertEquals("bad", f.requestId());
    assertTrue(f.reason().contains("shape"), f.reason());
    assertEquals("good", probe.expectMessageClass(ModelPool.Scored.class).requestId());
  }

  @Test
  void injectedFailuresAndLatencyAreApplied() {
    ModelSettings s = m2.settings();
    LoadedModel failing = reload(s.withFault(new ModelSettings.Fault(Duration.ZERO, 0, 1.0)));
    ActorRef<ModelPool.Command> pool =
        testKit.spawn(ModelPool.create(failing, THREADS, new PoolHealth()));
    TestProbe<ScoreResult> probe = testKit.createTestProbe();
    pool.tell(new ModelPool.Score("f", instance(0), probe.getRef()));
    assertEquals("injected failure", probe.expectMessageClass(ModelPool.Failed.class).reason());
    failing.close();

    LoadedModel slow = reload(s.withFault(new ModelSettings.Fault(Duration.ofMillis(300), 1.0, 0)));
    ActorRef<ModelPool.Command> slowPool =
        testKit.spawn(ModelPool.create(slow, THREADS, new PoolHealth()));
    slowPool.tell(new ModelPool.Score("s", instance(0), probe.getRef()));
    probe.expectNoMessage(Duration.ofMillis(100));
    probe.expectMessageClass(ModelPool.Scored.class, Duration.ofSeconds(5));
    slow.close();
  }

  @Test
  void anErrorThrownByTheModelIsContainedAndTheWorkerServesOn() {
    ModelSettings s = m2.settings();
    LoadedModel erring = reload(s.withFault(ModelSettings.Fault.NONE.withErrorRate(1.0)));
    ActorRef<ModelPool.Command> pool =
        testKit.spawn(ModelPool.create(erring, THREADS, new PoolHealth()));
    TestProbe<ScoreResult> probe = testKit.createTestProbe();
    for (int i = 0; i < 3; i++) {
      // every call throws a LinkageError: each request fails alone, the pool's worker stays
      pool.tell(new ModelPool.Score("e" + i, instance(i), probe.getRef()));
      ModelPool.Failed f = probe.expectMessageClass(ModelPool.Failed.class);
      assertEquals("e" + i, f.requestId());
      assertTrue(f.reason().contains("injected error"), f.reason());
    }
    erring.close();
  }

  /** Hangs held far past hang-after, and released before the test's patience runs out. */
  private static final ModelSettings.Watchdog QUICK_WATCHDOG =
      new ModelSettings.Watchdog(Duration.ofMillis(300), Duration.ofMillis(50), 2);

  private static final Duration HOLD = Duration.ofSeconds(3);

  @Test
  void aHungModelIsDetectedReplacedAndOtherModelsKeepTheirThreads() {
    LoadedModel hanging =
        reload(
            new ModelSettings(
                    "m2", m2.settings().store(), 1, 16, 1, Duration.ZERO, ModelSettings.Fault.NONE)
                .withWatchdog(QUICK_WATCHDOG));
    LoadedModel other = TestModels.load("m1");
    PoolHealth health = new PoolHealth();
    ActorRef<ModelPool.Command> pool = testKit.spawn(ModelPool.create(hanging, THREADS, health));
    ActorRef<ModelPool.Command> otherPool = testKit.spawn(ModelPool.create(other, THREADS, health));
    TestProbe<ScoreResult> probe = testKit.createTestProbe();
    // both pools' workers are ready
    pool.tell(new ModelPool.Score("w", instance(9), probe.getRef()));
    probe.expectMessageClass(ModelPool.Scored.class);
    otherPool.tell(new ModelPool.Score("w", instance(9), probe.getRef()));
    probe.expectMessageClass(ModelPool.Scored.class);

    // the worker's call hangs, and so does its replacement's first one
    TestProbe<ModelPool.HangInjected> injected = testKit.createTestProbe();
    pool.tell(new ModelPool.InjectHang(2, HOLD.toMillis(), injected.getRef()));
    assertEquals(2, injected.expectMessageClass(ModelPool.HangInjected.class).calls());
    TestProbe<ScoreResult> stuck = testKit.createTestProbe();
    pool.tell(new ModelPool.Score("h0", instance(0), stuck.getRef()));

    // the other model scores while m2's call holds its thread, before any watchdog has looked
    otherPool.tell(new ModelPool.Score("o", instance(2), probe.getRef()));
    ModelPool.Scored o = probe.expectMessageClass(ModelPool.Scored.class);
    assertEquals("m1", o.model());
    assertEquals(0, THREADS.compensating(), "scored on the node's own threads");

    // the watchdog fails the held request, and the replacement's first call hangs in turn
    assertTrue(
        stuck.expectMessageClass(ModelPool.Failed.class, HOLD).reason().contains("model hung"));
    pool.tell(new ModelPool.Score("h1", instance(1), stuck.getRef()));
    assertTrue(
        stuck.expectMessageClass(ModelPool.Failed.class, HOLD).reason().contains("model hung"));
    PoolHealth.Status hungNow = health.status("m2@1");
    assertEquals(2, hungNow.hung());
    assertEquals(1, hungNow.serving(), "a second replacement serves");
    assertEquals(0, hungNow.sparesLeft());
    assertEquals(2, hungNow.failedByWatchdog());
    assertEquals(2, THREADS.compensating(), "a thread added for each held call");
    assertTrue(health.degraded().containsKey("m2@1"), health.degraded().toString());
    assertTrue(!health.degraded().containsKey("m1@1"), health.degraded().toString());

    // the replacement serves, and scores as the model does
    for (int i = 0; i < 5; i++) {
      pool.tell(new ModelPool.Score("after" + i, instance(i), probe.getRef()));
      assertEquals("after" + i, probe.expectMessageClass(ModelPool.Scored.class).requestId());
    }

    // the held calls return: their workers are retired, their threads given back, their late
    // scores dropped
    probe.awaitAssert(
        HOLD.plusSeconds(5),
        () -> {
          assertEquals(0, health.status("m2@1").hung());
          return null;
        });
    assertEquals(1, health.status("m2@1").serving());
    assertEquals(2, health.status("m2@1").sparesLeft());
    assertEquals(0, THREADS.compensating());
    assertTrue(health.degraded().isEmpty(), health.degraded().toString());
    stuck.expectNoMessage(Duration.ofMillis(200));
    pool.tell(new ModelPool.Score("later", instance(7), probe.getRef()));
    probe.expectMessageClass(ModelPool.Scored.class);
    testKit.stop(pool);
    testKit.stop(otherPool);
    hanging.close();
    other.close();
  }

  @Test
  void aHungWorkerWithoutSparesLeavesThePoolRefusingAtOnce() {
    LoadedModel hanging =
        reload(
            new ModelSettings(
                    "m2", m2.settings().store(), 1, 16, 1, Duration.ZERO, ModelSettings.Fault.NONE)
                .withWatchdog(
                    new ModelSettings.Watchdog(Duration.ofMillis(300), Duration.ofMillis(50), 0))
                .withFault(ModelSettings.Fault.NONE.withHang(HOLD, 1.0)));
    PoolHealth health = new PoolHealth();
    ActorRef<ModelPool.Command> pool = testKit.spawn(ModelPool.create(hanging, THREADS, health));
    TestProbe<ScoreResult> probe = testKit.createTestProbe();
    pool.tell(new ModelPool.Score("h", instance(0), probe.getRef()));
    assertTrue(
        probe.expectMessageClass(ModelPool.Failed.class, HOLD).reason().contains("model hung"));
    assertEquals(0, health.status("m2@1").serving());
    assertEquals(1, THREADS.compensating());
    assertTrue(health.degraded().get("m2@1").contains("0 of 1 worker(s) serving"));
    // nothing can score it in time: refused at once rather than queued behind a hung call
    pool.tell(new ModelPool.Score("r", instance(1), 1_000_000, 2_000_000, probe.getRef()));
    assertEquals("r", probe.expectMessageClass(ModelPool.Overloaded.class).requestId());
    probe.awaitAssert(
        HOLD.plusSeconds(5),
        () -> {
          assertEquals(0, THREADS.compensating());
          return null;
        });
    testKit.stop(pool);
    hanging.close();
  }

  /** A retired version's requests in flight and queued are all answered before its pool stops. */
  @Test
  void aDrainingPoolAnswersWhatItHasThenStops() {
    LoadedModel draining =
        reload(
            new ModelSettings(
                "m2", m2.settings().store(), 1, 16, 1, Duration.ZERO, ModelSettings.Fault.NONE));
    PoolHealth health = new PoolHealth();
    ActorRef<ModelPool.Command> pool = testKit.spawn(ModelPool.create(draining, THREADS, health));
    TestProbe<ScoreResult> probe = testKit.createTestProbe();
    pool.tell(new ModelPool.Score("w", instance(9), probe.getRef()));
    probe.expectMessageClass(ModelPool.Scored.class);
    // the first call holds its worker (well under hang-after), so the rest queue behind it
    TestProbe<ModelPool.HangInjected> injected = testKit.createTestProbe();
    pool.tell(new ModelPool.InjectHang(1, 400, injected.getRef()));
    injected.expectMessageClass(ModelPool.HangInjected.class);
    for (int i = 0; i < 5; i++) {
      pool.tell(new ModelPool.Score("d" + i, instance(i), probe.getRef()));
    }
    TestProbe<ModelPool.Drained> drained = testKit.createTestProbe();
    pool.tell(new ModelPool.Drain(Duration.ofMillis(300), drained.getRef()));
    drained.expectNoMessage(Duration.ofMillis(100));
    List<String> answered = new java.util.ArrayList<>();
    for (int i = 0; i < 5; i++) {
      answered.add(probe.expectMessageClass(ModelPool.Scored.class).requestId());
    }
    assertEquals(List.of("d0", "d1", "d2", "d3", "d4"), answered);
    assertEquals("m2", drained.expectMessageClass(ModelPool.Drained.class).model());
    drained.expectTerminated(pool);
    assertTrue(health.statuses().isEmpty(), "a stopped pool leaves the node's standing");
    draining.close();
  }

  @Test
  void loadFailureNamesModelPathAndCause() {
    Path missing = Path.of("target/no-such-model");
    ModelLoadException e =
        assertThrows(
            ModelLoadException.class,
            () ->
                LoadedModel.load(
                    new ModelSettings(
                        "mx", missing, 1, 1, 1, Duration.ZERO, ModelSettings.Fault.NONE)));
    assertTrue(e.getMessage().contains("'mx'"), e.getMessage());
    assertTrue(e.getMessage().contains(missing.toAbsolutePath().toString()), e.getMessage());
    assertTrue(e.getMessage().contains("no such directory"), e.getMessage());
  }

  @Test
  void directoryPrefersTheLocalPool() {
    WorkerDirectory directory = new WorkerDirectory();
    testKit.spawn(ModelDirectory.create(directory, Set.of("m2")));
    testKit.spawn(ModelPool.create(m2, THREADS, new PoolHealth()));
    TestProbe<Object> wait = testKit.createTestProbe();
    wait.awaitAssert(
        () -> {
          assertTrue(directory.pick("m2").isPresent());
          return null;
        });
    assertTrue(directory.pick("m2").get().path().address().hasLocalScope());
    assertTrue(directory.pick("nope").isEmpty());
    List<String> names = new ArrayList<>(directory.available());
    assertEquals(List.of("m2"), names);
  }

  private static LoadedModel reload(ModelSettings s) {
    try {
      return LoadedModel.load(s);
    } catch (ModelLoadException e) {
      throw new IllegalStateException(e);
    }
  }
}
