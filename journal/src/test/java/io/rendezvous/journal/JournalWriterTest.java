package io.rendezvous.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.rendezvous.journal.JournalRecord.Outcome;
import io.rendezvous.model.TensorData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import net.openhft.chronicle.core.time.SetTimeProvider;
import net.openhft.chronicle.queue.reader.ChronicleReader;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalWriterTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  @TempDir Path dir;

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  JournalSettings settings() {
    return JournalSettings.fromConfig(ConfigFactory.load()).withDir(dir.resolve("journal"));
  }

  static JournalRecord.Input input(String id) {
    return new JournalRecord.Input(
        id,
        "c-" + id,
        "n1",
        "ep",
        10,
        "image/png",
        "abc123",
        TensorData.float32(new long[] {1, 3}, new float[] {0.25f, 0.5f, 1f}),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  }

  @Test
  void everyRecordTypeRoundTripsAndIsAcknowledged() throws Exception {
    TestProbe<Journal.Ack> ack = testKit.createTestProbe();
    List<JournalRecord> written =
        List.of(
            input("r1"),
            new JournalRecord.Score(
                "r1",
                "n1",
                "ep",
                11,
                "m3",
                "1",
                Outcome.OK,
                1500,
                300,
                new float[] {0.1f, 0.9f},
                null,
                "live"),
            new JournalRecord.Score(
                "r1",
                "n1",
                "ep",
                12,
                "m2",
                null,
                Outcome.ABANDONED,
                2_000_000,
                0,
                null,
                "no score"),
            new JournalRecord.Answer(
                "r1",
                "c-r1",
                "n1",
                "ep",
                13,
                200,
                "m3",
                "1",
                0,
                "Coat",
                new float[] {0.1f, 0.9f},
                1600,
                null,
                7,
                "deadline-priority"),
            new JournalRecord.Answer(
                "r2", null, "n1", "ep", 14, 504, null, null, -1, null, null, 45_000, "late"),
            new JournalRecord.Lifecycle(
                "lifecycle-1",
                "n1",
                "ep",
                15,
                "endpoint-changed",
                null,
                null,
                8,
                "endpoint ep: m3@2 live from 0 ms"));
    try (JournalWriter w = JournalWriter.start(settings())) {
      for (JournalRecord r : written) {
        assertTrue(w.offer(r, ack.getRef()));
      }
      for (JournalRecord r : written) {
        assertEquals(
            r.requestId(),
            assertInstanceOf(Journal.Written.class, ack.receiveMessage()).requestId());
      }
    }
    List<JournalRecord> read = JournalReader.readAll(dir.resolve("journal"));
    assertEquals(written.size(), read.size());
    assertEquals(written.get(0), read.get(0));
    JournalRecord.Score s = (JournalRecord.Score) read.get(1);
    assertEquals(Outcome.OK, s.outcome());
    assertEquals("live", s.role());
    assertNull(((JournalRecord.Score) read.get(2)).role(), "a role not recorded reads as none");
    JournalRecord.Answer answered = (JournalRecord.Answer) read.get(3);
    assertEquals(7, answered.generation());
    assertEquals("deadline-priority", answered.policy());
    assertEquals(0, ((JournalRecord.Answer) read.get(4)).generation());
    assertEquals(written.get(5), read.get(5));
    assertArrayEquals(new float[] {0.1f, 0.9f}, s.probabilities());
    assertEquals(1500, s.arrivalMicros());
    JournalRecord.Score abandoned = (JournalRecord.Score) read.get(2);
    assertNull(abandoned.probabilities());
    assertNull(abandoned.version());
    JournalRecord.Answer a = (JournalRecord.Answer) read.get(3);
    assertEquals("Coat", a.label());
    assertEquals(0, a.stage());
    JournalRecord.Answer timeout = (JournalRecord.Answer) read.get(4);
    assertEquals(504, timeout.status());
    assertNull(timeout.clientId());
  }

  @Test
  void aPictureIsStoredWithoutItsZerosAndReadBackExactly() throws Exception {
    float[] picture = new float[784];
    float[] eightBit = new float[784];
    for (int i = 0; i < picture.length; i++) {
      picture[i] = i % 2 == 0 ? 0f : i % 3 == 0 ? -0f : (i % 256) / 255f;
      eightBit[i] = i % 2 == 0 ? 0f : (i % 255 + 1) / 255f;
    }
    JournalRecord.Input in =
        new JournalRecord.Input(
            "pic",
            null,
            "n1",
            "ep",
            10,
            "json",
            null,
            TensorData.float32(new long[] {1, 784}, picture));
    JournalRecord.Input png =
        new JournalRecord.Input(
            "png",
            null,
            "n1",
            "ep",
            11,
            "png",
            null,
            TensorData.float32(new long[] {1, 28, 28}, eightBit));
    TestProbe<Journal.Ack> ack = testKit.createTestProbe();
    long bytes;
    try (JournalWriter w = JournalWriter.start(settings())) {
      assertTrue(w.offer(in, ack.getRef()));
      assertTrue(w.offer(png, ack.getRef()));
      ack.expectMessageClass(Journal.Written.class);
      ack.expectMessageClass(Journal.Written.class);
      bytes = w.appendedBytes();
    }
    assertEquals(List.of(in, png), JournalReader.readAll(dir.resolve("journal")));
    // the -0.0 words keep the first as words; the second takes a byte a pixel
    assertTrue(bytes < 2 * 200 + (98 + 392 * 4) + (98 + 392), "appended " + bytes);
    List<String> dump = new ArrayList<>();
    new ChronicleReader()
        .withBasePath(dir.resolve("journal"))
        .withReadOnly(true)
        .withMessageSink(dump::add)
        .execute();
    String dumped = String.join("\n", dump);
    assertTrue(dumped.contains(InputPacking.WORDS) && dumped.contains(InputPacking.PIXELS), dumped);
    // each record says the lowest format that reads it: only the pixels need 3
    assertTrue(dumped.contains("schema: 2") && dumped.contains("schema: 3"), dumped);
  }

  @Test
  void recordsOfTheFirstFormatAreStillRead() {
    JournalRecord.Input in = input("v1");
    try (net.openhft.chronicle.queue.ChronicleQueue q =
            net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder.binary(
                    dir.resolve("journal"))
                .rollCycle(settings().rollCycle())
                .build();
        net.openhft.chronicle.queue.ExcerptAppender a = q.createAppender();
        net.openhft.chronicle.wire.DocumentContext dc = a.writingDocument()) {
      // format 1, as earlier builds wrote it: no "encoding", the data as it was
      net.openhft.chronicle.wire.WireOut w = dc.wire();
      w.write("schema").int32(1);
      w.write("type").text("input");
      w.write("id").text(in.requestId());
      w.write("node").text(in.node());
      w.write("endpoint").text(in.endpoint());
      w.write("atMicros").int64(in.atMicros());
      w.write("clientId").text(in.clientId());
      w.write("source").text(in.source());
      w.write("sourceSha256").text(in.sourceSha256());
      w.write("dtype").text(in.tensor().dtype());
      w.write("shape")
          .sequence(
              in.tensor().shape(),
              (shape, out) -> {
                for (long d : shape) {
                  out.int64(d);
                }
              });
      w.write("data").bytes(in.tensor().data());
    }
    // read as it was written: with no trace context
    assertEquals(
        List.of(
            new JournalRecord.Input(
                in.requestId(),
                in.clientId(),
                in.node(),
                in.endpoint(),
                in.atMicros(),
                in.source(),
                in.sourceSha256(),
                in.tensor())),
        JournalReader.readAll(dir.resolve("journal")));
  }

  @Test
  void scoresWithProbabilitiesAsNumbersAreStillRead() {
    JournalRecord.Score score =
        new JournalRecord.Score(
            "s2",
            "n1",
            "ep",
            11,
            "m3",
            "1",
            JournalRecord.Outcome.OK,
            1500,
            900,
            new float[] {0.125f, 0.75f, 0.125f},
            null,
            "live");
    try (net.openhft.chronicle.queue.ChronicleQueue q =
            net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder.binary(
                    dir.resolve("journal"))
                .rollCycle(settings().rollCycle())
                .build();
        net.openhft.chronicle.queue.ExcerptAppender a = q.createAppender();
        net.openhft.chronicle.wire.DocumentContext dc = a.writingDocument()) {
      // format 2, as builds before format 4 wrote a score: its probabilities a sequence of numbers
      net.openhft.chronicle.wire.WireOut w = dc.wire();
      w.write("schema").int32(2);
      w.write("type").text("score");
      w.write("id").text(score.requestId());
      w.write("node").text(score.node());
      w.write("endpoint").text(score.endpoint());
      w.write("atMicros").int64(score.atMicros());
      w.write("model").text(score.model());
      w.write("version").text(score.version());
      w.write("outcome").text("ok");
      w.write("arrivalMicros").int64(score.arrivalMicros());
      w.write("inferenceMicros").int64(score.inferenceMicros());
      w.write("probabilities")
          .sequence(
              score.probabilities(),
              (v, out) -> {
                for (float f : v) {
                  out.float32(f);
                }
              });
      w.write("error").text("");
      w.write("role").text("live");
    }
    List<JournalRecord> read = JournalReader.readAll(dir.resolve("journal"));
    assertEquals(1, read.size());
    JournalRecord.Score back = (JournalRecord.Score) read.get(0);
    assertEquals(score.requestId(), back.requestId());
    assertEquals("live", back.role());
    org.junit.jupiter.api.Assertions.assertArrayEquals(score.probabilities(), back.probabilities());
  }

  @Test
  void lazyRecordsAreWrittenInOrderWithTheNextWaitedOnRecordOrByThemselves() throws Exception {
    TestProbe<Journal.Ack> ack = testKit.createTestProbe();
    try (JournalWriter w = JournalWriter.start(settings())) {
      // a writer gone idle, then one lazy record alone: written all the same
      ack.expectNoMessage(Duration.ofMillis(200));
      assertTrue(w.offerLazily(input("alone"), ack.getRef()));
      assertEquals("alone", ack.expectMessageClass(Journal.Written.class).requestId());
      // a request's story: the input and a score need no haste, the answer brings them along, in
      // order
      assertTrue(w.offerLazily(input("r1"), ack.getRef()));
      assertTrue(
          w.offerLazily(
              new JournalRecord.Score(
                  "r1",
                  "n1",
                  "ep",
                  11,
                  "m3",
                  "1",
                  Outcome.OK,
                  1500,
                  300,
                  new float[] {0.1f, 0.9f},
                  null),
              null));
      assertTrue(
          w.offer(
              new JournalRecord.Answer(
                  "r1",
                  null,
                  "n1",
                  "ep",
                  13,
                  200,
                  "m3",
                  "1",
                  0,
                  "Coat",
                  new float[] {0.1f, 0.9f},
                  1600,
                  null),
              ack.getRef()));
      Journal.Ack first = ack.expectMessageClass(Journal.Written.class);
      Journal.Ack second = ack.expectMessageClass(Journal.Written.class);
      assertEquals(List.of("input", "answer"), List.of(first.recordType(), second.recordType()));
      // a late score after the answer, and nothing after it: still written
      assertTrue(
          w.offerLazily(
              new JournalRecord.Score(
                  "r1",
                  "n1",
                  "ep",
                  14,
                  "m1",
                  "1",
                  Outcome.LATE,
                  40_000,
                  300,
                  new float[] {0.5f, 0.5f},
                  null),
              ack.getRef()));
      assertEquals("score", ack.expectMessageClass(Journal.Written.class).recordType());
      assertEquals(0, w.pending());
    }
    List<String> types =
        JournalReader.readAll(dir.resolve("journal")).stream().map(JournalRecord::type).toList();
    assertEquals(List.of("input", "input", "score", "answer", "score"), types);
  }

  @Test
  void offersFromManyThreadsAreEachWrittenOnceInTheirOrderOrRefusedWhenClosed() throws Exception {
    int threads = 4;
    int perThread = 3_000;
    TestProbe<Journal.Ack> ack = testKit.createTestProbe();
    JournalWriter w = JournalWriter.start(settings());
    AtomicIntegerArray accepted = new AtomicIntegerArray(threads);
    CountDownLatch halfway = new CountDownLatch(threads);
    List<Thread> offerers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int thread = t;
      Thread offerer =
          new Thread(
              () -> {
                for (int k = 0; k < perThread; k++) {
                  if (k == perThread / 2) {
                    halfway.countDown();
                  }
                  // every tenth waited on, the others lazy: both kinds wake the writer their way
                  boolean ok =
                      k % 10 == 0
                          ? w.offer(input(thread + "-" + k), ack.getRef())
                          : w.offerLazily(input(thread + "-" + k), null);
                  if (!ok) {
                    break;
                  }
                  accepted.incrementAndGet(thread);
                }
              });
      offerers.add(offerer);
      offerer.start();
    }
    // closed while the offers go on: what was taken is written, the rest refused, nothing lost
    halfway.await();
    w.close();
    for (Thread offerer : offerers) {
      offerer.join();
    }
    assertEquals(0, w.pending());
    int[] next = new int[threads];
    for (JournalRecord r : JournalReader.readAll(dir.resolve("journal"))) {
      String[] parts = r.requestId().split("-");
      int thread = Integer.parseInt(parts[0]);
      assertEquals(next[thread], Integer.parseInt(parts[1]), "thread " + thread + "'s order");
      next[thread]++;
    }
    long total = 0;
    for (int t = 0; t < threads; t++) {
      assertEquals(accepted.get(t), next[t], "thread " + t + ": accepted and written");
      assertTrue(next[t] >= perThread / 2, "thread " + t + " wrote " + next[t]);
      total += next[t];
    }
    assertEquals(total, w.appended());
  }

  @Test
  void aLazyRecordWaitsForAWaitedOnOneWhileTheWriterDozes() throws Exception {
    JournalSettings d = settings();
    // a doze far longer than this test: what a lazy record gets, it gets from the waited-on record
    JournalSettings s =
        new JournalSettings(
            d.enabled(),
            d.dir(),
            d.rollCycle(),
            d.queueCapacity(),
            d.maxBatch(),
            d.retentionMaxAge(),
            d.retentionMaxBytes(),
            d.minFreeBytes(),
            d.checkInterval(),
            Duration.ofMinutes(1));
    TestProbe<Journal.Ack> ack = testKit.createTestProbe();
    try (JournalWriter w = JournalWriter.start(s)) {
      assertTrue(w.offer(input("first"), ack.getRef()));
      assertEquals("first", ack.expectMessageClass(Journal.Written.class).requestId());
      // the writer now dozes: a lazy record does not wake it
      ack.awaitAssert(
          () -> {
            assertTrue(w.dozing());
            return null;
          });
      assertTrue(w.offerLazily(input("lazy"), ack.getRef()));
      ack.expectNoMessage(Duration.ofMillis(300));
      assertEquals(1, w.pending());
      assertTrue(w.offer(input("waited-on"), ack.getRef()));
      assertEquals("lazy", ack.expectMessageClass(Journal.Written.class).requestId());
      assertEquals("waited-on", ack.expectMessageClass(Journal.Written.class).requestId());
    }
  }

  @Test
  void acknowledgementsAreToldFromTheGivenExecutorInTheOrderOfTheOffers() throws Exception {
    TestProbe<Journal.Ack> ack = testKit.createTestProbe();
    // several threads: tasks that ran side by side would tell out of order
    ExecutorService pool = Executors.newFixedThreadPool(4);
    AtomicInteger tasks = new AtomicInteger();
    int records = 3_000;
    try (JournalWriter w = JournalWriter.start(settings())) {
      w.acknowledgeOn(
          task -> {
            tasks.incrementAndGet();
            // a task that starts late, as on a busy dispatcher: what the writer makes meanwhile
            // must not overtake what it holds
            pool.execute(
                () -> {
                  LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(1_000_000));
                  task.run();
                });
          });
      for (int k = 0; k < records; k++) {
        // lazy ones wait for the next waited-on one: batches of every size, lone ones among them
        boolean ok =
            k % 7 == 0 || k % 3 == 0
                ? w.offer(input("r-" + k), ack.getRef())
                : w.offerLazily(input("r-" + k), ack.getRef());
        assertTrue(ok);
        if (k % 7 == 0) {
          // a pause after some waited-on records: many small batches, lone ones among them, whose
          // tasks would overlap
          LockSupport.parkNanos(200_000);
        }
      }
      for (int k = 0; k < records; k++) {
        assertEquals(
            "r-" + k, ack.expectMessageClass(Journal.Written.class).requestId(), "ack " + k);
      }
      assertTrue(tasks.get() > 0, "no acknowledgement was told from the executor");
    } finally {
      pool.shutdown();
    }
  }

  @Test
  void chronicleOwnReaderCanDumpTheJournal() {
    try (JournalWriter w = JournalWriter.start(settings())) {
      TestProbe<Journal.Ack> ack = testKit.createTestProbe();
      w.offer(input("chron-1"), ack.getRef());
      ack.receiveMessage();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    List<String> out = new ArrayList<>();
    new ChronicleReader()
        .withBasePath(dir.resolve("journal"))
        .withReadOnly(true)
        .withMessageSink(out::add)
        .execute();
    String all = String.join("\n", out);
    assertTrue(all.contains("chron-1"), all);
    assertTrue(all.contains("image/png"), all);
  }

  @Test
  void closingWritesWhatIsQueuedAndAFailedRecordIsCountedBeforeItIsAnswered() throws Exception {
    AtomicLong free = new AtomicLong(10_000);
    JournalSettings d = settings().withMinFreeBytes(5_000);
    // a doze far longer than this test, and frequent free-space checks
    JournalSettings s =
        new JournalSettings(
            d.enabled(),
            d.dir(),
            d.rollCycle(),
            d.queueCapacity(),
            d.maxBatch(),
            d.retentionMaxAge(),
            d.retentionMaxBytes(),
            d.minFreeBytes(),
            Duration.ofMillis(20),
            Duration.ofMinutes(1));
    TestProbe<Journal.Ack> ack = testKit.createTestProbe();
    try (JournalWriter w = JournalWriter.start(s, null, dir -> free.get())) {
      assertTrue(w.offer(input("first"), ack.getRef()));
      ack.expectMessageClass(Journal.Written.class);
      ack.awaitAssert(
          () -> {
            assertTrue(w.dozing());
            return null;
          });
      assertTrue(w.offerLazily(input("queued"), ack.getRef()));
      w.close(Duration.ofSeconds(10));
      Journal.Written queued = ack.expectMessageClass(Journal.Written.class);
      assertEquals("queued", queued.requestId());
      assertEquals(0, queued.failures());
      assertEquals(0, w.failures());
    }
    try (JournalWriter w = JournalWriter.start(s, null, dir -> free.get())) {
      assertTrue(w.offer(input("second"), ack.getRef()));
      ack.expectMessageClass(Journal.Written.class);
      ack.awaitAssert(
          () -> {
            assertTrue(w.dozing());
            return null;
          });
      // accepted while the disk was fine, taken once it is not
      assertTrue(w.offerLazily(input("stranded"), ack.getRef()));
      free.set(1_000);
      ack.awaitAssert(
          () -> {
            assertFalse(w.isWritable());
            return null;
          });
      w.close(Duration.ofSeconds(10));
      Journal.NotWritten nw = ack.expectMessageClass(Journal.NotWritten.class);
      assertEquals("stranded", nw.requestId());
      // counted before it was answered: the answer carries the count including itself
      assertEquals(1, nw.failures());
      assertEquals(1, w.failures());
    }
    List<String> ids =
        JournalReader.readAll(dir.resolve("journal")).stream()
            .map(JournalRecord::requestId)
            .toList();
    assertEquals(List.of("first", "queued", "second"), ids);
  }

  @Test
  void refusesBelowTheFreeSpaceThresholdAndRecoversByItself() throws Exception {
    AtomicLong free = new AtomicLong(10_000);
    JournalSettings s = settings().withMinFreeBytes(5_000);
    s =
        new JournalSettings(
            s.enabled(),
            s.dir(),
            s.rollCycle(),
            s.queueCapacity(),
            s.maxBatch(),
            s.retentionMaxAge(),
            s.retentionMaxBytes(),
            s.minFreeBytes(),
            Duration.ofMillis(20),
            s.lazyWriteDelay());
    try (JournalWriter w = JournalWriter.start(s, null, d -> free.get())) {
      TestProbe<Journal.Ack> ack = testKit.createTestProbe();
      assertTrue(w.offer(input("a"), ack.getRef()));
      ack.expectMessageClass(Journal.Written.class);
      free.set(1_000);
      ack.awaitAssert(
          () -> {
            assertFalse(w.isWritable());
            return null;
          });
      assertFalse(w.offer(input("b"), null));
      assertTrue(w.unwritableReason().contains("below the threshold"), w.unwritableReason());
      free.set(10_000);
      ack.awaitAssert(
          () -> {
            assertTrue(w.isWritable());
            return null;
          });
      assertTrue(w.offer(input("c"), ack.getRef()));
      ack.expectMessageClass(Journal.Written.class);
    }
    List<String> ids =
        JournalReader.readAll(dir.resolve("journal")).stream()
            .map(JournalRecord::requestId)
            .toList();
    assertEquals(List.of("a", "c"), ids);
  }

  @Test
  void realFreeSpaceBelowAConfiguredThresholdRefusesAtStart() throws Exception {
    try (JournalWriter w = JournalWriter.start(settings().withMinFreeBytes(Long.MAX_VALUE))) {
      assertFalse(w.isWritable());
      assertFalse(w.offer(input("x"), null));
      assertEquals(1, w.refused());
    }
  }

  @Test
  void retentionRemovesTheOldestCyclesButNeverTheCurrentOne() throws Exception {
    SetTimeProvider clock = new SetTimeProvider(System.currentTimeMillis());
    JournalSettings s = settings().withRetention(Duration.ofDays(365), 1);
    Path journal = s.dir();
    try (JournalWriter w = JournalWriter.start(s, clock, d -> Long.MAX_VALUE)) {
      TestProbe<Journal.Ack> ack = testKit.createTestProbe();
      for (int hour = 0; hour < 4; hour++) {
        w.offer(input("h" + hour), ack.getRef());
        ack.expectMessageClass(Journal.Written.class);
        clock.advanceMillis(TimeUnit.HOURS.toMillis(1));
      }
      w.offer(input("last"), ack.getRef());
      ack.expectMessageClass(Journal.Written.class);
      assertTrue(cycleFiles(journal) >= 2, "cycles rolled");
      long before = cycleFiles(journal);
      // a consumer (the Kafka outbox) still needs the oldest record: nothing may go
      long oldest;
      try (JournalReader.Tail tail = JournalReader.tail(journal, -1)) {
        oldest = tail.next(1).get(0).index();
      }
      w.retainFrom(() -> oldest);
      w.enforceRetention();
      assertEquals(before, cycleFiles(journal));
      w.retainFrom(() -> -1);
      w.enforceRetention();
      assertEquals(1, cycleFiles(journal));
    }
    List<String> ids =
        JournalReader.readAll(journal).stream().map(JournalRecord::requestId).toList();
    assertEquals(List.of("last"), ids);
  }

  static long cycleFiles(Path dir) throws Exception {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.toString().endsWith(".cq4")).count();
    }
  }

  /** Appends {@code id}'s input record and waits until it is written. */
  void write(JournalSettings s, String id) throws Exception {
    try (JournalWriter w = JournalWriter.start(s)) {
      TestProbe<Journal.Ack> ack = testKit.createTestProbe();
      w.offer(input(id), ack.getRef());
      ack.expectMessageClass(Journal.Written.class);
    }
  }

  @Test
  void aRecordThatCannotBeDecodedIsReturnedAsUnreadableAndTheTailGoesOn() throws Exception {
    JournalSettings s = settings();
    write(s, "before");
    // an excerpt of a schema this build cannot read, as a newer build or damage would leave
    try (net.openhft.chronicle.queue.impl.single.SingleChronicleQueue q =
            net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder.binary(s.dir())
                .rollCycle(s.rollCycle())
                .build();
        net.openhft.chronicle.queue.ExcerptAppender a = q.createAppender()) {
      a.writeDocument(w -> w.write("schema").int32(99));
    }
    write(s, "after");
    try (JournalReader.Tail tail = JournalReader.tail(s.dir(), -1)) {
      List<JournalReader.Indexed> read = tail.next(10);
      assertEquals(3, read.size());
      assertEquals("before", read.get(0).record().requestId());
      assertNull(read.get(1).record());
      assertTrue(read.get(1).unreadable().contains("schema 99"), read.get(1).unreadable());
      assertEquals("after", read.get(2).record().requestId());
      assertTrue(tail.next(10).isEmpty());
    }
  }
}
