package io.rendezvous.journal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Reads a journal directory from the start, in append order. Read-only; safe beside a running
 * writer.
 */
public final class JournalReader {
  private JournalReader() {}

  public static void forEach(Path dir, Consumer<JournalRecord> action) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("no journal directory " + dir.toAbsolutePath());
    }
    try (SingleChronicleQueue queue =
            SingleChronicleQueueBuilder.binary(dir).readOnly(true).build();
        ExcerptTailer tailer = queue.createTailer()) {
      while (true) {
        try (DocumentContext dc = tailer.readingDocument()) {
          if (!dc.isPresent()) {
            return;
          }
          action.accept(JournalCodec.read(dc.wire()));
        }
      }
    }
  }

  /**
   * A record and its journal index. {@code record} is null when the excerpt at that index cannot be
   * decoded (a poison record: written by a newer build, or damaged); {@code unreadable} says why.
   */
  public record Indexed(long index, JournalRecord record, String unreadable) {
    public Indexed(long index, JournalRecord record) {
      this(index, record, null);
    }
  }

  /**
   * A tailer that follows a live journal from a saved position ({@code -1}: the start).
   * Single-threaded, like every Chronicle tailer.
   */
  public static final class Tail implements AutoCloseable {
    private final SingleChronicleQueue queue;
    private final ExcerptTailer tailer;

    private Tail(Path dir, long from) {
      this.queue = SingleChronicleQueueBuilder.binary(dir).readOnly(true).build();
      this.tailer = queue.createTailer();
      if (from >= 0 && !tailer.moveToIndex(from)) {
        // the saved index is past the end (nothing new since) or in a removed cycle: carry on from
        // the nearest readable point without skipping anything still there
        tailer.toStart();
        while (true) {
          try (DocumentContext dc = tailer.readingDocument()) {
            if (!dc.isPresent() || dc.index() >= from - 1) {
              break;
            }
          }
        }
      }
    }

    /**
     * Up to {@code max} records after the last one returned, unreadable ones included (see {@link
     * Indexed}); empty when caught up.
     */
    public List<Indexed> next(int max) {
      List<Indexed> out = new ArrayList<>();
      while (out.size() < max) {
        try (DocumentContext dc = tailer.readingDocument()) {
          if (!dc.isPresent()) {
            break;
          }
          try {
            out.add(new Indexed(dc.index(), JournalCodec.read(dc.wire())));
          } catch (RuntimeException e) {
            // one excerpt that cannot be decoded must not stop whoever follows the journal: it is
            // returned as unreadable and the tailer moves past it
            out.add(new Indexed(dc.index(), null, e.toString()));
          }
        }
      }
      return out;
    }

    @Override
    public void close() {
      tailer.close();
      queue.close();
    }
  }

  public static Tail tail(Path dir, long from) {
    return new Tail(dir, from);
  }

  public static List<JournalRecord> readAll(Path dir) {
    List<JournalRecord> out = new ArrayList<>();
    forEach(dir, out::add);
    return out;
  }
}
