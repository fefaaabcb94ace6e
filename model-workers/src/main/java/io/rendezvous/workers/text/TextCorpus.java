package io.rendezvous.workers.text;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Short texts with their categories, read from a CSV with a header (RFC 4180 quoting), cut into a
 * training and a fixed hold-out part by a hash of each row's key, so the cut does not depend on the
 * rows' order. The shipped corpus: each Debian bookworm (main) package's one-line description and
 * its archive section, for 15 sections that say what a package is for ({@code
 * model-workers/scripts/debian-descriptions.py} made it from Debian's Packages index).
 */
public final class TextCorpus {
  public static final String SHIPPED = "/text/debian-bookworm-descriptions.csv.gz";

  /**
   * A text model version trained on a user's CSV (or retrained from corrections) keeps its rows in
   * this file of its directory (key, text, label, split), so a node can check it on its own
   * hold-out part and a trainer can retrain it.
   */
  public static final String VERSION_DATA = "training-data.csv.gz";

  private static final String TRAIN = "train";
  private static final String HOLDOUT = "holdout";

  /** The share of rows held out. */
  public static final double HOLDOUT_SHARE = 0.2;

  /** One text, its label's index among {@link #labels}, and the key the cut hashes. */
  public record Example(String key, String text, int label) {}

  private final List<String> labels;
  private final List<Example> train;
  private final List<Example> holdout;

  private TextCorpus(List<String> labels, List<Example> train, List<Example> holdout) {
    this.labels = List.copyOf(labels);
    this.train = List.copyOf(train);
    this.holdout = List.copyOf(holdout);
  }

  /** The shipped corpus (package, section, description). */
  public static TextCorpus shipped() {
    try (InputStream in = TextCorpus.class.getResourceAsStream(SHIPPED)) {
      if (in == null) {
        throw new IOException("resource " + SHIPPED + " is missing from the classpath");
      }
      return read(
          new InputStreamReader(new GZIPInputStream(in), StandardCharsets.UTF_8),
          "description",
          "section",
          "package");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the shipped text corpus", e);
    }
  }

  /**
   * A CSV's {@code textColumn} and {@code labelColumn}; {@code keyColumn} (null: the row's text and
   * number) decides the hold-out cut. Rows with an empty text or label are skipped.
   */
  public static TextCorpus read(Reader csv, String textColumn, String labelColumn, String keyColumn)
      throws IOException {
    return read(csv, textColumn, labelColumn, keyColumn, null);
  }

  /**
   * The same; {@code splitColumn} (when not null) says each row's part ({@code train} or {@code
   * holdout}) instead of the key's hash: a version's rows keep the parts they were trained with.
   */
  private static TextCorpus read(
      Reader csv, String textColumn, String labelColumn, String keyColumn, String splitColumn)
      throws IOException {
    BufferedReader r = new BufferedReader(csv);
    List<String> header = row(r);
    if (header == null) {
      throw new IOException("the CSV is empty");
    }
    int t = column(header, textColumn);
    int l = column(header, labelColumn);
    int k = keyColumn == null ? -1 : column(header, keyColumn);
    int sp = splitColumn == null ? -1 : column(header, splitColumn);
    List<String[]> rows = new ArrayList<>();
    TreeSet<String> labelSet = new TreeSet<>();
    int n = 0;
    for (List<String> row = row(r); row != null; row = row(r)) {
      n++;
      if (row.size() <= Math.max(Math.max(t, sp), Math.max(l, k))) {
        throw new IOException(
            "row " + (n + 1) + " has " + row.size() + " fields, fewer than the header");
      }
      String text = row.get(t).strip();
      String label = row.get(l).strip();
      if (text.isEmpty() || label.isEmpty()) {
        continue;
      }
      labelSet.add(label);
      rows.add(
          new String[] {
            k >= 0 ? row.get(k) : text + "#" + n, text, label, sp >= 0 ? row.get(sp) : null
          });
    }
    List<String> labels = List.copyOf(labelSet);
    List<Example> train = new ArrayList<>();
    List<Example> holdout = new ArrayList<>();
    for (String[] row : rows) {
      Example e = new Example(row[0], row[1], labels.indexOf(row[2]));
      boolean held = row[3] != null ? HOLDOUT.equals(row[3]) : heldOut(row[0]);
      (held ? holdout : train).add(e);
    }
    return new TextCorpus(labels, train, holdout);
  }

  /** The rows a version directory keeps ({@link #VERSION_DATA}); null when it keeps none. */
  public static TextCorpus ofVersion(Path versionDir) throws IOException {
    Path file = versionDir.resolve(VERSION_DATA);
    if (!Files.isRegularFile(file)) {
      return null;
    }
    try (Reader r =
        new InputStreamReader(
            new GZIPInputStream(Files.newInputStream(file)), StandardCharsets.UTF_8)) {
      return read(r, "text", "label", "key", "split");
    }
  }

  /**
   * Writes every row (training and hold-out, with the keys that cut them) as {@link #VERSION_DATA}
   * into {@code versionDir}: read back with {@link #ofVersion}, the same parts and labels.
   */
  public void writeTo(Path versionDir) throws IOException {
    try (Writer w =
        new java.io.OutputStreamWriter(
            new GZIPOutputStream(Files.newOutputStream(versionDir.resolve(VERSION_DATA))),
            StandardCharsets.UTF_8)) {
      w.write("key,text,label,split\n");
      for (List<Example> part : List.of(train, holdout)) {
        String split = part == train ? TRAIN : HOLDOUT;
        for (Example e : part) {
          w.write(quoted(e.key()) + "," + quoted(e.text()) + "," + quoted(labels.get(e.label())));
          w.write("," + split + "\n");
        }
      }
    }
  }

  private static String quoted(String field) {
    return '"' + field.replace("\"", "\"\"") + '"';
  }

  /** The same labels and hold-out part with {@code train} to train on. */
  public TextCorpus withTrain(List<Example> train) {
    return new TextCorpus(labels, train, holdout);
  }

  /** Whether the row of {@code key} is in the hold-out part (a hash of the key). */
  static boolean heldOut(String key) {
    long h = 1125899906842597L;
    for (int i = 0; i < key.length(); i++) {
      h = 31 * h + key.charAt(i);
    }
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return (h >>> 11) * 0x1.0p-53 < HOLDOUT_SHARE;
  }

  private static int column(List<String> header, String name) throws IOException {
    int i = header.indexOf(name);
    if (i < 0) {
      throw new IOException("no column '" + name + "' in the CSV; its columns: " + header);
    }
    return i;
  }

  /**
   * One CSV record (quoted fields may hold commas, quotes doubled, and line breaks); null at the
   * end.
   */
  static List<String> row(BufferedReader r) throws IOException {
    String line = r.readLine();
    if (line == null) {
      return null;
    }
    List<String> out = new ArrayList<>();
    StringBuilder field = new StringBuilder();
    boolean quoted = false;
    while (true) {
      for (int i = 0; i < line.length(); i++) {
        char c = line.charAt(i);
        if (quoted) {
          if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
            field.append('"');
            i++;
          } else if (c == '"') {
            quoted = false;
          } else {
            field.append(c);
          }
        } else if (c == '"') {
          quoted = true;
        } else if (c == ',') {
          out.add(field.toString());
          field.setLength(0);
        } else {
          field.append(c);
        }
      }
      if (!quoted) {
        break;
      }
      String next = r.readLine();
      if (next == null) {
        throw new IOException("a quoted field is not closed before the end of the CSV");
      }
      field.append('\n');
      line = next;
    }
    out.add(field.toString());
    return out;
  }

  public List<String> labels() {
    return labels;
  }

  public List<Example> train() {
    return train;
  }

  public List<Example> holdout() {
    return holdout;
  }
}
