package io.rendezvous.workers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rendezvous.model.TensorData;
import io.rendezvous.workers.ModelPool.Score;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The order in which a pool's waiting requests are scored, and which are refused when it is full.
 */
class WaitingRequestsTest {
  static final long MS = 1_000_000L;

  /** What the queue refused, in order. */
  final List<String> refused = new ArrayList<>();

  WaitingRequests queue(int capacity) {
    return new WaitingRequests(capacity, s -> refused.add(s.requestId()));
  }

  static Score score(String id, long decisiveForMillis) {
    return score(id, decisiveForMillis, 1_000);
  }

  static Score score(String id, long decisiveForMillis, long wantedForMillis) {
    return new Score(
        id,
        TensorData.float32(new long[] {1, 1}, new float[1]),
        decisiveForMillis * 1_000,
        wantedForMillis * 1_000,
        null);
  }

  static List<String> ids(List<Score> batch) {
    return batch.stream().map(Score::requestId).toList();
  }

  @Test
  void requestsInTimeAreScoredFirstOldestFirstAndLateOnesAfterThem() {
    WaitingRequests w = queue(16);
    w.offer(score("a", 15), 0);
    w.offer(score("b", 15), 5 * MS);
    w.offer(score("c", 15), 10 * MS);
    w.offer(score("shadow", 0), 10 * MS);
    // at 16 ms a's window has passed: b and c, still in time, go before it
    assertEquals(List.of("b", "c"), ids(w.nextBatch(16, 16 * MS)));
    // the late ones in the order they became late
    assertEquals(List.of("shadow", "a"), ids(w.nextBatch(16, 16 * MS)));
    assertTrue(w.isEmpty());
  }

  @Test
  void aBatchTakesTheOldestInTimeUpToItsSize() {
    WaitingRequests w = queue(16);
    for (int i = 0; i < 5; i++) {
      w.offer(score("r" + i, 15), i * MS);
    }
    assertEquals(List.of("r0", "r1", "r2"), ids(w.nextBatch(3, 5 * MS)));
    assertEquals(List.of("r3", "r4"), ids(w.nextBatch(3, 5 * MS)));
  }

  @Test
  void lateOnesAreScoredOnlyWhenNothingInTimeWaits() {
    WaitingRequests w = queue(16);
    w.offer(score("late", 0), 0);
    w.offer(score("now", 15), 0);
    // room for both in one batch, but the late one does not ride along with the one in time
    assertEquals(List.of("now"), ids(w.nextBatch(16, MS)));
    assertEquals(List.of("late"), ids(w.nextBatch(16, MS)));
  }

  @Test
  void aFullQueueRefusesTheOldestLateRequestToMakeRoomForOneInTime() {
    WaitingRequests w = queue(2);
    w.offer(score("old", 15), 0);
    w.offer(score("younger", 15), 10 * MS);
    // at 12 ms nothing is late yet: the newcomer is refused
    w.offer(score("fresh", 15), 12 * MS);
    assertEquals(List.of("fresh"), refused);
    // at 20 ms "old" is past its window and gives its place to the newcomer
    w.offer(score("fresh2", 15), 20 * MS);
    assertEquals(List.of("fresh", "old"), refused);
    assertEquals(2, w.size());
    // a late newcomer never pushes out anything
    w.offer(score("shadow", 0), 20 * MS);
    assertEquals(List.of("fresh", "old", "shadow"), refused);
    assertEquals(List.of("younger", "fresh2"), ids(w.nextBatch(16, 20 * MS)));
  }

  @Test
  void roomIsFoundBehindTheHeadToo() {
    // a request with a long window at the head, one with a short window (a fallback's) behind it
    WaitingRequests w = queue(2);
    w.offer(score("long", 40), 0);
    w.offer(score("short", 5), 0);
    w.offer(score("new", 15), 10 * MS);
    assertEquals(List.of("short"), refused);
    assertEquals(List.of("long", "new"), ids(w.nextBatch(16, 10 * MS)));
  }

  @Test
  void aLateRequestNobodyRecordsAnyMoreIsRefusedNotScored() {
    WaitingRequests w = queue(16);
    w.offer(score("stale", 0, 100), 0);
    w.offer(score("recent", 0, 100), 50 * MS);
    assertEquals(List.of("recent"), ids(w.nextBatch(16, 120 * MS)));
    assertEquals(List.of("stale"), refused);
  }

  @Test
  void withoutADeadlineARequestIsNeverLate() {
    WaitingRequests w = queue(1);
    w.offer(new Score("any", TensorData.float32(new long[] {1, 1}, new float[1]), null), 0);
    w.offer(
        new Score("other", TensorData.float32(new long[] {1, 1}, new float[1]), null),
        Long.MAX_VALUE / 2);
    assertEquals(List.of("other"), refused);
    assertEquals(1, w.urgentCount());
    assertEquals(0, w.lateCount());
    assertEquals(List.of("any"), ids(w.nextBatch(1, Long.MAX_VALUE / 2)));
  }

  @Test
  void heldRequestsAreTakenWhateverTheCapacity() {
    WaitingRequests w = queue(0);
    w.add(score("held", 15), 0);
    assertEquals(1, w.size());
    assertEquals(List.of("held"), ids(w.nextBatch(1, MS)));
  }

  /** A pool that scores one request every {@code millis}, none being scored now. */
  static WaitingRequests.Backlog pace(long millis) {
    return ahead -> (ahead + 1) * millis * MS;
  }

  @Test
  void admissionTakesEveryRequestThatCanStillBeScoredInTime() {
    // far more than the old count of 64, each scored in its window at 0.1 ms a request
    WaitingRequests w = queue(1024);
    for (int i = 0; i < 300; i++) {
      w.offer(score("r" + i, 45, 2_050), 0, ahead -> (ahead + 1) * MS / 10);
    }
    assertEquals(List.of(), refused);
    assertEquals(300, w.urgentCount());
  }

  @Test
  void aRequestThatWouldMissItsWindowWaitsAsLateNotRefused() {
    WaitingRequests w = queue(1024);
    // 1 ms a request, 15 ms window: the first 15 are scored in time, the rest only for the record
    for (int i = 0; i < 20; i++) {
      w.offer(score("r" + i, 15, 100), 0, pace(1));
    }
    assertEquals(List.of(), refused);
    assertEquals(15, w.urgentCount());
    assertEquals(5, w.lateCount());
    // the late ones are behind everything in time
    assertEquals(15, w.nextBatch(64, MS).size());
    assertEquals(List.of("r15", "r16", "r17", "r18", "r19"), ids(w.nextBatch(64, MS)));
  }

  @Test
  void onlyARequestScoredAfterNobodyWantsItIsRefused() {
    WaitingRequests w = queue(1024);
    // 10 ms a request, wanted for 50 ms: five fit, the sixth would be scored at 60 ms
    for (int i = 0; i < 6; i++) {
      w.offer(score("r" + i, 15, 50), 0, pace(10));
    }
    assertEquals(List.of("r5"), refused);
    assertEquals(5, w.size());
    // time passes on the test clock: r0 and r1 are scored, the pool has room again
    w.nextBatch(2, 20 * MS);
    w.offer(score("later", 15, 50), 20 * MS, pace(10));
    assertEquals(List.of("r5"), refused);
    assertEquals(4, w.size());
  }

  @Test
  void requestsPastTheirWindowAreNotCountedAheadOfANewcomerInTime() {
    WaitingRequests w = queue(1024);
    for (int i = 0; i < 10; i++) {
      w.offer(score("old" + i, 15), 0, pace(1));
    }
    // at 16 ms the ten are past their window: a newcomer is first in time, not eleventh
    w.offer(score("new", 15), 16 * MS, pace(1));
    assertEquals(1, w.urgentCount());
    assertEquals(List.of("new"), ids(w.nextBatch(64, 16 * MS)));
  }

  @Test
  void aPoolThatHasMeasuredNothingRefusesNothingForTime() {
    WaitingRequests w = queue(4);
    for (int i = 0; i < 4; i++) {
      w.offer(score("r" + i, 1, 1), 0, WaitingRequests.Backlog.UNMEASURED);
    }
    assertEquals(List.of(), refused);
    // only the memory bound refuses
    w.offer(score("r4", 1, 1), 0, WaitingRequests.Backlog.UNMEASURED);
    assertEquals(List.of("r4"), refused);
  }

  @Test
  void thePaceIsAMovingAveragePerRequest() {
    ServiceTime t = new ServiceTime();
    assertEquals(0, t.perRequestNanos());
    t.record(16 * MS, 16);
    assertEquals(MS, t.perRequestNanos());
    // one slow batch moves the pace a tenth of the way
    t.record(11 * MS, 1);
    assertEquals(2 * MS, t.perRequestNanos());
  }
}
