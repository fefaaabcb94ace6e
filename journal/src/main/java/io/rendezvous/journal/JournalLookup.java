package io.rendezvous.journal;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Finds one request's story (its input, scores and answer) in a journal without reading it all. A
 * request id is a UUIDv7: its first 48 bits are the Unix milliseconds it was issued at, and every
 * record of its story is written within seconds of that. So the id's time names the roll cycle; a
 * binary search by record time ({@code atMicros}, in append order up to the journal's queue wait)
 * finds the first record of the window {@code before} the id's time; a scan reads only each
 * record's header until {@code after} past it, or {@code afterAnswer} past the answer (late scores
 * and the abandoned ones come within the entity's linger). Safe beside a running writer and from
 * several threads at once (a tailer per thread).
 */
public final class JournalLookup implements AutoCloseable {

  /** How far around a request id's time its records are looked for. */
  public record Window(Duration before, Duration after, Duration afterAnswer) {
    public static Window fromConfig(Config root) {
      Config c = root.getConfig("rendezvous.journal.lookup");
      Window w =
          new Window(
              c.getDuration("before"), c.getDuration("after"), c.getDuration("after-answer"));
      if (w.before.isNegative() || w.after.isNegative() || w.afterAnswer.isNegative()) {
        throw new IllegalArgumentException("rendezvous.journal.lookup: durations must be >= 0");
      }
      return w;
    }
  }

  /**
   * A request's records as this journal holds them: the input (the first, if a fallback and its
   * entity both wrote one), every score record in journal order, and the last answer record (what
   * the client got; null when none was written). {@code examined}: records whose header was read.
   */
  public record Story(
      JournalRecord.Input input,
      List<JournalRecord.Score> scores,
      JournalRecord.Answer answer,
      int examined) {
    public Story {
      scores = List.copyOf(scores);
    }
  }

  /**
   * What a lookup found: a story, or none, and then whether the id's time is older than anything
   * the journal still keeps (removed by retention).
   */
  public record Result(Story story, boolean pastRetention, int examined) {
    public boolean found() {
      return story != null;
    }
  }

  private final SingleChronicleQueue queue;
  // A tailer per thread that looks, kept: creating and closing one per lookup maps and unmaps the
  // queue's files each time, and an unmap stalls every thread of the process that touches memory
  // (the journal's writer among them) while the kernel changes the mappings.
  private final ThreadLocal<ExcerptTailer> tailers;
  private final RollCycle rollCycle;
  private final Window window;

  private JournalLookup(Path dir, RollCycle rollCycle, Window window) {
    this.queue =
        SingleChronicleQueueBuilder.binary(dir).rollCycle(rollCycle).readOnly(true).build();
    this.tailers = ThreadLocal.withInitial(queue::createTailer);
    this.rollCycle = rollCycle;
    this.window = window;
  }

  public static JournalLookup open(Path dir, RollCycle rollCycle, Window window) {
    return new JournalLookup(dir, rollCycle, window);
  }

  /**
   * Milliseconds since the epoch at which a UUIDv7 (or the node's own version-8 warm-up id) was
   * issued.
   *
   * @throws IllegalArgumentException when {@code requestId} is not such an id
   */
  public static long millisOf(String requestId) {
    UUID uuid = UUID.fromString(requestId);
    int version = uuid.version();
    if (version != 7 && version != 8) {
      throw new IllegalArgumentException(
          "'" + requestId + "' is not a request id of this server (a UUIDv7)");
    }
    return uuid.getMostSignificantBits() >>> 16;
  }

  /** The story of {@code requestId}, looked for around the time in the id. Blocking (disk). */
  public Result find(String requestId) {
    return find(requestId, endpoint -> 0);
  }

  /**
   * As {@link #find(String)}; {@code modelsOf} says how many models an endpoint scores each request
   * with (0: not known), so that the scan ends as soon as the answer and a score of every model are
   * in, instead of {@code after-answer} later (every model has a score record once its entity
   * stops: a missing one is recorded as abandoned).
   */
  public Result find(String requestId, java.util.function.ToIntFunction<String> modelsOf) {
    long idMillis = millisOf(requestId);
    long fromMicros = (idMillis - window.before.toMillis()) * 1_000;
    long toMicros = (idMillis + window.after.toMillis()) * 1_000;
    int first = queue.firstCycle();
    int last = queue.lastCycle();
    if (first > last || first == Integer.MAX_VALUE) {
      return new Result(null, false, 0);
    }
    int fromCycle = cycleOf(fromMicros / 1_000);
    int toCycle = cycleOf(toMicros / 1_000);
    if (toCycle < first) {
      return new Result(null, true, 0);
    }
    if (fromCycle > last) {
      return new Result(null, false, 0);
    }
    ExcerptTailer tailer = tailers.get();
    int examined = 0;
    long start = -1;
    for (int c = Math.max(fromCycle, first); c <= Math.min(toCycle, last) && start < 0; c++) {
      long n = tailer.excerptsInCycle(c);
      if (n <= 0) {
        continue;
      }
      long seq = 0;
      if (c == fromCycle) {
        // the first record at or after the window's start: records are appended in time order,
        // up to the writer's queue wait, which the window's margin covers
        long lo = 0;
        long hi = n;
        while (lo < hi) {
          long mid = (lo + hi) >>> 1;
          long at = atMicros(tailer, rollCycle.toIndex(c, mid));
          examined++;
          if (at < fromMicros) {
            lo = mid + 1;
          } else {
            hi = mid;
          }
        }
        if (lo == n) {
          continue; // the whole cycle lies before the window
        }
        seq = lo;
      }
      start = rollCycle.toIndex(c, seq);
    }
    if (start < 0 || !tailer.moveToIndex(start)) {
      return new Result(null, false, examined);
    }
    JournalRecord.Input input = null;
    List<JournalRecord.Score> scores = new ArrayList<>();
    java.util.Set<String> scored = new java.util.HashSet<>();
    int models = 0;
    JournalRecord.Answer answer = null;
    long stopMicros = toMicros;
    StringBuilder id = new StringBuilder(36);
    while (true) {
      try (DocumentContext dc = tailer.readingDocument()) {
        if (!dc.isPresent()) {
          break;
        }
        examined++;
        long headerAt = dc.wire().bytes().readPosition();
        long at;
        try {
          id.setLength(0);
          at = JournalCodec.scanHeader(dc.wire(), id);
        } catch (RuntimeException unreadable) {
          continue; // a damaged record: not this story's to judge
        }
        if (at == Long.MIN_VALUE) {
          continue; // a record of a newer build
        }
        if (at > stopMicros) {
          break;
        }
        if (!requestId.contentEquals(id)) {
          continue;
        }
        JournalRecord r;
        try {
          dc.wire().bytes().readPosition(headerAt);
          r = JournalCodec.read(dc.wire());
        } catch (RuntimeException unreadable) {
          continue;
        }
        if (r instanceof JournalRecord.Input in && input == null) {
          input = in;
          models = modelsOf.applyAsInt(in.endpoint());
        } else if (r instanceof JournalRecord.Score s) {
          scores.add(s);
          scored.add(s.model() + "@" + s.version());
        } else if (r instanceof JournalRecord.Answer a) {
          answer = a;
          stopMicros = Math.min(toMicros, a.atMicros() + window.afterAnswer.toMillis() * 1_000);
        }
        if (input != null && answer != null && models > 0 && scored.size() >= models) {
          break; // the whole story: nothing of it can come later
        }
      }
    }
    if (input == null) {
      return new Result(null, false, examined);
    }
    return new Result(new Story(input, scores, answer, examined), false, examined);
  }

  private int cycleOf(long millis) {
    return (int) Math.floorDiv(millis - queue.epoch(), (long) rollCycle.lengthInMillis());
  }

  /** The time of the record at {@code index}; of a record that cannot be read, 0 (before all). */
  private static long atMicros(ExcerptTailer tailer, long index) {
    if (!tailer.moveToIndex(index)) {
      return Long.MAX_VALUE;
    }
    try (DocumentContext dc = tailer.readingDocument()) {
      if (!dc.isPresent()) {
        return Long.MAX_VALUE;
      }
      return JournalCodec.readHeader(dc.wire()).atMicros();
    } catch (RuntimeException unreadable) {
      return 0;
    }
  }

  @Override
  public void close() {
    queue.close();
  }
}
