package io.rendezvous.node;

import io.rendezvous.journal.JournalJson;
import io.rendezvous.journal.JournalReader;
import io.rendezvous.journal.JournalRecord;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Prints journal records as JSON lines: all of them, or one request's story ({@code --id}), from
 * one or several nodes' journal directories merged by time (each directory in the order its node
 * wrote it).
 */
@Command(
    name = "journal-dump",
    mixinStandardHelpOptions = true,
    description = "Print journal records as JSON lines, merged by time across journal directories.")
public final class JournalDump implements Callable<Integer> {
  @Option(names = "--id", paramLabel = "REQUEST_ID", description = "Only this request's records.")
  String id;

  @Parameters(arity = "1..*", paramLabel = "JOURNAL_DIR", description = "Journal directories.")
  List<Path> dirs;

  @Spec CommandSpec spec;

  /** Runs the command with its own output streams (for tests and embedding); the exit code. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    return new CommandLine(new JournalDump())
        .setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true))
        .execute(args);
  }

  /** Records read from a journal at a time while merging. */
  private static final int CHUNK = 256;

  /**
   * Streams: a journal of a soak holds millions of records (gigabytes of inputs), more than a heap
   * should. Several directories are merged by time, each in the order its node wrote it: a k-way
   * merge of one reader per directory.
   */
  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    for (Path dir : dirs) {
      if (!Files.isDirectory(dir)) {
        err.println("no journal directory " + dir.toAbsolutePath());
        return 1;
      }
    }
    List<Source> sources = new ArrayList<>();
    try {
      PriorityQueue<Source> byTime =
          new PriorityQueue<>(Comparator.comparingLong((Source src) -> src.head().atMicros()));
      for (Path dir : dirs) {
        Source src = new Source(dir, JournalReader.tail(dir, -1), err);
        sources.add(src);
        if (src.advance()) {
          byTime.add(src);
        }
      }
      while (!byTime.isEmpty()) {
        Source src = byTime.poll();
        JournalRecord r = src.head();
        if (id == null || id.equals(r.requestId())) {
          out.println(JournalJson.toJson(r));
        }
        if (src.advance()) {
          byTime.add(src);
        }
      }
    } finally {
      sources.forEach(Source::close);
    }
    out.flush();
    return 0;
  }

  /** One directory's reader and its next record; an excerpt that cannot be read is reported. */
  private static final class Source implements AutoCloseable {
    private final Path dir;
    private final JournalReader.Tail tail;
    private final PrintWriter err;
    private final ArrayDeque<JournalReader.Indexed> buffered = new ArrayDeque<>();
    private JournalRecord head;

    Source(Path dir, JournalReader.Tail tail, PrintWriter err) {
      this.dir = dir;
      this.tail = tail;
      this.err = err;
    }

    JournalRecord head() {
      return head;
    }

    /** Moves to the next readable record; false at the end. */
    boolean advance() {
      while (true) {
        if (buffered.isEmpty()) {
          buffered.addAll(tail.next(CHUNK));
          if (buffered.isEmpty()) {
            head = null;
            return false;
          }
        }
        JournalReader.Indexed next = buffered.poll();
        if (next.record() != null) {
          head = next.record();
          return true;
        }
        err.println(
            "journal "
                + dir
                + ": excerpt at index "
                + next.index()
                + " cannot be read, skipped: "
                + next.unreadable());
      }
    }

    @Override
    public void close() {
      tail.close();
    }
  }
}
