package io.rendezvous.journal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.TailerDirection;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Streams a journal from a point in time, decoding only the records a filter wants from their
 * headers (type, endpoint, time): what a replay over days of journal needs, in constant memory,
 * where {@link JournalReader#readAll} holds everything. Read-only, safe beside a running writer;
 * single-threaded, like every Chronicle tailer.
 */
public final class JournalScan implements AutoCloseable {

  /** Which records to decode, from their header alone. */
  @FunctionalInterface
  public interface Filter {
    boolean wants(String type, String endpoint, long atMicros);
  }

  private final SingleChronicleQueue queue;
  private final RollCycle rollCycle;

  private JournalScan(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("no journal directory " + dir.toAbsolutePath());
    }
    this.queue = SingleChronicleQueueBuilder.binary(dir).readOnly(true).build();
    this.rollCycle = queue.rollCycle();
  }

  public static JournalScan open(Path dir) {
    return new JournalScan(dir);
  }

  /** The first record's time (epoch microseconds); -1 for an empty journal. */
  public long firstMicros() {
    try (var tailer = queue.createTailer()) {
      return timeOfNext(tailer.toStart());
    }
  }

  /** The last record's time (epoch microseconds); -1 for an empty journal. */
  public long lastMicros() {
    try (var tailer = queue.createTailer()) {
      tailer.direction(TailerDirection.BACKWARD).toEnd();
      return timeOfNext(tailer);
    }
  }

  private static long timeOfNext(net.openhft.chronicle.queue.ExcerptTailer tailer) {
    while (true) {
      try (DocumentContext dc = tailer.readingDocument()) {
        if (!dc.isPresent()) {
          return -1;
        }
        try {
          return JournalCodec.readHeader(dc.wire()).atMicros();
        } catch (RuntimeException unreadable) {
          // a damaged or newer record: the next one tells the time
        }
      }
    }
  }

  /**
   * Every record from the first written at or after {@code fromMicros} (found by binary search in
   * its roll cycle) to the end, in append order: those {@code filter} wants are decoded and given
   * to {@code action}; {@code passed} hears the time of every record read (for progress). Records
   * that cannot be read are skipped and counted; the count is returned.
   */
  public long forEach(
      long fromMicros, Filter filter, Consumer<JournalRecord> action, LongConsumer passed) {
    long unreadable = 0;
    try (var tailer = queue.createTailer()) {
      long start = startIndex(tailer, fromMicros);
      if (start < 0) {
        return 0;
      }
      if (!tailer.moveToIndex(start)) {
        tailer.toStart();
      }
      while (true) {
        try (DocumentContext dc = tailer.readingDocument()) {
          if (!dc.isPresent()) {
            return unreadable;
          }
          JournalCodec.Header h;
          try {
            h = JournalCodec.readHeader(dc.wire());
          } catch (RuntimeException e) {
            unreadable++;
            continue;
          }
          passed.accept(h.atMicros());
          if (h.atMicros() < fromMicros || !filter.wants(h.type(), h.endpoint(), h.atMicros())) {
            continue;
          }
          JournalRecord r;
          try {
            r = JournalCodec.readBody(h, dc.wire());
          } catch (RuntimeException e) {
            unreadable++;
            continue;
          }
          action.accept(r);
        }
      }
    }
  }

  /** The index of the first record at or after {@code fromMicros}; -1 when there is none. */
  private long startIndex(net.openhft.chronicle.queue.ExcerptTailer tailer, long fromMicros) {
    int first = queue.firstCycle();
    int last = queue.lastCycle();
    if (first == Integer.MAX_VALUE || first > last) {
      return -1;
    }
    for (int c = first; c <= last; c++) {
      long n = tailer.excerptsInCycle(c);
      if (n <= 0) {
        continue;
      }
      // records are appended in time order up to the writer's queue wait: the search finds the
      // first one at or after the start, and the scan skips any earlier straggler after it
      long lo = 0;
      long hi = n;
      while (lo < hi) {
        long mid = (lo + hi) >>> 1;
        if (timeAt(tailer, rollCycle.toIndex(c, mid)) < fromMicros) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      if (lo < n) {
        return rollCycle.toIndex(c, lo);
      }
    }
    return -1;
  }

  private static long timeAt(net.openhft.chronicle.queue.ExcerptTailer tailer, long index) {
    if (!tailer.moveToIndex(index)) {
      return Long.MAX_VALUE;
    }
    try (DocumentContext dc = tailer.readingDocument()) {
      return dc.isPresent() ? JournalCodec.readHeader(dc.wire()).atMicros() : Long.MAX_VALUE;
    } catch (RuntimeException unreadable) {
      return Long.MIN_VALUE;
    }
  }

  @Override
  public void close() {
    queue.close();
  }
}
