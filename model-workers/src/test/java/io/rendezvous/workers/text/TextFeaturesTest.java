package io.rendezvous.workers.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The featurizer and the corpus reader. */
class TextFeaturesTest {
  static final TextFeatures FULL = new TextFeatures(2, 3, 5, 4096);

  @Test
  void anIdNamesTheSameFeaturizer() {
    for (TextFeatures f :
        List.of(FULL, new TextFeatures(1, 0, 0, 2048), new TextFeatures(2, 2, 4, 1024))) {
      TextFeatures back = TextFeatures.parse(f.id());
      assertEquals(f.id(), back.id());
      assertArrayEquals(f.features("Taxi to conference"), back.features("Taxi to conference"));
    }
    assertEquals("hashed-ngrams-v1:words=1-2:chars=3-5:width=4096", FULL.id());
    assertThrows(IllegalArgumentException.class, () -> TextFeatures.parse("bag-of-words:4096"));
    assertThrows(IllegalArgumentException.class, () -> new TextFeatures(1, 0, 0, 1000));
  }

  @Test
  void theVectorIsUnitLengthAndCaseBlind() {
    float[] v = FULL.features("Utility to resize images");
    double norm = 0;
    for (float x : v) {
      norm += x * x;
    }
    assertEquals(1.0, norm, 1e-5);
    assertArrayEquals(v, FULL.features("utility TO resize, images!"));
    assertNotEquals(
        java.util.Arrays.toString(v), java.util.Arrays.toString(FULL.features("resize images")));
    float[] empty = FULL.features("  ,;  ");
    for (float x : empty) {
      assertEquals(0f, x);
    }
  }

  @Test
  void wordsAreRunsOfLettersAndDigitsInAnyScript() {
    assertEquals(
        List.of("mp3", "encoder", "für", "größe", "日本語"),
        TextFeatures.words("MP3-encoder für Größe (日本語)"));
  }

  @Test
  void aCsvWithQuotesCommasAndLineBreaksIsRead() throws Exception {
    String csv =
        "id,text,category\n"
            + "1,\"Taxi to conference, airport\",travel\n"
            + "2,\"a \"\"quoted\"\" lunch\nwith a line break\",meals\n"
            + "3,,meals\n"
            + "4,Hotel,travel\n";
    TextCorpus c = TextCorpus.read(new StringReader(csv), "text", "category", "id");
    assertEquals(List.of("meals", "travel"), c.labels());
    assertEquals(3, c.train().size() + c.holdout().size(), "the row without text is skipped");
    List<String> texts =
        java.util.stream.Stream.concat(c.train().stream(), c.holdout().stream())
            .map(TextCorpus.Example::text)
            .sorted()
            .toList();
    assertEquals(
        List.of("Hotel", "Taxi to conference, airport", "a \"quoted\" lunch\nwith a line break"),
        texts);
    Exception missing =
        assertThrows(
            java.io.IOException.class,
            () -> TextCorpus.read(new StringReader(csv), "description", "category", null));
    assertTrue(missing.getMessage().contains("[id, text, category]"), missing.getMessage());
  }

  @Test
  void theShippedCorpusHasFifteenSectionsAndAFixedHoldOut() {
    TextCorpus c = TextCorpus.shipped();
    assertEquals(15, c.labels().size());
    int all = c.train().size() + c.holdout().size();
    assertTrue(all > 11_000, "rows " + all);
    double share = (double) c.holdout().size() / all;
    assertTrue(share > 0.18 && share < 0.22, "held out " + share);
    assertEquals(c.holdout(), TextCorpus.shipped().holdout());
  }
}
