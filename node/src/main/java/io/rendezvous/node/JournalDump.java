package io.rendezvous.node;

import io.rendezvous.actors.journal.JournalJson;
import io.rendezvous.actors.journal.JournalReader;
import io.rendezvous.actors.journal.JournalRecord;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Prints journal records as JSON lines: all of them, or one request's story ({@code --id}), from
 * one or several nodes' journal directories merged by time.
 */
public final class JournalDump {
  private JournalDump() {}

  public static int run(String[] args, PrintStream out, PrintStream err) {
    String id = null;
    List<Path> dirs = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if ("--id".equals(args[i]) && i + 1 < args.length) {
        id = args[++i];
      } else if (args[i].startsWith("-")) {
        err.println("unknown option " + args[i]);
        return 2;
      } else {
        dirs.add(Path.of(args[i]));
      }
    }
    if (dirs.isEmpty()) {
      err.println("usage: journal-dump [--id REQUEST_ID] JOURNAL_DIR...");
      return 2;
    }
    List<JournalRecord> records = new ArrayList<>();
    for (Path dir : dirs) {
      try {
        String wanted = id;
        JournalReader.forEach(
            dir,
            r -> {
              if (wanted == null || wanted.equals(r.requestId())) {
                records.add(r);
              }
            });
      } catch (IllegalArgumentException e) {
        err.println(e.getMessage());
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
