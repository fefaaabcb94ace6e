package io.rendezvous.node;

import io.rendezvous.journal.JournalJson;
import io.rendezvous.journal.JournalReader;
import io.rendezvous.journal.JournalRecord;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Prints journal records as JSON lines: all of them, or one request's story ({@code --id}), from
 * one or several nodes' journal directories merged by time.
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

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    List<JournalRecord> records = new ArrayList<>();
    for (Path dir : dirs) {
      try {
        JournalReader.forEach(
            dir,
            r -> {
              if (id == null || id.equals(r.requestId())) {
                records.add(r);
              }
            });
      } catch (IllegalArgumentException e) {
        spec.commandLine().getErr().println(e.getMessage());
        return 1;
      }
    }
    if (dirs.size() > 1) {
      records.sort(Comparator.comparingLong(JournalRecord::atMicros));
    }
    for (JournalRecord r : records) {
      out.println(JournalJson.toJson(r));
    }
    out.flush();
    return 0;
  }
}
