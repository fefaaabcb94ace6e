package io.rendezvous.node;

import io.rendezvous.journal.JournalLookup;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which corrections this node has joined and journaled, by (request id, source): what makes a
 * correction sent twice (a retry, a second click) one record. A line per correction appended to a
 * file under the data directory, read back at start; lines of requests older than the journal's
 * retention are dropped then (their stories are gone: a correction of them is a 404 anyway). Not
 * thread-safe: its {@link FeedbackKeeper} owns it, and appends on its blocking dispatcher.
 */
final class FeedbackLedger {
  /** What was joined for a (request id, source): enough to answer a repeat as the first. */
  record Entry(
      String requestId,
      String source,
      String endpoint,
      String label,
      int labelIndex,
      String answered,
      String answeredBy,
      int scores,
      long atMicros) {

    String line() {
      return String.join(
              "\t",
              requestId,
              source,
              endpoint,
              label,
              Integer.toString(labelIndex),
              answered == null ? "" : answered,
              answeredBy == null ? "" : answeredBy,
              Integer.toString(scores),
              Long.toString(atMicros))
          + "\n";
    }

    static Entry parse(String line) {
      String[] f = line.split("\t", -1);
      if (f.length != 9) {
        throw new IllegalArgumentException("not a ledger line: " + line);
      }
      return new Entry(
          f[0],
          f[1],
          f[2],
          f[3],
          Integer.parseInt(f[4]),
          f[5].isEmpty() ? null : f[5],
          f[6].isEmpty() ? null : f[6],
          Integer.parseInt(f[7]),
          Long.parseLong(f[8]));
    }
  }

  record Key(String requestId, String source) {}

  private final Path file;
  private final Map<Key, Entry> entries = new HashMap<>();

  private FeedbackLedger(Path file) {
    this.file = file;
  }

  /**
   * The ledger in {@code file}, read back; entries of requests issued more than {@code retention}
   * ago are dropped (the file is rewritten without them).
   */
  static FeedbackLedger open(Path file, Duration retention) {
    FeedbackLedger ledger = new FeedbackLedger(file);
    try {
      Files.createDirectories(file.getParent());
      if (!Files.exists(file)) {
        return ledger;
      }
      long oldest = System.currentTimeMillis() - retention.toMillis();
      int dropped = 0;
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (line.isBlank()) {
          continue;
        }
        Entry e;
        try {
          e = Entry.parse(line);
        } catch (IllegalArgumentException torn) {
          // a line cut short by a crash mid-append: its correction was journaled, only its
          // dedup mark is lost
          dropped++;
          continue;
        }
        if (JournalLookup.millisOf(e.requestId()) < oldest) {
          dropped++;
          continue;
        }
        ledger.entries.put(new Key(e.requestId(), e.source()), e);
      }
      if (dropped > 0) {
        ledger.rewrite();
      }
      return ledger;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the feedback ledger " + file, e);
    }
  }

  Entry get(Key key) {
    return entries.get(key);
  }

  int size() {
    return entries.size();
  }

  /** Remembers {@code e} in memory; {@link #append} makes it last. */
  void put(Entry e) {
    entries.put(new Key(e.requestId(), e.source()), e);
  }

  /** Appends {@code e}'s line to the file (blocking: on the blocking dispatcher). */
  void append(Entry e) throws IOException {
    Files.writeString(
        file,
        e.line(),
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND,
        StandardOpenOption.WRITE);
  }

  private void rewrite() throws IOException {
    List<String> lines = new ArrayList<>();
    entries.values().forEach(e -> lines.add(e.line()));
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, String.join("", lines), StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
