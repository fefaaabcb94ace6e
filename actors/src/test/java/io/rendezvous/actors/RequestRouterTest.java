package io.rendezvous.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.typesafe.config.ConfigFactory;
import io.rendezvous.actors.EndpointSettings.Stage;
import io.rendezvous.actors.Reply.Prediction;
import io.rendezvous.actors.schedule.DeadlinePriority;
import io.rendezvous.journal.JournalSettings;
import io.rendezvous.journal.JournalWriter;
import io.rendezvous.model.TensorData;
import io.rendezvous.model.TensorSpec;
import io.rendezvous.workers.ModelPool;
import io.rendezvous.workers.WorkerDirectory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The edge re-sends a request its entity did not accept, and falls back to a local entity when a
 * member is unreachable.
 */
class RequestRouterTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  static final RequestRouter.Settings SETTINGS =
      new RequestRouter.Settings(
          Duration.ofMillis(10),
          Duration.ofMillis(20),
          Duration.ofSeconds(1),
          Duration.ofSeconds(2),
          Duration.ofMillis(2),
          4);

  @TempDir Path dir;
  JournalWriter journal;
  RendezvousRuntime runtime;

  /** A model that answers every request at once. */
  static Behavior<ModelPool.Command> answering(String model) {
    return Behaviors.receiveMessage(
        m -> {
          if (m instanceof ModelPool.Score s) {
            s.replyTo()
                .tell(
                    new ModelPool.Scored(
                        s.requestId(), model, "1", new float[][] {{0.2f, 0.8f}}, 5));
          }
          return Behaviors.same();
        });
  }

  @BeforeEach
  void setUp() throws Exception {
    journal =
        JournalWriter.start(
            JournalSettings.fromConfig(ConfigFactory.load()).withDir(dir.resolve("journal")));
    WorkerDirectory directory = new WorkerDirectory();
    directory.update("m1", List.of(testKit.spawn(answering("m1"))));
    EndpointSettings ep =
        new EndpointSettings(
            "ep",
            List.of("m1"),
            new TensorSpec("input", "float32", List.of(-1L, 2L)),
            List.of(new Stage("m1", Duration.ZERO)),
            DeadlinePriority.INSTANCE,
            Duration.ofMillis(500),
            Duration.ofMillis(5),
            Duration.ofMillis(100),
            List.of("a", "b"));
    runtime = new RendezvousRuntime("edge-node", Map.of("ep", ep), directory, journal);
  }

  @AfterEach
  void tearDown() {
    journal.close();
  }

  @AfterAll
  static void stopAll() {
    testKit.shutdownTestKit();
  }

  static RequestRouter.Submit submit(String id, ActorRef<Reply> replyTo) {
    return new RequestRouter.Submit(
        new RendezvousEntity.Request(
            id,
            null,
            "ep",
            TensorData.float32(new long[] {1, 2}, new float[] {1, 2}),
            "json",
            null,
            1L),
        replyTo);
  }

  @Test
  void aLostRequestIsResentAndAnsweredOnce() {
    TestProbe<ShardingEnvelope<RendezvousEntity.Command>> region = testKit.createTestProbe();
    ActorRef<RequestRouter.Command> router =
        testKit.spawn(
            RequestRouter.create(region.getRef(), runtime, SETTINGS, java.util.Optional::empty));
    TestProbe<Reply> client = testKit.createTestProbe();
    router.tell(submit("lost-1", client.getRef()));
    ShardingEnvelope<RendezvousEntity.Command> first =
        region.receiveMessage(); // lost in a hand-off
    ShardingEnvelope<RendezvousEntity.Command> resent =
        region.receiveMessage(Duration.ofSeconds(2));
    assertEquals("lost-1", resent.entityId());
    ActorRef<RendezvousEntity.Command> entity =
        testKit.spawn(RendezvousEntity.create("lost-1", null, runtime));
    entity.tell(resent.message());
    entity.tell(first.message()); // the first copy turns up late after all: answered only once
    Prediction p = assertInstanceOf(Prediction.class, client.receiveMessage(Duration.ofSeconds(2)));
    assertEquals("edge-node", p.node());
    client.expectNoMessage(Duration.ofMillis(200));
    region.expectNoMessage(Duration.ofMillis(100)); // accepted: no more copies
  }

  @Test
  void anUnreachableEntityIsServedByALocalFallbackWithinTheSla() {
    TestProbe<ShardingEnvelope<RendezvousEntity.Command>> region =
        testKit.createTestProbe(); // never answers
    ActorRef<RequestRouter.Command> router =
        testKit.spawn(
            RequestRouter.create(
                region.getRef(),
                runtime,
                SETTINGS,
                () -> java.util.Optional.of(Duration.ofMillis(20))));
    TestProbe<Reply> client = testKit.createTestProbe();
    router.tell(submit("fb-1", client.getRef()));
    Prediction p = assertInstanceOf(Prediction.class, client.receiveMessage(Duration.ofSeconds(2)));
    assertEquals("m1", p.model());
    assertEquals("fb-1", p.requestId());
  }

  @Test
  void underLoadTheFallbackWaitsForSeveralAcceptanceTimes() {
    AcceptanceTime t = new AcceptanceTime();
    Duration policy = Duration.ofMillis(20);
    long cap = 250_000_000L;
    // nothing measured: the policy's wait
    assertEquals(20_000_000L, t.fallbackWaitNanos(policy, 4, cap));
    // quick acceptances: still the policy's wait
    t.record(1_000_000);
    assertEquals(20_000_000L, t.fallbackWaitNanos(policy, 4, cap));
    // acceptances slowed by load to 10 ms on average: four times that
    for (int i = 0; i < 100; i++) {
      t.record(10_000_000);
    }
    assertEquals(40_000_000L, t.fallbackWaitNanos(policy, 4, cap), 100_000);
    // but never past the cap (half the decision deadline): the fallback must leave time to answer
    assertEquals(22_500_000L, t.fallbackWaitNanos(policy, 4, 22_500_000L));
  }

  @Test
  void withEveryMemberReachableThereIsNoFallbackOnlyResends() {
    TestProbe<ShardingEnvelope<RendezvousEntity.Command>> region = testKit.createTestProbe();
    ActorRef<RequestRouter.Command> router =
        testKit.spawn(
            RequestRouter.create(region.getRef(), runtime, SETTINGS, java.util.Optional::empty));
    TestProbe<Reply> client = testKit.createTestProbe();
    router.tell(submit("slow-1", client.getRef()));
    // the first copy at once, resends after 10, 20 and 40 ms more
    List<ShardingEnvelope<RendezvousEntity.Command>> sent =
        region.receiveSeveralMessages(4, Duration.ofSeconds(2));
    sent.forEach(e -> assertEquals("slow-1", e.entityId()));
    client.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void aRequestNeverAcceptedIsDroppedAfterTheSlaAndGrace() {
    TestProbe<ShardingEnvelope<RendezvousEntity.Command>> region = testKit.createTestProbe();
    RequestRouter.Settings shortGrace =
        new RequestRouter.Settings(
            Duration.ofMillis(10),
            Duration.ofMillis(20),
            Duration.ofSeconds(1),
            Duration.ofMillis(50),
            Duration.ofMillis(2),
            4);
    ActorRef<RequestRouter.Command> router =
        testKit.spawn(
            RequestRouter.create(region.getRef(), runtime, shortGrace, java.util.Optional::empty));
    TestProbe<Reply> client = testKit.createTestProbe();
    router.tell(submit("never-1", client.getRef()));
    // sent at 0, then 10, 30, 70, 150 and 310 ms; the next would be at 630, past the SLA (500) plus
    // grace (50)
    region
        .receiveSeveralMessages(6, Duration.ofSeconds(3))
        .forEach(e -> assertEquals("never-1", e.entityId()));
    region.expectNoMessage(Duration.ofMillis(500));
  }

  @Test
  void aFailureWhileCheckingTheTableLosesNoRequest() {
    TestProbe<ShardingEnvelope<RendezvousEntity.Command>> region =
        testKit.createTestProbe(); // never answers
    java.util.concurrent.atomic.AtomicInteger asked =
        new java.util.concurrent.atomic.AtomicInteger();
    // the cluster view throws once, as a bug in it would; the router resumes and falls back on a
    // later check
    ActorRef<RequestRouter.Command> router =
        testKit.spawn(
            RequestRouter.create(
                region.getRef(),
                runtime,
                SETTINGS,
                () -> {
                  if (asked.getAndIncrement() == 0) {
                    throw new IllegalStateException("membership view failed");
                  }
                  return java.util.Optional.of(Duration.ofMillis(20));
                }));
    TestProbe<Reply> client = testKit.createTestProbe();
    router.tell(submit("fails-1", client.getRef()));
    Prediction p = assertInstanceOf(Prediction.class, client.receiveMessage(Duration.ofSeconds(2)));
    assertEquals("fails-1", p.requestId());
    router.tell(submit("after-1", client.getRef()));
    assertEquals(
        "after-1",
        assertInstanceOf(Prediction.class, client.receiveMessage(Duration.ofSeconds(2)))
            .requestId());
  }

  /**
   * An id other than {@code taken} in {@code shard}, or in another shard if {@code same} is false.
   */
  static String idIn(String shard, boolean same, String prefix) {
    var shards = RendezvousEntity.shards(testKit.system());
    for (int i = 0; ; i++) {
      String id = prefix + i;
      if (shards.shardId(id).equals(shard) == same) {
        return id;
      }
    }
  }

  /** The next envelope for {@code id}, skipping the resends of other requests. */
  static ShardingEnvelope<RendezvousEntity.Command> nextFor(
      TestProbe<ShardingEnvelope<RendezvousEntity.Command>> region, String id) {
    while (true) {
      ShardingEnvelope<RendezvousEntity.Command> e = region.receiveMessage(Duration.ofSeconds(2));
      if (e.entityId().equals(id)) {
        return e;
      }
    }
  }

  @Test
  void aRequestWhoseShardHomeIsOutIsServedHereAtOnceUntilANewHomeAccepts() {
    TestProbe<ShardingEnvelope<RendezvousEntity.Command>> region = testKit.createTestProbe();
    java.util.Set<String> out = java.util.concurrent.ConcurrentHashMap.newKeySet();
    // membership looks stable: the usual fallback would wait a minute, far past the SLA
    RequestRouter.FallbackPolicy policy =
        new RequestRouter.FallbackPolicy() {
          @Override
          public java.util.Optional<Duration> waitBeforeFallback() {
            return java.util.Optional.of(Duration.ofMinutes(1));
          }

          @Override
          public boolean isOut(String address) {
            return out.contains(address);
          }
        };
    ActorRef<RequestRouter.Command> router =
        testKit.spawn(RequestRouter.create(region.getRef(), runtime, SETTINGS, policy));
    TestProbe<Reply> client = testKit.createTestProbe();

    // the entity of a first request accepts it on its node: the router learns the shard's home
    router.tell(submit("home-0", client.getRef()));
    ShardingEnvelope<RendezvousEntity.Command> first = region.receiveMessage();
    ActorRef<RendezvousEntity.Command> entity =
        testKit.spawn(RendezvousEntity.create("home-0", null, runtime));
    entity.tell(first.message());
    assertInstanceOf(Prediction.class, client.receiveMessage(Duration.ofSeconds(2)));
    String shard = RendezvousEntity.shards(testKit.system()).shardId("home-0");

    // that node goes out: a request of the same shard is answered here, and still sent to the
    // region
    // (whose coordinator will allocate the shard elsewhere)
    out.add(testKit.system().address().toString());
    String sameShard = idIn(shard, true, "same-");
    router.tell(submit(sameShard, client.getRef()));
    assertEquals(sameShard, nextFor(region, sameShard).entityId());
    Prediction served =
        assertInstanceOf(Prediction.class, client.receiveMessage(Duration.ofSeconds(2)));
    assertEquals(sameShard, served.requestId());

    // a request of another shard, whose home was never seen out, waits for its entity as before
    String otherShard = idIn(shard, false, "other-");
    router.tell(submit(otherShard, client.getRef()));
    assertEquals(otherShard, nextFor(region, otherShard).entityId());
    client.expectNoMessage(Duration.ofMillis(300));

    // the shard's new home accepts a request: the next ones of the shard go there only
    String moved = idIn(shard, true, "moved-");
    router.tell(submit(moved, client.getRef()));
    RendezvousEntity.Predict toNewHome =
        (RendezvousEntity.Predict) nextFor(region, moved).message();
    client.receiveMessage(Duration.ofSeconds(2)); // still served here: no new home known yet
    toNewHome
        .acceptedTo()
        .tell(new RendezvousEntity.Accepted(moved, "pekko://rendezvous@10.0.0.9:25520"));
    String after = idIn(shard, true, "after-");
    router.tell(submit(after, client.getRef()));
    assertEquals(after, nextFor(region, after).entityId());
    client.expectNoMessage(Duration.ofMillis(300));
  }
}
