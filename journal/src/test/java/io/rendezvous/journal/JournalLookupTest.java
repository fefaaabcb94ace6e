package io.rendezvous.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.rendezvous.journal.JournalRecord.Outcome;
import io.rendezvous.model.TensorData;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalLookupTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  @TempDir Path dir;

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  /** A UUIDv7 issued at {@code millis}, as RequestIds draws them. */
  static String idAt(long millis) {
    long msb = (millis << 16) | 0x7000L | ThreadLocalRandom.current().nextInt(0x1000);
    long lsb = 0x8000_0000_0000_0000L | (ThreadLocalRandom.current().nextLong() >>> 2);
    return new UUID(msb, lsb).toString();
  }

  static JournalRecord.Input input(String id, long atMicros, float pixel) {
    return new JournalRecord.Input(
        id,
        null,
        "n1",
        "rendezvous",
        atMicros,
        "oip-v2",
        null,
        TensorData.float32(new long[] {1, 3}, new float[] {pixel, 0f, 1f}),
        null);
  }

  static JournalRecord.Score score(String id, long atMicros, String model, Outcome outcome) {
    return new JournalRecord.Score(
        id,
        "n1",
        "rendezvous",
        atMicros,
        model,
        "1",
        outcome,
        1_000,
        300,
        outcome == Outcome.ABANDONED ? null : new float[] {0.25f, 0.75f},
        null,
        "live");
  }

  static JournalRecord.Answer answer(String id, long atMicros, String label) {
    return new JournalRecord.Answer(
        id,
        null,
        "n1",
        "rendezvous",
        atMicros,
        200,
        "m3",
        "1",
        0,
        label,
        new float[] {0.25f, 0.75f},
        1_200,
        null,
        1,
        "deadline-priority");
  }

  /**
   * {@code count} request stories 5 ms apart ending now, each as the journal holds it (input, three
   * scores, answer, a late score), interleaved with their neighbours as concurrent requests are;
   * returns their ids.
   */
  List<String> writeStories(JournalWriter w, int count) {
    TestProbe<Journal.Ack> ack = testKit.createTestProbe();
    long startMillis = System.currentTimeMillis() - count * 5L;
    List<String> ids = new ArrayList<>();
    List<JournalRecord> records = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      long ms = startMillis + i * 5L;
      String id = idAt(ms);
      ids.add(id);
      long us = ms * 1_000;
      records.add(input(id, us + 100, i / 1000f));
      records.add(score(id, us + 2_000, "m1", Outcome.OK));
      records.add(score(id, us + 3_000, "m3", Outcome.OK));
      records.add(answer(id, us + 3_100, "label-" + i));
      // the slow model's score comes after the next requests have started: it is late
      records.add(score(id, us + 30_000, "m2", Outcome.LATE));
    }
    records.sort(java.util.Comparator.comparingLong(JournalRecord::atMicros));
    for (JournalRecord r : records) {
      assertTrue(w.offer(r, null));
    }
    assertTrue(w.offer(answer(idAt(System.currentTimeMillis()), 0, "end"), ack.getRef()));
    assertInstanceOf(Journal.Written.class, ack.receiveMessage());
    return ids;
  }

  JournalSettings settings() {
    return JournalSettings.fromConfig(ConfigFactory.load()).withDir(dir.resolve("journal"));
  }

  JournalLookup.Window window() {
    return JournalLookup.Window.fromConfig(ConfigFactory.load());
  }

  @Test
  void findsAStoryByTheTimeInItsIdReadingAFractionOfTheJournal() throws Exception {
    JournalSettings s = settings();
    try (JournalWriter w = JournalWriter.start(s)) {
      int count = 3_000; // 15,000 records: within the writer's queue capacity
      List<String> ids = writeStories(w, count);
      try (JournalLookup lookup = JournalLookup.open(s.dir(), s.rollCycle(), window())) {
        for (int i : new int[] {0, 1234, 2999}) {
          JournalLookup.Result r = lookup.find(ids.get(i));
          assertTrue(r.found(), "request " + i);
          JournalLookup.Story story = r.story();
          assertEquals(ids.get(i), story.input().requestId());
          assertArrayEquals(
              new float[] {i / 1000f, 0f, 1f}, story.input().tensor().asFloats(), "the input");
          assertEquals(
              List.of("m1", "m3", "m2"),
              story.scores().stream().map(JournalRecord.Score::model).toList(),
              "every score, the late one too");
          assertEquals("label-" + i, story.answer().label());
          // the window is a few seconds of the journal's 15 s: the rest is never read
          assertTrue(
              r.examined() < count * 5 / 2,
              "read " + r.examined() + " of " + count * 5 + " record headers");
        }
        // told the endpoint's three models, the scan ends with the story's last score
        JournalLookup.Result early = lookup.find(ids.get(1234), endpoint -> 3);
        assertEquals(3, early.story().scores().size());
        assertTrue(
            early.examined() < lookup.find(ids.get(1234)).examined(),
            "stops at the last score, not after-answer later");
        JournalLookup.Result unknown = lookup.find(idAt(System.currentTimeMillis() - 3_000));
        assertFalse(unknown.found());
        assertFalse(unknown.pastRetention());
        JournalLookup.Result old =
            lookup.find(idAt(System.currentTimeMillis() - 30L * 24 * 3600 * 1000));
        assertFalse(old.found());
        assertTrue(old.pastRetention(), "older than the journal's first cycle");
        assertThrows(
            IllegalArgumentException.class,
            () -> lookup.find(UUID.randomUUID().toString()),
            "a v4 UUID is not one of our ids");
      }
    }
  }

  @Test
  void theLastAnswerIsTheOneTheClientGot() throws Exception {
    JournalSettings s = settings();
    TestProbe<Journal.Ack> ack = testKit.createTestProbe();
    try (JournalWriter w = JournalWriter.start(s)) {
      long ms = System.currentTimeMillis();
      String id = idAt(ms);
      w.offer(input(id, ms * 1_000, 0.5f), null);
      JournalRecord.Answer first = answer(id, ms * 1_000 + 5_000, "Coat");
      w.offer(first, null);
      w.offer(first.noted(ms * 1_000 + 9_000, "delivered late"), ack.getRef());
      ack.receiveMessage();
      try (JournalLookup lookup = JournalLookup.open(s.dir(), s.rollCycle(), window())) {
        JournalLookup.Story story = lookup.find(id).story();
        assertEquals("Coat", story.answer().label());
        assertTrue(story.answer().error().contains("delivered late"));
        assertTrue(story.scores().isEmpty());
      }
    }
  }

  @Test
  void aFeedbackRecordKeepsItsStoryOnDiskAndOnItsTopic() throws Exception {
    long us = System.currentTimeMillis() * 1_000;
    String id = idAt(us / 1_000);
    JournalRecord.Feedback f =
        new JournalRecord.Feedback(
            id,
            "n2",
            "rendezvous",
            us + 60_000_000,
            "http:alice",
            "Trouser",
            1,
            "n1",
            input(id, us, 0.5f),
            List.of(
                score(id, us + 1, "m3", Outcome.OK), score(id, us + 2, "m2", Outcome.ABANDONED)),
            answer(id, us + 3, "Coat"));
    JournalSettings s = settings();
    TestProbe<Journal.Ack> ack = testKit.createTestProbe();
    try (JournalWriter w = JournalWriter.start(s)) {
      w.offer(f, ack.getRef());
      assertInstanceOf(Journal.Written.class, ack.receiveMessage());
    }
    JournalRecord.Feedback read =
        assertInstanceOf(
            JournalRecord.Feedback.class, JournalReader.readAll(s.dir()).get(0), "read back");
    assertEquals(f.input(), read.input());
    assertEquals("Trouser", read.label());
    assertEquals(1, read.labelIndex());
    assertEquals("http:alice", read.source());
    assertEquals("n1", read.receivedBy());
    assertEquals(2, read.scores().size());
    assertArrayEquals(new float[] {0.25f, 0.75f}, read.scores().get(0).probabilities());
    assertNull(read.scores().get(1).probabilities());
    assertEquals("Coat", read.answer().label());

    JsonNode json = new ObjectMapper().readTree(JournalJson.toBytes(read));
    assertEquals("feedback", json.get("type").asText());
    assertEquals(id, json.get("id").asText());
    assertEquals("Trouser", json.get("label").asText());
    assertEquals("input", json.get("input").get("type").asText());
    assertEquals(
        java.util.Base64.getEncoder().encodeToString(f.input().tensor().data()),
        json.get("input").get("data_base64").asText());
    assertEquals("m3", json.get("scores").get(0).get("model").asText());
    assertEquals("Coat", json.get("answer").get("label").asText());
  }
}
