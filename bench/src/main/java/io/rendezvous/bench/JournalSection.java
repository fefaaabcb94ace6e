package io.rendezvous.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.journal.JournalSettings;
import io.rendezvous.journal.JournalWriter;
import io.rendezvous.model.TensorData;
import io.rendezvous.workers.data.FashionMnist;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * What journaling one request costs, away from HTTP and the models: whole request stories (a
 * hold-out input, three scores, the answer, as the entity offers them) through a journal writer set
 * up as the node's, as fast as it takes them. Measured on the writer's own thread, so the figure is
 * the CPU a request's records cost, which the throughput of a loaded 2-core machine shows only
 * through noise.
 */
final class JournalSection {
  /** How long the section waits on a writer that appends nothing before it gives up. */
  static final Duration JOURNAL_STALL = Duration.ofSeconds(30);

  static final long JOURNAL_POLL_NANOS = 50_000;

  private final RunContext run;
  private final HarnessOptions o;
  private final PrintStream out;

  JournalSection(RunContext run) {
    this.run = run;
    this.o = run.options;
    this.out = run.out;
  }

  void run(List<FashionMnist.Sample> holdout) throws Exception {
    out.println();
    out.println(
        "Journal alone: request stories (a hold-out input, 3 scores, the answer) through the node's journal"
            + " writer, median of "
            + o.repeats()
            + " runs of "
            + o.computeSeconds()
            + " s (min-max)");
    Path dir = Files.createTempDirectory("rendezvous-bench-journal");
    List<TensorData> inputs =
        holdout.stream()
            .limit(500)
            .map(s -> TensorData.float32(new long[] {1, s.pixels().length}, s.scaled()))
            .toList();
    float[] probabilities = new float[10];
    Arrays.fill(probabilities, 0.1f);
    List<Double> perSecond = new ArrayList<>();
    List<Double> cpuMicros = new ArrayList<>();
    // user time apart: the rest is the kernel's (page faults on the mapped file's fresh pages)
    List<Double> userMicros = new ArrayList<>();
    List<Double> bytes = new ArrayList<>();
    JournalSettings settings =
        JournalSettings.fromConfig(run.nodeConfig(dir, "")).withDir(dir.resolve("journal"));
    if (!settings.enabled()) {
      out.println("  the journal is off (rendezvous.journal.enabled): nothing to measure");
      RunContext.deleteTree(dir);
      return;
    }
    try (JournalWriter writer = JournalWriter.start(settings)) {
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      long writerThread =
          Thread.getAllStackTraces().keySet().stream()
              .filter(t -> t.getName().equals(JournalWriter.THREAD_NAME))
              .mapToLong(Thread::getId)
              .max()
              .orElseThrow();
      long[] story = {0};
      // unmeasured first: the JIT compiles the writer's path
      writeStories(writer, inputs, probabilities, story, o.computeSeconds());
      for (int r = 1; r <= o.repeats(); r++) {
        long appendedBytes = writer.appendedBytes();
        long cpu = threads.getThreadCpuTime(writerThread);
        long user = threads.getThreadUserTime(writerThread);
        long start = System.nanoTime();
        // five records a story
        double stories =
            writeStories(writer, inputs, probabilities, story, o.computeSeconds()) / 5.0;
        double seconds = (System.nanoTime() - start) / 1e9;
        long cpuAfter = threads.getThreadCpuTime(writerThread);
        long userAfter = threads.getThreadUserTime(writerThread);
        perSecond.add(stories / seconds);
        // -1: this JVM cannot tell a thread's CPU time
        cpuMicros.add(cpu < 0 || cpuAfter < 0 ? Double.NaN : (cpuAfter - cpu) / 1e3 / stories);
        userMicros.add(user < 0 || userAfter < 0 ? Double.NaN : (userAfter - user) / 1e3 / stories);
        bytes.add((writer.appendedBytes() - appendedBytes) / stories);
        run.csvRow(
            "journal",
            "writer",
            "1",
            Integer.toString(r),
            RunContext.fmt(seconds),
            RunContext.fmt(stories),
            RunContext.fmt(stories),
            "0",
            RunContext.fmt(stories / seconds),
            "",
            "",
            "",
            "",
            "",
            RunContext.fmt(cpuMicros.get(cpuMicros.size() - 1)),
            "");
      }
    } finally {
      RunContext.deleteTree(dir);
    }
    Stats rate = Stats.of(perSecond);
    Stats cpu = Stats.of(cpuMicros);
    Stats userCpu = Stats.of(userMicros);
    Stats size = Stats.of(bytes);
    out.printf(
        "  %,.0f stories/s (%,.0f-%,.0f); writer CPU %.1f us per story (%.1f-%.1f; user %.1f, kernel"
            + " %.1f); %,.0f bytes per story%n",
        rate.median(),
        rate.min(),
        rate.max(),
        cpu.median(),
        cpu.min(),
        cpu.max(),
        userCpu.median(),
        cpu.median() - userCpu.median(),
        size.median());
    ObjectNode j = run.json.putObject("journal");
    rate.into(j, "stories_per_second");
    cpu.into(j, "writer_cpu_us_per_story");
    userCpu.into(j, "writer_user_cpu_us_per_story");
    run.writerCpuMicrosPerStory = cpu.median();
    size.into(j, "bytes_per_story");
  }

  /**
   * Offers whole stories for {@code seconds} and waits until the writer has appended every record
   * offered; returns how many records that was. The offers keep the writer's queue at most half
   * full, as a node well below its journal's limit does; a writer that refuses records, or takes
   * none for {@link #JOURNAL_STALL}, ends the section with an error instead of waiting forever.
   */
  private static long writeStories(
      JournalWriter writer,
      List<TensorData> inputs,
      float[] probabilities,
      long[] story,
      int seconds) {
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    int room = Math.max(1, writer.settings().queueCapacity() / 2);
    long base = writer.appended();
    long offered = 0;
    String[] models = {"m3", "m2", "m1"};
    while (System.nanoTime() < end) {
      waitFor(writer, () -> writer.pending() <= Math.max(0, room - 5));
      long n = story[0]++;
      String id = "bench-" + n;
      List<JournalRecord> records = new ArrayList<>(5);
      records.add(
          new JournalRecord.Input(
              id,
              null,
              "bench",
              "rendezvous",
              n,
              "json",
              null,
              inputs.get((int) (n % inputs.size()))));
      for (String m : models) {
        records.add(
            new JournalRecord.Score(
                id,
                "bench",
                "rendezvous",
                n,
                m,
                "1",
                JournalRecord.Outcome.OK,
                900,
                40,
                probabilities,
                null));
      }
      records.add(
          new JournalRecord.Answer(
              id,
              null,
              "bench",
              "rendezvous",
              n,
              200,
              "m3",
              "1",
              0,
              "Shirt",
              probabilities,
              1000,
              null));
      for (int i = 0; i < records.size(); i++) {
        JournalRecord r = records.get(i);
        // as the entity does: only the answer wakes the writer
        if (!(i == records.size() - 1 ? writer.offer(r, null) : writer.offerLazily(r, null))) {
          throw new IllegalStateException(
              "the journal refused a record: " + writer.unwritableReason());
        }
        offered++;
      }
    }
    long expected = base + offered;
    waitFor(writer, () -> writer.appended() >= expected);
    return offered;
  }

  /** Waits while the writer makes progress; fails when it is unwritable or stalls. */
  private static void waitFor(JournalWriter writer, BooleanSupplier done) {
    long lastAppended = writer.appended();
    long stallAt = System.nanoTime() + JOURNAL_STALL.toNanos();
    while (!done.getAsBoolean()) {
      if (writer.unwritableReason() != null) {
        throw new IllegalStateException(
            "the journal stopped writing: " + writer.unwritableReason());
      }
      long appended = writer.appended();
      if (appended != lastAppended) {
        lastAppended = appended;
        stallAt = System.nanoTime() + JOURNAL_STALL.toNanos();
      } else if (System.nanoTime() - stallAt > 0) {
        throw new IllegalStateException(
            "the journal writer appended nothing for " + JOURNAL_STALL.toSeconds() + " s");
      }
      LockSupport.parkNanos(JOURNAL_POLL_NANOS);
    }
  }
}
