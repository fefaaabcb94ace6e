package io.rendezvous.workers.text;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns short text into the dense float vector a text model's SavedModel takes: the lower-cased
 * text's words (and, as configured, pairs of adjacent words and the character n-grams of each word
 * padded with spaces) hashed (FNV-1a over their UTF-8 bytes) into {@code width} buckets, counted,
 * then scaled to unit length. So the SavedModel stays a dense float graph the TensorFlow engine
 * serves, and the text, not the vector, is what the journal keeps. Its {@link #id} names it in the
 * model's metadata ({@code hashed-ngrams-v1:words=1-2:chars=3-5:width=4096}); the same id always
 * gives the same vector.
 */
public final class TextFeatures {
  public static final String KIND = "hashed-ngrams-v1";

  private final int maxWordGram;
  private final int minCharGram;
  private final int maxCharGram;
  private final int width;

  /**
   * Words and pairs up to {@code maxWordGram} words (1 or 2), character n-grams from {@code
   * minCharGram} to {@code maxCharGram} (0 and 0: none), hashed into {@code width} buckets.
   */
  public TextFeatures(int maxWordGram, int minCharGram, int maxCharGram, int width) {
    if (maxWordGram < 1 || maxWordGram > 2) {
      throw new IllegalArgumentException("word n-grams of 1 or 2 words, not " + maxWordGram);
    }
    if (minCharGram < 0 || maxCharGram < minCharGram || (minCharGram == 0) != (maxCharGram == 0)) {
      throw new IllegalArgumentException(
          "character n-grams from " + minCharGram + " to " + maxCharGram + " make no sense");
    }
    if (width < 16 || Integer.bitCount(width) != 1) {
      throw new IllegalArgumentException("width must be a power of two of at least 16: " + width);
    }
    this.maxWordGram = maxWordGram;
    this.minCharGram = minCharGram;
    this.maxCharGram = maxCharGram;
    this.width = width;
  }

  /** The featurizer an id names. */
  public static TextFeatures parse(String id) {
    String[] parts = id.split(":");
    if (parts.length != 4 || !KIND.equals(parts[0])) {
      throw new IllegalArgumentException(
          "unknown featurizer '"
              + id
              + "' (this build knows "
              + KIND
              + ":words=..:chars=..:width=..)");
    }
    Map<String, String> p = new TreeMap<>();
    for (int i = 1; i < parts.length; i++) {
      String[] kv = parts[i].split("=", 2);
      if (kv.length != 2) {
        throw new IllegalArgumentException(
            "featurizer '" + id + "': '" + parts[i] + "' is not k=v");
      }
      p.put(kv[0], kv[1]);
    }
    try {
      int[] words = range(p.get("words"));
      int[] chars = "0".equals(p.get("chars")) ? new int[] {0, 0} : range(p.get("chars"));
      if (words[0] != 1) {
        throw new IllegalArgumentException("word n-grams start at 1");
      }
      return new TextFeatures(words[1], chars[0], chars[1], Integer.parseInt(p.get("width")));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("featurizer '" + id + "': " + e.getMessage(), e);
    }
  }

  private static int[] range(String r) {
    String[] ab = r.split("-");
    int a = Integer.parseInt(ab[0]);
    return new int[] {a, ab.length == 1 ? a : Integer.parseInt(ab[1])};
  }

  public String id() {
    return KIND
        + ":words=1-"
        + maxWordGram
        + ":chars="
        + (maxCharGram == 0 ? "0" : minCharGram + "-" + maxCharGram)
        + ":width="
        + width;
  }

  public int width() {
    return width;
  }

  /** The words of {@code text}: lower-cased runs of letters and digits. */
  static List<String> words(String text) {
    List<String> out = new ArrayList<>();
    String lower = text.toLowerCase(Locale.ROOT);
    int start = -1;
    for (int i = 0; i < lower.length(); ) {
      int cp = lower.codePointAt(i);
      boolean inWord = Character.isLetterOrDigit(cp);
      if (inWord && start < 0) {
        start = i;
      } else if (!inWord && start >= 0) {
        out.add(lower.substring(start, i));
        start = -1;
      }
      i += Character.charCount(cp);
    }
    if (start >= 0) {
      out.add(lower.substring(start));
    }
    return out;
  }

  /**
   * The non-zero buckets of {@code text}'s vector, sorted, and their values: what training keeps
   * per example instead of the dense vector.
   */
  public Sparse sparse(String text) {
    Map<Integer, Float> counts = new TreeMap<>();
    List<String> words = words(text);
    for (int i = 0; i < words.size(); i++) {
      String w = words.get(i);
      add(counts, "w:" + w);
      if (maxWordGram >= 2 && i + 1 < words.size()) {
        add(counts, "b:" + w + " " + words.get(i + 1));
      }
      if (maxCharGram > 0) {
        String padded = " " + w + " ";
        int[] cps = padded.codePoints().toArray();
        for (int n = minCharGram; n <= maxCharGram; n++) {
          for (int s = 0; s + n <= cps.length; s++) {
            add(counts, "c:" + new String(cps, s, n));
          }
        }
      }
    }
    int[] index = new int[counts.size()];
    float[] value = new float[counts.size()];
    double norm = 0;
    int k = 0;
    for (Map.Entry<Integer, Float> e : counts.entrySet()) {
      index[k] = e.getKey();
      value[k] = e.getValue();
      norm += value[k] * value[k];
      k++;
    }
    if (norm > 0) {
      float scale = (float) (1 / Math.sqrt(norm));
      for (int i = 0; i < value.length; i++) {
        value[i] *= scale;
      }
    }
    return new Sparse(index, value);
  }

  /** The dense vector of {@code text}: {@link #width} floats, unit length (all 0 with no word). */
  public float[] features(String text) {
    float[] out = new float[width];
    sparse(text).addTo(out, 0);
    return out;
  }

  /** Bucket indices (sorted) and their values. */
  public record Sparse(int[] index, float[] value) {
    public Sparse {
      index = index.clone();
      value = value.clone();
    }

    /** Adds this vector into {@code dense} from {@code offset}. */
    public void addTo(float[] dense, int offset) {
      for (int i = 0; i < index.length; i++) {
        dense[offset + index[i]] += value[i];
      }
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Sparse s
          && Arrays.equals(index, s.index)
          && Arrays.equals(value, s.value);
    }

    @Override
    public int hashCode() {
      return 31 * Arrays.hashCode(index) + Arrays.hashCode(value);
    }
  }

  private void add(Map<Integer, Float> counts, String token) {
    counts.merge(bucket(token), 1f, Float::sum);
  }

  /** FNV-1a (32 bits) of the token's UTF-8 bytes, masked to the width. */
  int bucket(String token) {
    int h = 0x811c9dc5;
    for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x01000193;
    }
    return h & (width - 1);
  }
}
