package io.rendezvous.journal;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import net.openhft.chronicle.bytes.Bytes;
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
 * thread owns the Chronicle appender, takes records from a bounded queue in batches, appends them
 * to the memory-mapped queue and then acknowledges the batch. A full queue, or a journal that
 * cannot be written (disk below the free-space threshold, an append that failed, a dead writer),
 * refuses at once so the caller answers 503 instead of answering without a record.
 *
 * <p>Waking the writer is a context switch on both sides, and a request has five records of which
 * the client waits on one (the answer). So only {@link #offer} wakes it; {@link #offerLazily}
 * records wait for the next wake-up, at most {@code lazy-write-delay} while the writer is busy or
 * between requests, and wake it at once only when it has gone idle. Under load the writer never
 * sleeps and this changes nothing; at low load it saves most of the journal's cost per request.
 *
 * <p>Housekeeping (free space, retention) runs on its own thread so a slow directory listing or a
 * large delete never delays an acknowledgement. After a failed append the writer tries again on the
 * next housekeeping round once free space is fine, so the journal recovers by itself.
 */
public final class JournalWriter implements Journal, AutoCloseable {
  /** The one thread that appends (named so that profiles and the benchmark can find it). */
  public static final String THREAD_NAME = "rendezvous-journal-writer";

  private static final Logger log = LoggerFactory.getLogger(JournalWriter.class);

  /** A record waiting for the writer, linked to the one offered before it. */
  private static final class Entry {
    final JournalRecord record;
    final ActorRef<Ack> ackTo;
    final long offeredNanos;

    /** The entry pushed before this one; set before the push publishes this one. */
    Entry next;

    Entry(JournalRecord record, ActorRef<Ack> ackTo, long offeredNanos) {
      this.record = record;
      this.ackTo = ackTo;
      this.offeredNanos = offeredNanos;
    }
  }

  /** In {@link #incoming} once the writer has taken its last records: offers are refused. */
  private static final Entry CLOSED = new Entry(null, null, 0);

  private final JournalSettings settings;

  /**
   * Records offered and not yet taken, newest first (a stack every offer pushes onto with one
   * compare-and-set). The writer takes all of them with one swap and puts them back in order: a
   * queue it polled record by record cost it a compare-and-set, and a shared counter's cache line,
   * per record.
   */
  private final AtomicReference<Entry> incoming = new AtomicReference<>();

  /**
   * The writer's own: records taken from {@link #incoming}, oldest first, from {@link #takenAt}.
   */
  private final ArrayList<Entry> taken = new ArrayList<>();

  private int takenAt;

  /** Records offered and not yet in a batch. Bounds what waits at queue-capacity. */
  private final AtomicInteger queued = new AtomicInteger();

  /** What the writer is doing: offers read it to decide whether to wake it. */
  private volatile int writerState = WRITING;

  private static final int WRITING = 0;

  /** Parked for at most lazy-write-delay after some work: only a waited-on record wakes it. */
  private static final int DOZING = 1;

  /** Parked with nothing queued: any record wakes it. */
  private static final int IDLE = 2;

  /**
   * How long an idle writer sleeps before it looks at {@link #running} again (close wakes it
   * anyway).
   */
  private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final SingleChronicleQueue chronicle;

  /** The writer thread's own: records into bytes before they are copied into the queue. */
  private final JournalEncoder encoder = new JournalEncoder();

  private final Thread thread;
  private final JournalHousekeeping housekeeping;
  private final AtomicLong appended = new AtomicLong();
  private final AtomicLong appendedBytes = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();

  /**
   * From offer to the start of the append, for records someone waits on (an answer waits for its
   * acknowledgement): a writer that gets no core shows here.
   */
  private final Lateness queueWait = new Lateness();

  /** How long each batch took to append, for the part of the hand-off that is the writer's own. */
  private final Lateness batchAppend = new Lateness();

  /** Append time of every batch since start, never reset (for metrics that only grow). */
  private final Lateness batchAppendTotal = new Lateness();

  /** Records accepted and then not written; raised before any later record is acknowledged. */
  private final AtomicLong failures = new AtomicLong();

  private volatile boolean running = true;

  /** Who hears of every batch once it is appended (see {@link #onAppended}). */
  private final java.util.concurrent.CopyOnWriteArrayList<
          java.util.function.Consumer<List<JournalRecord>>>
      appendedListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

  /**
   * {@code listener} hears, on the writer's thread and in journal order, the records of each batch
   * once they are appended (never those that failed): what the journal holds, without reading it
   * back. It must return at once (hand the list on); it is never called with an empty list.
   */
  public void onAppended(java.util.function.Consumer<List<JournalRecord>> listener) {
    appendedListeners.add(listener);
  }

  /** Why the last append failed; cleared when housekeeping finds the disk fine again. */
  private volatile String appendProblem;

  private volatile long nextFullWarningNanos;

  private JournalWriter(
      JournalSettings settings, TimeProvider time, JournalHousekeeping.FreeSpace freeSpace)
      throws IOException {
    this.settings = settings;
    if (!settings.enabled()) {
      this.chronicle = null;
      this.thread = null;
      this.housekeeping = null;
      return;
    }
    Files.createDirectories(settings.dir());
    SingleChronicleQueueBuilder b =
        SingleChronicleQueueBuilder.binary(settings.dir()).rollCycle(settings.rollCycle());
    if (time != null) {
      b.timeProvider(time);
    }
    this.chronicle = b.build();
    this.housekeeping = new JournalHousekeeping(settings, chronicle, freeSpace, this::diskIsFine);
    this.thread = new Thread(this::run, THREAD_NAME);
    this.thread.start();
    housekeeping.start();
  }

  public static JournalWriter start(JournalSettings settings) throws IOException {
    return new JournalWriter(settings, null, dir -> Files.getFileStore(dir).getUsableSpace());
  }

  /** For tests: a clock that rolls cycles on demand, and a free-space probe that can run out. */
  static JournalWriter start(
      JournalSettings settings, TimeProvider time, JournalHousekeeping.FreeSpace freeSpace)
      throws IOException {
    return new JournalWriter(settings, time, freeSpace);
  }

  /**
   * Queues {@code record}; {@code ackTo} (may be null) hears {@link Written} once it and every
   * record offered before it are in the queue. Returns false, without queuing, when the journal
   * refuses it.
   */
  @Override
  public boolean offer(JournalRecord record, ActorRef<Ack> ackTo) {
    return offer(record, ackTo, true);
  }

  @Override
  public boolean offerLazily(JournalRecord record, ActorRef<Ack> ackTo) {
    return offer(record, ackTo, false);
  }

  private boolean offer(JournalRecord record, ActorRef<Ack> ackTo, boolean waitedOn) {
    if (!settings.enabled()) {
      if (ackTo != null) {
        ackTo.tell(new Written(record.requestId(), record.type(), 0));
      }
      return true;
    }
    if (unwritableReason() != null) {
      refused.incrementAndGet();
      return false;
    }
    if (queued.incrementAndGet() > settings.queueCapacity()) {
      queued.decrementAndGet();
      refused.incrementAndGet();
      long now = System.nanoTime();
      if (now >= nextFullWarningNanos) {
        nextFullWarningNanos = now + TimeUnit.SECONDS.toNanos(1);
        log.warn(
            "journal queue is full ({} records waiting in {}); refusing records ({} refused so far)",
            settings.queueCapacity(),
            settings.dir(),
            refused.get());
      }
      return false;
    }
    Entry entry = new Entry(record, ackTo, System.nanoTime());
    for (Entry head; ; ) {
      head = incoming.get();
      if (head == CLOSED) {
        // closed meanwhile, and the writer has taken its last records: refused, not lost
        queued.decrementAndGet();
        refused.incrementAndGet();
        return false;
      }
      entry.next = head;
      if (incoming.compareAndSet(head, entry)) {
        break;
      }
    }
    // read after the push: a writer that went to sleep before it re-checks the queue after saying
    // so
    int state = writerState;
    if (state == IDLE || (state == DOZING && waitedOn)) {
      LockSupport.unpark(thread);
    }
    return true;
  }

  @Override
  public String unwritableReason() {
    if (!settings.enabled()) {
      return null;
    }
    if (!running) {
      return "journal " + settings.dir() + " is closed";
    }
    if (!thread.isAlive()) {
      return "journal writer thread for " + settings.dir() + " has stopped";
    }
    String disk = housekeeping.diskProblem();
    return disk != null ? disk : appendProblem;
  }

  public boolean isWritable() {
    return unwritableReason() == null;
  }

  public long appended() {
    return appended.get();
  }

  /** Bytes of record content appended so far (without the queue's own headers). */
  public long appendedBytes() {
    return appendedBytes.get();
  }

  /** Queue wait of acknowledged records: offer to the start of their batch's append. */
  public Lateness queueWait() {
    return queueWait;
  }

  /** Append time per batch. */
  public Lateness batchAppend() {
    return batchAppend;
  }

  /** Append time per batch since the journal opened (never reset, unlike {@link #batchAppend}). */
  public Lateness batchAppendTotal() {
    return batchAppendTotal;
  }

  /** Free bytes on the journal's disk at the last housekeeping check; -1 before it or disabled. */
  public long freeBytes() {
    return housekeeping == null ? -1 : housekeeping.freeBytes();
  }

  /** Cycle files retention has removed since the journal opened. */
  public long retentionRemovedFiles() {
    return housekeeping == null ? 0 : housekeeping.removedFiles();
  }

  /** Bytes of the cycle files retention has removed since the journal opened. */
  public long retentionRemovedBytes() {
    return housekeeping == null ? 0 : housekeeping.removedBytes();
  }

  public long refused() {
    return refused.get();
  }

  @Override
  public long failures() {
    return failures.get();
  }

  public int pending() {
    return queued.get();
  }

  /**
   * For tests: the writer is past its last look at the queue and asleep until a waited-on record
   * comes.
   */
  boolean dozing() {
    return writerState == DOZING && LockSupport.getBlocker(thread) == this;
  }

  public JournalSettings settings() {
    return settings;
  }

  /** Retention never removes the cycle holding {@code firstNeededIndex} or any later one. */
  public void retainFrom(java.util.function.LongSupplier firstNeededIndex) {
    housekeeping.retainFrom(firstNeededIndex);
  }

  private void run() {
    List<Entry> batch = new ArrayList<>(settings.maxBatch());
    long dozeNanos = settings.lazyWriteDelay().toNanos();
    try (ExcerptAppender appender = chronicle.createAppender()) {
      boolean dozed = false;
      while (true) {
        drain(batch);
        if (!batch.isEmpty()) {
          appendAndAck(appender, batch);
          batch.clear();
          dozed = false;
          continue;
        }
        if (!running) {
          // the last take: any offer after it finds the journal closed and is refused
          Entry last = incoming.getAndSet(CLOSED);
          if (last == null || last == CLOSED) {
            break;
          }
          takeInOrder(last);
          continue;
        }
        // doze first: a request's records come close together, and most of them need no haste; a
        // doze that found nothing to do is followed by sleep until any record comes
        writerState = dozed || dozeNanos == 0 ? IDLE : DOZING;
        if (nothingOffered() && running) {
          LockSupport.parkNanos(this, writerState == IDLE ? IDLE_PARK_NANOS : dozeNanos);
          if (Thread.interrupted()) {
            // nothing here stops the writer but close(); a set flag would make every park return at
            // once
            log.warn(
                "journal writer for {} was interrupted; it goes on until the journal is closed",
                settings.dir());
          }
        }
        dozed = writerState == DOZING;
        writerState = WRITING;
      }
    } catch (Throwable t) {
      // an Error here (say, a fault on the mapped file) must not leave callers waiting for acks
      // forever
      log.error("journal writer for {} stopped", settings.dir(), t);
      appendProblem = "journal writer stopped: " + t;
      fail(batch, appendProblem);
      Entry last = incoming.getAndSet(CLOSED);
      if (last != null && last != CLOSED) {
        takeInOrder(last);
      }
      List<Entry> rest = new ArrayList<>(taken.subList(takenAt, taken.size()));
      queued.addAndGet(-rest.size());
      fail(rest, appendProblem);
    } finally {
      chronicle.close();
    }
  }

  /** Up to max-batch offered entries, oldest first. */
  private void drain(List<Entry> batch) {
    if (takenAt == taken.size()) {
      taken.clear();
      takenAt = 0;
      for (Entry head; ; ) {
        head = incoming.get();
        if (head == null || head == CLOSED) {
          return;
        }
        if (incoming.compareAndSet(head, null)) {
          takeInOrder(head);
          break;
        }
      }
    }
    int n = Math.min(settings.maxBatch() - batch.size(), taken.size() - takenAt);
    for (int k = 0; k < n; k++) {
      batch.add(taken.get(takenAt++));
    }
    queued.addAndGet(-n);
  }

  /** Appends the stack from {@code newest} to {@link #taken}, oldest first. */
  private void takeInOrder(Entry newest) {
    int from = taken.size();
    for (Entry e = newest; e != null; e = e.next) {
      taken.add(e);
    }
    java.util.Collections.reverse(taken.subList(from, taken.size()));
  }

  /** Whether the writer has nothing to append: all it took is done and nothing more was offered. */
  private boolean nothingOffered() {
    Entry head = incoming.get();
    return takenAt == taken.size() && (head == null || head == CLOSED);
  }

  private void appendAndAck(ExcerptAppender appender, List<Entry> batch) {
    // not unwritableReason(): a closing writer still appends what it had taken
    String disk = housekeeping.diskProblem();
    String reason = disk != null ? disk : appendProblem;
    if (reason != null) {
      fail(batch, reason);
      return;
    }
    int done = 0;
    long bytes = 0;
    long appendStart = System.nanoTime();
    for (Entry e : batch) {
      if (e.ackTo != null) {
        queueWait.record((appendStart - e.offeredNanos) / 1_000);
      }
    }
    try {
      for (Entry e : batch) {
        // encoded before the document opens: it is held open only for the copy
        int encoded = encoder.encode(e.record);
        try (DocumentContext dc = appender.writingDocument()) {
          Bytes<?> out = dc.wire().bytes();
          long start = out.writePosition();
          if (encoded >= 0) {
            out.write(encoder.buffer(), 0, encoded);
          } else {
            JournalCodec.write(e.record, dc.wire());
          }
          bytes += out.writePosition() - start;
        }
        done++;
      }
    } catch (RuntimeException ex) {
      appendProblem = "append to " + settings.dir() + " failed: " + ex;
      log.error("journal refuses writes: {}", appendProblem, ex);
    }
    long appendMicros = (System.nanoTime() - appendStart) / 1_000;
    if (done > 0 && !appendedListeners.isEmpty()) {
      List<JournalRecord> records = new ArrayList<>(done);
      for (int i = 0; i < done; i++) {
        records.add(batch.get(i).record);
      }
      List<JournalRecord> appendedRecords = java.util.Collections.unmodifiableList(records);
      for (java.util.function.Consumer<List<JournalRecord>> l : appendedListeners) {
        try {
          l.accept(appendedRecords);
        } catch (RuntimeException ex) {
          log.error("a listener of the journal's appends failed; the journal goes on", ex);
        }
      }
    }
    batchAppend.record(appendMicros);
    batchAppendTotal.record(appendMicros);
    appended.addAndGet(done);
    appendedBytes.addAndGet(bytes);
    long failedSoFar = failures.addAndGet(batch.size() - done);
    for (int i = 0; i < batch.size(); i++) {
      Entry e = batch.get(i);
      if (e.ackTo != null) {
        acksToTell.add(
            new Acknowledgement(
                e.ackTo,
                i < done
                    ? new Written(e.record.requestId(), e.record.type(), failedSoFar)
                    : new NotWritten(
                        e.record.requestId(), e.record.type(), appendProblem, failedSoFar)));
      }
    }
    tellQueuedAcks();
  }

  private record Acknowledgement(ActorRef<Ack> to, Ack ack) {}

  /**
   * Where acknowledgements are told from (see {@link #acknowledgeOn}); null: from the writer's
   * thread.
   */
  private volatile Executor acknowledgements;

  /** Acknowledgements not yet told, in the order the writer made them. */
  private final ConcurrentLinkedQueue<Acknowledgement> acksToTell = new ConcurrentLinkedQueue<>();

  /**
   * Whether a task telling {@link #acksToTell} is scheduled or running: one at a time, in order.
   */
  private final AtomicBoolean tellingAcks = new AtomicBoolean();

  /**
   * Tells acknowledgements from {@code executor} (the actors' own dispatcher), one task at a time
   * and in the order they were made, each task telling all that are waiting by then. Each message
   * the writer told itself was a submission from outside the dispatcher's pool, and each of those
   * woke one of its idle threads: a burst of answers woke one thread per answer, every wake-up a
   * context switch on both sides. A receiver hears its acknowledgements in the order of its offers
   * either way (the feedback keeper counts on it).
   */
  public void acknowledgeOn(Executor executor) {
    this.acknowledgements = executor;
  }

  /** Has {@link #acksToTell} told, unless a task that will take them is already at it. */
  private void tellQueuedAcks() {
    if (acksToTell.isEmpty() || !tellingAcks.compareAndSet(false, true)) {
      // nothing to tell, or a running task takes these too (it looks again after it lets go of the
      // flag)
      return;
    }
    Executor executor = acknowledgements;
    if (executor == null) {
      tellAcks();
      return;
    }
    try {
      executor.execute(this::tellAcks);
    } catch (RuntimeException e) {
      // a dispatcher that is shutting down: the writer tells them itself
      log.debug("journal acknowledgements told from the writer: {}", e.toString());
      tellAcks();
    }
  }

  private void tellAcks() {
    while (true) {
      try {
        for (Acknowledgement a; (a = acksToTell.poll()) != null; ) {
          a.to().tell(a.ack());
        }
      } finally {
        tellingAcks.set(false);
      }
      // one queued after the last poll, while the flag was still up, is this task's to tell
      if (acksToTell.isEmpty() || !tellingAcks.compareAndSet(false, true)) {
        return;
      }
    }
  }

  private void fail(List<Entry> entries, String reason) {
    long failedSoFar = failures.addAndGet(entries.size());
    for (Entry e : entries) {
      if (e.ackTo != null) {
        acksToTell.add(
            new Acknowledgement(
                e.ackTo,
                new NotWritten(e.record.requestId(), e.record.type(), reason, failedSoFar)));
      }
    }
    tellQueuedAcks();
  }

  /**
   * Housekeeping found the disk fine: appends that failed (a full disk, say) are tried again, so
   * the journal recovers by itself.
   */
  private void diskIsFine() {
    String problem = appendProblem;
    if (problem != null) {
      log.info("journal {}: disk is fine, trying appends again after: {}", settings.dir(), problem);
      appendProblem = null;
    }
  }

  /** For tests: deletes released cycle files beyond the retention limits now. */
  void enforceRetention() {
    housekeeping.enforceRetention();
  }

  /**
   * Stops taking records and lets the writer append what is queued and close the queue; waits up to
   * {@code wait}. The writer thread alone touches the mapped files, so a slow flush is never cut
   * off.
   */
  public void close(Duration wait) {
    if (!running) {
      return;
    }
    running = false;
    if (thread != null) {
      LockSupport.unpark(thread);
      housekeeping.close();
      try {
        thread.join(wait.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (thread.isAlive()) {
        log.warn(
            "journal {}: writer still flushing after {} ms; leaving it to finish",
            settings.dir(),
            wait.toMillis());
      } else {
        log.info("journal {} closed after {} records", settings.dir(), appended.get());
      }
    }
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(10));
  }
}
