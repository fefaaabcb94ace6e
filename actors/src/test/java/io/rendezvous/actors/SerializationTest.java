package io.rendezvous.actors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.rendezvous.actors.Reply.ModelScore;
import io.rendezvous.actors.Reply.Prediction;
import io.rendezvous.actors.Reply.Rejected;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.ModelPool;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Every message that can cross nodes survives the CBOR binding, and travels compactly. */
class SerializationTest {
  static final ActorTestKit testKit = ActorTestKit.create(com.typesafe.config.ConfigFactory.load());
  static final SerializationTestKit serialization = new SerializationTestKit(testKit.system());

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @SuppressWarnings("unchecked")
  static <T> T roundTrip(T message) {
    return (T) serialization.verifySerialization(message, false);
  }

  static final TensorData INPUT = TensorData.float32(new long[] {1, 784}, new float[784]);

  @Test
  void predictCarriesTheTensorAsBytesAndTheReplyRef() {
    TestProbe<Reply> probe = testKit.createTestProbe();
    RendezvousEntity.Predict p =
        new RendezvousEntity.Predict(
            new RendezvousEntity.Request(
                "id-1", "client", "rendezvous", INPUT, "image/png", "abc", 123L),
            0L,
            null,
            probe.getRef());
    RendezvousEntity.Predict back = roundTrip(p);
    assertEquals(p, back);
    assertEquals(INPUT, back.request().input());
    String serializer =
        SerializationExtension.get(testKit.system().classicSystem())
            .findSerializerFor(p)
            .getClass()
            .getSimpleName();
    assertEquals("JacksonCborSerializer", serializer);
    int size =
        SerializationExtension.get(testKit.system().classicSystem()).serialize(p).get().length;
    // 784 floats are 3,136 bytes; CBOR's byte string keeps the message close to that
    org.junit.jupiter.api.Assertions.assertTrue(
        size < 3_136 + 600, "Predict is " + size + " bytes");
  }

  @Test
  void repliesRoundTrip() {
    Prediction p =
        new Prediction(
            "id",
            null,
            "rendezvous",
            "n1",
            "m3",
            "1",
            0,
            "Coat",
            4,
            new float[] {0.1f, 0.9f},
            1234,
            List.of(
                new ModelScore("m3", "1", "ok", "Coat", new float[] {0.1f, 0.9f}, 1200, 80, null),
                new ModelScore("m2", null, "pending", null, null, -1, 0, null)),
            1500);
    Prediction back = roundTrip(p);
    assertEquals(p.model(), back.model());
    assertEquals(1500, back.deliveredLateMicros());
    assertArrayEquals(p.probabilities(), back.probabilities());
    assertEquals(2, back.scores().size());
    assertArrayEquals(p.scores().get(0).probabilities(), back.scores().get(0).probabilities());
    assertEquals(p.scores().get(1).probabilities(), back.scores().get(1).probabilities());
    assertEquals(new Rejected("id", 504, "late"), roundTrip(new Rejected("id", 504, "late")));
    assertEquals(RendezvousEntity.Stop.INSTANCE, roundTrip(RendezvousEntity.Stop.INSTANCE));
    assertEquals(
        new RendezvousEntity.Accepted("id", "pekko://rendezvous@127.0.0.1:25520"),
        roundTrip(new RendezvousEntity.Accepted("id", "pekko://rendezvous@127.0.0.1:25520")));
  }

  @Test
  void modelPoolProtocolRoundTrips() {
    TestProbe<ModelPool.ScoreResult> probe = testKit.createTestProbe();
    ModelPool.Score s = new ModelPool.Score("id", INPUT, probe.getRef());
    assertEquals(s, roundTrip(s));
    ModelPool.Score timed = new ModelPool.Score("id", INPUT, 12_345, 2_050_000, probe.getRef());
    assertEquals(timed, roundTrip(timed));
    ModelPool.Scored scored =
        new ModelPool.Scored("id", "m1", "1", new float[][] {{0.5f, 0.5f}}, 42);
    ModelPool.Scored back = assertInstanceOf(ModelPool.Scored.class, roundTrip(scored));
    assertArrayEquals(scored.probabilities()[0], back.probabilities()[0]);
    assertEquals(42, back.inferenceMicros());
    ModelPool.Failed f = new ModelPool.Failed("id", "m1", "1", "boom");
    assertEquals(f, roundTrip(f));
    ModelPool.Overloaded o = new ModelPool.Overloaded("id", "m1", "1");
    assertEquals(o, roundTrip(o));
  }
}
