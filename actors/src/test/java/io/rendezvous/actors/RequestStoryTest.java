package io.rendezvous.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rendezvous.actors.EndpointSettings.Stage;
import io.rendezvous.actors.Reply.ModelScore;
import io.rendezvous.actors.Reply.Prediction;
import io.rendezvous.actors.Reply.Rejected;
import io.rendezvous.actors.schedule.DeadlinePriority;
import io.rendezvous.actors.schedule.Decision;
import io.rendezvous.journal.Journal;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.journal.JournalRecord.Outcome;
import io.rendezvous.model.TensorData;
import io.rendezvous.model.TensorSpec;
import io.rendezvous.workers.ModelPool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The records and replies of one request, on a clock the test moves. No actors, no journal. */
class RequestStoryTest {
  static final EndpointSettings EP =
      new EndpointSettings(
          "ep",
          List.of("m1", "m2", "m3"),
          new TensorSpec("input", "float32", List.of(-1L, 4L)),
          List.of(new Stage("m3", Duration.ZERO), new Stage("m2", Duration.ofMillis(15))),
          DeadlinePriority.INSTANCE,
          Duration.ofMillis(50),
          Duration.ofMillis(5),
          Duration.ofMillis(200),
          List.of("a", "b", "c"));

  final AtomicLong clock = new AtomicLong(1_000_000_000L);

  RequestStory story(long startOffsetMicros) {
    RendezvousEntity.Request request =
        new RendezvousEntity.Request(
            "r1",
            "client-1",
            "ep",
            TensorData.float32(new long[] {1, 4}, new float[4]),
            "json",
            null,
            7L);
    return new RequestStory(
        "r1",
        new RendezvousEntity.Predict(request, startOffsetMicros, null, null),
        "node-1",
        EP,
        clock::get);
  }

  void passes(long micros) {
    clock.addAndGet(micros * 1_000);
  }

  static ModelPool.Scored scored(String model, int top) {
    float[] p = new float[3];
    p[top] = 1f;
    return new ModelPool.Scored("r1", model, "7", new float[][] {p}, 42);
  }

  @Test
  void scoresAreRecordedWithTheirOutcomeAndArrival() {
    RequestStory s = story(0);
    passes(3_000);
    int m3 = s.arrived(scored("m3", 2));
    passes(1_000);
    int m2 = s.arrived(new ModelPool.Overloaded("r1", "m2", "7"));
    int m1 = s.arrived(new ModelPool.Failed("r1", "m1", "7", "boom"));
    assertEquals(List.of(2, 1, 0), List.of(m3, m2, m1));
    assertEquals(-1, s.arrived(scored("m3", 0)), "a second result from the same model");
    assertEquals(-1, s.arrived(scored("m9", 0)), "no model of the endpoint");
    assertTrue(s.complete());

    JournalRecord.Score ok = s.score(m3, false);
    assertEquals(Outcome.OK, ok.outcome());
    assertEquals(3_000, ok.arrivalMicros());
    assertEquals(42, ok.inferenceMicros());
    assertEquals(2, argmax(ok.probabilities()));
    assertEquals(Outcome.LATE, s.score(m3, true).outcome());
    assertEquals(Outcome.OVERLOADED, s.score(m2, false).outcome());
    assertEquals("overloaded", s.score(m2, false).error());
    assertEquals(4_000, s.score(m2, false).arrivalMicros());
    // a failure after the answer is still a failure, not late
    assertEquals(Outcome.FAILED, s.score(m1, true).outcome());
    assertEquals("boom", s.score(m1, true).error());
  }

  @Test
  void anAnswerIsA200AndItsPredictionWaitsForTheJournal() {
    RequestStory s = story(0);
    passes(2_000);
    s.arrived(new ModelPool.Failed("r1", "m1", "7", "boom"));
    s.arrived(scored("m3", 1));
    passes(1_000);
    JournalRecord.Answer record =
        s.decided(new Decision.Answer(0, "m3", "7", new float[] {0f, 1f, 0f}));
    assertEquals(200, record.status());
    assertEquals("m3", record.model());
    assertEquals(0, record.stage());
    assertEquals("b", record.label());
    assertEquals(3_000, record.decidedMicros());
    assertEquals("client-1", record.clientId());
    assertEquals("node-1", record.node());

    RequestStory.Told told = s.confirmed(new Journal.Written("r1", "answer", 0), 0);
    assertNull(told.record(), "nothing more to journal");
    Prediction p = assertInstanceOf(Prediction.class, told.reply());
    assertEquals("b", p.label());
    assertEquals(1, p.labelIndex());
    assertEquals(3_000, p.decidedMicros());
    List<String> outcomes = new ArrayList<>();
    for (ModelScore m : p.scores()) {
      outcomes.add(m.model() + "=" + m.outcome());
    }
    assertEquals(List.of("m1=failed", "m2=pending", "m3=ok"), outcomes);
    assertEquals("boom", p.scores().get(0).error());
    assertEquals(2_000, p.scores().get(2).arrivalMicros());
  }

  @Test
  void noAnswerIsA503Or504WithTheDecisionsText() {
    RequestStory s = story(0);
    JournalRecord.Answer all = s.decided(new Decision.AllFailed("every scheduled model failed: x"));
    assertEquals(503, all.status());
    assertEquals(-1, all.stage());
    assertEquals("every scheduled model failed: x", all.error());
    Rejected r =
        assertInstanceOf(
            Rejected.class, s.confirmed(new Journal.Written("r1", "answer", 0), 0).reply());
    assertEquals(503, r.status());

    RequestStory late = story(0);
    passes(45_000);
    JournalRecord.Answer none = late.decided(new Decision.NoAnswerByDeadline("nothing"));
    assertEquals(504, none.status());
    assertEquals(45_000, none.decidedMicros());
    assertEquals(
        504,
        ((Rejected) late.confirmed(new Journal.Written("r1", "answer", 0), 0).reply()).status());
  }

  @Test
  void anAnswerTheJournalDidNotHoldIsA503WithASecondAnswerRecord() {
    RequestStory s = story(0);
    s.decided(new Decision.Answer(0, "m3", "7", new float[] {0f, 0f, 1f}));
    passes(1_000);
    RequestStory.Told told = s.confirmed(new Journal.NotWritten("r1", "answer", "disk", 1), 0);
    assertEquals(503, told.record().status());
    assertEquals(1_000, told.record().decidedMicros(), "when the 503 replaced the answer");
    assertEquals("journal could not record the answer: disk", told.record().error());
    assertEquals(
        new Rejected("r1", 503, "journal could not record the answer: disk", true), told.reply());

    RequestStory lostInput = story(0);
    lostInput.decided(new Decision.Answer(0, "m3", "7", new float[] {0f, 0f, 1f}));
    Rejected r = (Rejected) lostInput.confirmed(new Journal.Written("r1", "answer", 3), 2).reply();
    assertTrue(r.error().startsWith("journal may not hold the input: 2 record(s)"), r.error());
  }

  @Test
  void anAnswerNotConfirmedBySlaSaysWhenItWasDecided() {
    RequestStory s = story(0);
    passes(3_000);
    s.decided(new Decision.Answer(0, "m3", "7", new float[] {0f, 0f, 1f}));
    passes(47_000);
    RequestStory.Told told = s.notConfirmedWithinSla();
    assertEquals(503, told.record().status());
    assertEquals(50_000, told.record().decidedMicros());
    assertTrue(
        told.record()
            .error()
            .equals(
                "journal did not confirm the answer within the SLA of 50 ms (answer decided at"
                    + " 3.0 ms, 47.0 ms waited)"),
        told.record().error());
  }

  @Test
  void abandoningRecordsOnlyTheMissingModels() {
    RequestStory s = story(0);
    s.arrived(scored("m3", 0));
    assertFalse(s.complete());
    passes(200_000);
    List<JournalRecord> records = new ArrayList<>();
    s.abandonMissing("gone", records::add);
    assertEquals(2, records.size());
    for (JournalRecord r : records) {
      JournalRecord.Score score = (JournalRecord.Score) r;
      assertEquals(Outcome.ABANDONED, score.outcome());
      assertEquals("gone", score.error());
      assertEquals(200_000, score.arrivalMicros());
    }
    assertEquals(
        List.of("m1", "m2"), records.stream().map(r -> ((JournalRecord.Score) r).model()).toList());
    assertTrue(s.complete());
  }

  @Test
  void aRequestThatAlreadyWaitedCountsFromItsOriginalStart() {
    RequestStory s = story(20_000);
    assertEquals(20_000, s.elapsedMicros());
    passes(5_000);
    assertEquals(25_000, s.elapsedMicros());
    assertEquals(50_000, s.slaMicros());
    assertEquals(200_000, s.lingerMicros());
  }

  @Test
  void refusalsBeforeAnyModel() {
    RendezvousEntity.Request wrongShape =
        new RendezvousEntity.Request(
            "r2", null, "ep", TensorData.float32(new long[] {1, 3}, new float[3]), "json", null, 1);
    assertEquals(404, RequestStory.refusal(wrongShape, null).status());
    assertEquals(400, RequestStory.refusal(wrongShape, EP).status());
    assertEquals(
        new Rejected("r2", 409, "request id r2 is already in use"), RequestStory.idInUse("r2"));
  }

  static int argmax(float[] p) {
    int best = 0;
    for (int i = 1; i < p.length; i++) {
      if (p[i] > p[best]) {
        best = i;
      }
    }
    return best;
  }
}
