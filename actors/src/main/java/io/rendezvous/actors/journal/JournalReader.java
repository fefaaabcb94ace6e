package io.rendezvous.actors.journal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

/** Reads a journal directory from the start, in append order. Read-only; safe beside a running writer. */
public final class JournalReader {
  private JournalReader() {}

  public static void forEach(Path dir, Consumer<JournalRecord> action) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("no journal directory " + dir.toAbsolutePath());
    }
    try (SingleChronicleQueue queue = SingleChronicleQueueBuilder.binary(dir).readOnly(true).build();
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

  public static List<JournalRecord> readAll(Path dir) {
    List<JournalRecord> out = new ArrayList<>();
    forEach(dir, out::add);
    return out;
  }
}
