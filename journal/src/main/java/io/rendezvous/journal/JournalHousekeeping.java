package io.rendezvous.journal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.stream.Stream;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The journal's housekeeping, apart from the writer's append loop and on a thread of its own, every
 * {@code check-interval}: free space against the threshold (below it the journal refuses writes and
 * the node reports not ready), and retention by age and size, which never removes the current cycle
 * nor one a consumer of the journal (the Kafka outbox) still needs.
 */
final class JournalHousekeeping implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JournalHousekeeping.class);
  static final String THREAD_NAME = "rendezvous-journal-housekeeping";

  /** Usable bytes where the journal lives; the real file store outside tests. */
  @FunctionalInterface
  interface FreeSpace {
    long of(Path dir) throws IOException;
  }

  private final JournalSettings settings;
  private final SingleChronicleQueue chronicle;
  private final FreeSpace freeSpace;
  private final Runnable diskIsFine;
  private final ScheduledExecutorService executor;

  /** Why the disk cannot take writes now (free space); null when it can. */
  private volatile String diskProblem;

  /** Free bytes on the journal's disk at the last check; -1 before the first. */
  private volatile long freeBytes = -1;

  private final java.util.concurrent.atomic.AtomicLong removedFiles =
      new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong removedBytes =
      new java.util.concurrent.atomic.AtomicLong();

  /** The first journal index a consumer of the journal (the Kafka outbox) still needs; -1: none. */
  private volatile LongSupplier retainFrom = () -> -1;

  /** {@code diskIsFine} runs after each check that found enough free space. */
  JournalHousekeeping(
      JournalSettings settings,
      SingleChronicleQueue chronicle,
      FreeSpace freeSpace,
      Runnable diskIsFine) {
    this.settings = settings;
    this.chronicle = chronicle;
    this.freeSpace = freeSpace;
    this.diskIsFine = diskIsFine;
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, THREAD_NAME);
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * Checks free space now (a journal on a full disk refuses from the start), then every interval.
   */
  void start() {
    checkFreeSpace();
    long every = Math.max(1, settings.checkInterval().toMillis());
    executor.scheduleWithFixedDelay(this::round, every, every, TimeUnit.MILLISECONDS);
  }

  String diskProblem() {
    return diskProblem;
  }

  void retainFrom(LongSupplier firstNeededIndex) {
    this.retainFrom = firstNeededIndex;
  }

  private void round() {
    try {
      checkFreeSpace();
      if (diskProblem == null) {
        diskIsFine.run();
      }
      enforceRetention();
    } catch (RuntimeException e) {
      log.error("journal housekeeping for {} failed", settings.dir(), e);
    }
  }

  /**
   * Free space against the threshold: a write through mmap into a full disk kills the JVM (SIGBUS).
   */
  void checkFreeSpace() {
    String problem;
    try {
      long free = freeSpace.of(settings.dir());
      freeBytes = free;
      problem =
          free >= settings.minFreeBytes()
              ? null
              : "free space on "
                  + settings.dir()
                  + " is "
                  + free
                  + " bytes, below the threshold of "
                  + settings.minFreeBytes()
                  + " (rendezvous.journal.min-free-space)";
    } catch (IOException e) {
      problem = "cannot read free space of " + settings.dir() + ": " + e;
    }
    String before = diskProblem;
    diskProblem = problem;
    if (problem != null && !problem.equals(before)) {
      log.error("journal refuses writes: {}", problem);
    } else if (problem == null && before != null) {
      log.info("journal {} is writable again", settings.dir());
    }
  }

  long freeBytes() {
    return freeBytes;
  }

  long removedFiles() {
    return removedFiles.get();
  }

  long removedBytes() {
    return removedBytes.get();
  }

  /**
   * Deletes the oldest released cycle files beyond the age or size limit; never the current one.
   */
  void enforceRetention() {
    List<Path> cycles;
    try (Stream<Path> files = Files.list(settings.dir())) {
      cycles =
          files
              .filter(p -> p.getFileName().toString().endsWith(SingleChronicleQueue.SUFFIX))
              .sorted(Comparator.comparing(p -> p.getFileName().toString()))
              .toList();
    } catch (IOException e) {
      log.warn("journal retention cannot list {}: {}", settings.dir(), e.toString());
      return;
    }
    if (cycles.size() < 2) {
      return;
    }
    long total = 0;
    for (Path p : cycles) {
      total += sizeOf(p);
    }
    long oldestKept = System.currentTimeMillis() - settings.retentionMaxAge().toMillis();
    long needed = retainFrom.getAsLong();
    String firstNeededFile =
        needed < 0 ? null : cycleFileName(chronicle.rollCycle().toCycle(needed));
    boolean deleted = false;
    for (Path p : cycles.subList(0, cycles.size() - 1)) {
      if (firstNeededFile != null && p.getFileName().toString().compareTo(firstNeededFile) >= 0) {
        break; // not yet published: kept whatever its age or size
      }
      boolean tooOld = lastModified(p) < oldestKept;
      boolean tooBig = total > settings.retentionMaxBytes();
      if (!tooOld && !tooBig) {
        break;
      }
      long size = sizeOf(p);
      try {
        Files.delete(p);
        total -= size;
        deleted = true;
        removedFiles.incrementAndGet();
        removedBytes.addAndGet(size);
        log.info(
            "journal retention removed {} ({} bytes, {})",
            p.getFileName(),
            size,
            tooOld ? "age" : "size");
      } catch (IOException e) {
        log.warn("journal retention cannot remove {}: {}", p, e.toString());
        break;
      }
    }
    if (deleted) {
      chronicle.refreshDirectoryListing();
    }
  }

  /**
   * Chronicle's file name for a cycle: the roll cycle's date format at the cycle's start, in UTC.
   */
  private String cycleFileName(int cycle) {
    net.openhft.chronicle.queue.RollCycle rc = chronicle.rollCycle();
    return java.time.format.DateTimeFormatter.ofPattern(rc.format())
            .withZone(java.time.ZoneOffset.UTC)
            .format(java.time.Instant.ofEpochMilli((long) cycle * rc.lengthInMillis()))
        + SingleChronicleQueue.SUFFIX;
  }

  private static long sizeOf(Path p) {
    try {
      return Files.size(p);
    } catch (IOException e) {
      return 0;
    }
  }

  private static long lastModified(Path p) {
    try {
      return Files.getLastModifiedTime(p).toMillis();
    } catch (IOException e) {
      return Long.MAX_VALUE;
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
