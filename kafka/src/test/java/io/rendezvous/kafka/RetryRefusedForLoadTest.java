package io.rendezvous.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.rendezvous.actors.Reply;
import io.rendezvous.actors.Reply.Rejected;
import io.rendezvous.model.TensorData;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** A stream record is asked again while refused for load, and only then; nothing is given up. */
class RetryRefusedForLoadTest {
  static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  static TensorData instance(float v) {
    return TensorData.float32(new long[] {1, 1}, new float[] {v});
  }

  static Reply.Prediction answer(String id) {
    return new Reply.Prediction(
        id,
        null,
        "rendezvous-stream",
        "n",
        "m3",
        "1",
        0,
        "Shirt",
        6,
        new float[] {1},
        1,
        List.of(),
        0);
  }

  /** Answers instance v once it has been asked {@code refusals(v)} times before; refuses before. */
  static final class Rendezvous {
    final List<List<Float>> asked = new ArrayList<>();
    final int[] seen = new int[8];
    final int[] refusals;
    int ids;

    Rendezvous(int... refusals) {
      this.refusals = refusals;
    }

    CompletableFuture<List<Reply>> predict(List<TensorData> instances) {
      List<Float> values = new ArrayList<>();
      List<Reply> out = new ArrayList<>();
      for (TensorData t : instances) {
        int v = (int) t.asFloats()[0];
        values.add(t.asFloats()[0]);
        String id = "req-" + ids++;
        out.add(
            seen[v]++ < refusals[v]
                ? new Rejected(id, 503, "every scheduled model failed: m3 (overloaded)", true)
                : answer(id));
      }
      asked.add(values);
      return CompletableFuture.completedFuture(out);
    }
  }

  RetryRefusedForLoad retry(Rendezvous r) {
    return new RetryRefusedForLoad(
        testKit.system(), r::predict, "k", Duration.ofMillis(1), Duration.ofMillis(4), 10);
  }

  @Test
  void aRefusedInstanceIsAskedAgainUntilAnsweredAndOnlyIt() throws Exception {
    // instance 0 answers at once, instance 1 is refused twice, instance 2 once
    Rendezvous r = new Rendezvous(0, 2, 1);
    List<Reply> replies =
        retry(r)
            .answerAll(List.of(instance(0), instance(1), instance(2)))
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    assertEquals(3, replies.size());
    replies.forEach(x -> assertInstanceOf(Reply.Prediction.class, x));
    // in the record's order, whatever attempt answered each
    assertEquals(
        List.of("req-0", "req-5", "req-4"), replies.stream().map(Reply::requestId).toList());
    assertEquals(List.of(List.of(0f, 1f, 2f), List.of(1f, 2f), List.of(1f)), r.asked);
  }

  @Test
  void aRejectionThatComingAgainWouldNotChangeIsKept() throws Exception {
    List<List<TensorData>> asked = new ArrayList<>();
    RetryRefusedForLoad retry =
        new RetryRefusedForLoad(
            testKit.system(),
            instances -> {
              asked.add(instances);
              return CompletableFuture.completedFuture(
                  List.of(
                      new Rejected("x", 503, "every scheduled model failed: m3 (model error)")));
            },
            "k",
            Duration.ofMillis(1),
            Duration.ofMillis(4),
            10);
    List<Reply> replies =
        retry.answerAll(List.of(instance(0))).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(503, ((Rejected) replies.get(0)).status());
    assertEquals(1, asked.size());
  }

  @Test
  void theBackoffDoublesUpToItsMaximum() {
    RetryRefusedForLoad retry =
        new RetryRefusedForLoad(
            testKit.system(),
            i -> CompletableFuture.completedFuture(List.of()),
            "k",
            Duration.ofMillis(50),
            Duration.ofSeconds(5),
            10);
    assertEquals(Duration.ofMillis(50), retry.backoff(1));
    assertEquals(Duration.ofMillis(100), retry.backoff(2));
    assertEquals(Duration.ofMillis(3200), retry.backoff(7));
    assertEquals(Duration.ofSeconds(5), retry.backoff(8));
    assertEquals(Duration.ofSeconds(5), retry.backoff(1_000));
  }
}
