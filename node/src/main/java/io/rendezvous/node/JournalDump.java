package io.rendezvous.node;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.journal.JournalReader;
import io.rendezvous.actors.journal.JournalRecord;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;

/**
 * Prints journal records as JSON lines: all of them, or one request's story ({@code --id}), from one or
 * several nodes' journal directories merged by time.
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
        JournalReader.forEach(dir, r -> {
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
      out.println(toJson(r));
    }
    out.flush();
    return 0;
  }

  public static String toJson(JournalRecord r) {
    ObjectNode o = Json.object();
    o.put("schema", JournalRecord.SCHEMA_VERSION);
    o.put("id", r.requestId());
    o.put("node", r.node());
    o.put("endpoint", r.endpoint());
    o.put("at_micros", r.atMicros());
    if (r instanceof JournalRecord.Input i) {
      o.put("type", "input");
      o.put("client_id", i.clientId());
      o.put("source", i.source());
      o.put("source_sha256", i.sourceSha256());
      o.put("dtype", i.tensor().dtype());
      ArrayNode shape = o.putArray("shape");
      for (long d : i.tensor().shape()) {
        shape.add(d);
      }
      o.put("data_base64", Base64.getEncoder().encodeToString(i.tensor().data()));
    } else if (r instanceof JournalRecord.Score s) {
      o.put("type", "score");
      o.put("model", s.model());
      o.put("version", s.version());
      o.put("outcome", s.outcome().wireName());
      o.put("arrival_micros", s.arrivalMicros());
      o.put("inference_micros", s.inferenceMicros());
      probabilities(o, s.probabilities());
      o.put("error", s.error());
    } else if (r instanceof JournalRecord.Answer a) {
      o.put("type", "answer");
      o.put("client_id", a.clientId());
      o.put("status", a.status());
      o.put("model", a.model());
      o.put("version", a.version());
      o.put("stage", a.stage());
      o.put("label", a.label());
      probabilities(o, a.probabilities());
      o.put("decided_micros", a.decidedMicros());
      o.put("error", a.error());
    }
    try {
      return Json.MAPPER.writeValueAsString(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void probabilities(ObjectNode o, float[] p) {
    if (p != null) {
      Answers.floats(o.putArray("probabilities"), p);
    }
  }
}
