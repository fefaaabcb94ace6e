package io.rendezvous.actors.journal;

import io.rendezvous.config.CborSerializable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import net.openhft.chronicle.core.time.TimeProvider;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;
import org.apache.pekko.actor.typed.ActorRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one writer of this node's decoy journal. Callers {@link #offer} records without blocking; one
 * thread owns the Chronicle appender, takes records from a bounded queue in batches, appends them to the
 * memory-mapped queue and then acknowledges the batch. A full queue, or a journal that cannot be
 * written (disk below the free-space threshold, an append that threw), refuses at once so the caller
 * answers 503 instead of answering without a record. It recovers by itself once it can write again.
 */
public final class JournalWriter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JournalWriter.class);

  /** Reply to an acknowledged offer. Never a command. */
  public sealed interface Ack extends CborSerializable {}

  /** The record (and everything offered before it) is in the memory-mapped queue. */
  public record Written(String requestId) implements Ack {}

  /** The record could not be written. */
  public record NotWritten(String requestId, String reason) implements Ack {}

  private record Entry(JournalRecord record, ActorRef<Ack> ackTo) {}

  private final JournalSettings settings;
  private final ArrayBlockingQueue<Entry> queue;
  private final SingleChronicleQueue chronicle;
  private final Thread thread;
  private final AtomicLong appended = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private volatile boolean running = true;
  private volatile String unwritableReason;
  private final FreeSpace freeSpace;
  private long nextCheckNanos;

  /** Usable bytes where the journal lives; the real file store outside tests. */
  @FunctionalInterface
  interface FreeSpace {
    long of(Path dir) throws IOException;
  }

  private JournalWriter(JournalSettings settings, TimeProvider time, FreeSpace freeSpace) throws IOException {
    this.settings = settings;
    this.freeSpace = freeSpace;
    this.queue = new ArrayBlockingQueue<>(settings.queueCapacity());
    if (settings.enabled()) {
      Files.createDirectories(settings.dir());
      SingleChronicleQueueBuilder b = SingleChronicleQueueBuilder.binary(settings.dir()).rollCycle(settings.rollCycle());
      if (time != null) {
        b.timeProvider(time);
      }
      this.chronicle = b.build();
      checkHealth();
      this.thread = new Thread(this::run, "rendezvous-journal-writer");
      this.thread.start();
    } else {
      this.chronicle = null;
      this.thread = null;
    }
  }

  public static JournalWriter start(JournalSettings settings) throws IOException {
    return new JournalWriter(settings, null, dir -> Files.getFileStore(dir).getUsableSpace());
  }

  /** For tests: a clock that rolls cycles on demand, and a free-space probe that can run out. */
  static JournalWriter start(JournalSettings settings, TimeProvider time, FreeSpace freeSpace) throws IOException {
    return new JournalWriter(settings, time, freeSpace);
  }

  /**
   * Queues {@code record}; {@code ackTo} (may be null) hears {@link Written} once it and every record
   * offered before it are in the queue. Returns false, without queuing, when the journal refuses it.
   */
  public boolean offer(JournalRecord record, ActorRef<Ack> ackTo) {
    if (!settings.enabled()) {
      if (ackTo != null) {
        ackTo.tell(new Written(record.requestId()));
      }
      return true;
    }
    if (unwritableReason != null || !running || !queue.offer(new Entry(record, ackTo))) {
      refused.incrementAndGet();
      return false;
    }
    return true;
  }

  /** Null when the journal is writing; otherwise why it is not. */
  public String unwritableReason() {
    return !settings.enabled() ? null : unwritableReason;
  }

  public boolean isWritable() {
    return unwritableReason() == null && (running || !settings.enabled());
  }

  public long appended() {
    return appended.get();
  }

  public long refused() {
    return refused.get();
  }

  public int pending() {
    return queue.size();
  }

  public JournalSettings settings() {
    return settings;
  }

  private void run() {
    List<Entry> batch = new ArrayList<>(settings.maxBatch());
    ExcerptAppender appender = chronicle.createAppender();
    long pollMillis = Math.max(1, settings.checkInterval().toMillis());
    while (running || !queue.isEmpty()) {
      try {
        Entry first = queue.poll(pollMillis, TimeUnit.MILLISECONDS);
        if (System.nanoTime() >= nextCheckNanos) {
          checkHealth();
          enforceRetention();
        }
        if (first == null) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, settings.maxBatch() - 1);
        appendAndAck(appender, batch);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } catch (RuntimeException e) {
        log.error("journal writer loop failed in {}", settings.dir(), e);
      } finally {
        batch.clear();
      }
    }
    appender.close();
  }

  private void appendAndAck(ExcerptAppender appender, List<Entry> batch) {
    String reason = unwritableReason;
    if (reason == null) {
      int done = 0;
      try {
        for (Entry e : batch) {
          try (DocumentContext dc = appender.writingDocument()) {
            JournalCodec.write(e.record(), dc.wire());
          }
          done++;
        }
      } catch (RuntimeException ex) {
        reason = "append to " + settings.dir() + " failed: " + ex;
        unwritable(reason, ex);
      }
      appended.addAndGet(done);
      for (int i = 0; i < batch.size(); i++) {
        Entry e = batch.get(i);
        if (e.ackTo() != null) {
          e.ackTo().tell(i < done ? new Written(e.record().requestId()) : new NotWritten(e.record().requestId(), reason));
        }
      }
    } else {
      for (Entry e : batch) {
        if (e.ackTo() != null) {
          e.ackTo().tell(new NotWritten(e.record().requestId(), reason));
        }
      }
    }
  }

  /** Free space against the threshold: a write through mmap into a full disk kills the JVM (SIGBUS). */
  private void checkHealth() {
    nextCheckNanos = System.nanoTime() + settings.checkInterval().toNanos();
    try {
      long free = freeSpace.of(settings.dir());
      if (free < settings.minFreeBytes()) {
        unwritable("free space on " + settings.dir() + " is " + free + " bytes, below the threshold of "
            + settings.minFreeBytes() + " (rendezvous.journal.min-free-space)", null);
      } else if (unwritableReason != null) {
        log.info("journal {} is writable again ({} bytes free)", settings.dir(), free);
        unwritableReason = null;
      }
    } catch (IOException e) {
      unwritable("cannot read free space of " + settings.dir() + ": " + e, e);
    }
  }

  private void unwritable(String reason, Throwable cause) {
    if (!reason.equals(unwritableReason)) {
      if (cause == null) {
        log.error("journal refuses writes: {}", reason);
      } else {
        log.error("journal refuses writes: {}", reason, cause);
      }
    }
    unwritableReason = reason;
  }

  /** Deletes the oldest released cycle files beyond the age or size limit; never the current one. */
  void enforceRetention() {
    List<Path> cycles;
    try (Stream<Path> files = Files.list(settings.dir())) {
      cycles = files.filter(p -> p.getFileName().toString().endsWith(SingleChronicleQueue.SUFFIX))
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
    boolean deleted = false;
    for (Path p : cycles.subList(0, cycles.size() - 1)) {
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
        log.info("journal retention removed {} ({} bytes, {})", p.getFileName(), size, tooOld ? "age" : "size");
      } catch (IOException e) {
        log.warn("journal retention cannot remove {}: {}", p, e.toString());
        break;
      }
    }
    if (deleted) {
      chronicle.refreshDirectoryListing();
    }
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

  /** Stops taking records, writes what is queued, closes the queue. Blocks up to {@code wait}. */
  public void close(Duration wait) {
    running = false;
    if (thread != null) {
      try {
        thread.join(wait.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      chronicle.close();
      log.info("journal {} closed after {} records", settings.dir(), appended.get());
    }
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(10));
  }
}
