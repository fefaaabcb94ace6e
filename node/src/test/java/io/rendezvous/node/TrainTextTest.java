package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.ModelStore;
import io.rendezvous.workers.text.TextCorpus;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rendezvous train-text} on a user's CSV (its own columns, three categories, texts with
 * commas and quotes): three models in the store, a report with the majority baseline and a
 * confusion table; a missing column is a clear error.
 */
class TrainTextTest {
  @TempDir Path dir;

  /**
   * A user's CSV ({@code id,note,kind}, texts quoted) of the shipped corpus's rows of {@code
   * sections} from {@code parts}.
   */
  static String csv(Set<String> sections, List<List<TextCorpus.Example>> parts) {
    TextCorpus shipped = TextCorpus.shipped();
    StringBuilder csv = new StringBuilder("id,note,kind\n");
    int n = 0;
    for (List<TextCorpus.Example> part : parts) {
      for (TextCorpus.Example e : part) {
        String label = shipped.labels().get(e.label());
        if (sections.contains(label)) {
          csv.append(n++)
              .append(",\"")
              .append(e.text().replace("\"", "\"\""))
              .append("\",")
              .append(label)
              .append('\n');
        }
      }
    }
    return csv.toString();
  }

  @Test
  void aCsvBecomesThreeModelsWithAReport() throws Exception {
    String csv = csv(Set.of("games", "sound", "graphics"), List.of(TextCorpus.shipped().train()));
    Path file = dir.resolve("notes.csv");
    Files.writeString(file, csv, StandardCharsets.UTF_8);
    Path store = dir.resolve("store");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc =
        TrainText.run(
            new String[] {
              "--csv", file.toString(),
              "--text-column", "note",
              "--label-column", "kind",
              "--key-column", "id",
              "--name", "kinds",
              "--store", store.toString()
            },
            new PrintStream(out),
            new PrintStream(err));
    String printed = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, rc, printed + err);
    assertTrue(printed.contains("3 categories [games, graphics, sound]"), printed);
    assertTrue(printed.contains("against the majority class's"), printed);
    assertTrue(printed.contains("recall"), "a confusion table: " + printed);
    ModelStore s = new ModelStore(store);
    for (String m : List.of("kinds-nb", "kinds-logreg", "kinds-mlp")) {
      ModelMetadata meta = ModelMetadata.read(s.versionDir(m, "1"));
      assertEquals(List.of("games", "graphics", "sound"), meta.labels());
      assertTrue(meta.featurizer().startsWith("hashed-ngrams-v1"), meta.featurizer());
    }
    ModelMetadata mlp = ModelMetadata.read(s.versionDir("kinds-mlp", "1"));
    assertTrue(mlp.holdoutAccuracy() > 0.7, "three well-separated kinds: " + mlp.holdoutAccuracy());

    ByteArrayOutputStream err2 = new ByteArrayOutputStream();
    int bad =
        TrainText.run(
            new String[] {
              "--csv", file.toString(),
              "--text-column", "text",
              "--label-column", "kind",
              "--name", "kinds",
              "--store", store.toString()
            },
            new PrintStream(new ByteArrayOutputStream()),
            new PrintStream(err2));
    assertEquals(2, bad);
    assertTrue(err2.toString(StandardCharsets.UTF_8).contains("no column 'text'"), err2.toString());
  }
}
