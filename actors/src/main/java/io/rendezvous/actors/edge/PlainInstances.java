package io.rendezvous.actors.edge;

import java.util.ArrayList;
import java.util.List;

/**
 * The one body shape nearly every client sends, {@code {"instances": [[n, n, ...], ...]}} with
 * plain decimals, read straight from the bytes. A general JSON parser spent more CPU on a request's
 * 784 numbers (tokenizing each into a char buffer, then converting it) than the rest of the request
 * took; this reads each number once, with the conversion of {@link Decimals}.
 *
 * <p>It only ever accepts what the full parser accepts, with the same values (each number exactly
 * as {@link Float#parseFloat} reads it): anything else (another field, nesting, a number beyond
 * float32, a wrong count, invalid JSON) gives {@code null}, and the caller reads the body with the
 * full parser, which also says what is wrong.
 */
final class PlainInstances {
  private static final int MAX_SIGNIFICANT = Decimals.MAX_SIGNIFICANT;
  private static final byte[] FIELD =
      "\"instances\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private final byte[] b;
  private int i;

  /** A number's characters, for the numbers read from their text; grown as needed. */
  private char[] text = new char[32];

  private PlainInstances(byte[] body) {
    this.b = body;
  }

  /**
   * The instances, each exactly {@code features} floats, at most {@code maxInstances} of them; or
   * null when the body is not in the plain shape (or is wrong), to be read by the full parser.
   */
  static List<float[]> read(byte[] body, int features, int maxInstances) {
    return new PlainInstances(body).instances(features, maxInstances);
  }

  private List<float[]> instances(int features, int maxInstances) {
    space();
    if (!take('{')) {
      return null;
    }
    space();
    if (!takeField()) {
      return null;
    }
    space();
    if (!take(':')) {
      return null;
    }
    space();
    if (!take('[')) {
      return null;
    }
    List<float[]> out = new ArrayList<>(1);
    do {
      if (out.size() >= maxInstances) {
        return null;
      }
      space();
      float[] values = instance(features);
      if (values == null) {
        return null;
      }
      out.add(values);
      space();
    } while (take(','));
    if (!take(']')) {
      return null;
    }
    space();
    if (!take('}')) {
      return null;
    }
    space();
    return i == b.length ? out : null;
  }

  private float[] instance(int features) {
    if (!take('[')) {
      return null;
    }
    float[] values = new float[features];
    int k = 0;
    do {
      if (k == features) {
        return null;
      }
      space();
      float f = number();
      if (Float.isNaN(f)) {
        return null;
      }
      values[k++] = f;
      space();
    } while (take(','));
    return take(']') && k == features ? values : null;
  }

  /**
   * A JSON number ({@code -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?}) as {@link
   * Float#parseFloat} reads it: plain decimals of up to 18 significant digits and 22 after the
   * point on the fast path ({@link Decimals#exactFloat}), every other number (an exponent, more
   * digits, a value too close to a tie between two floats) from its text. NaN when it is not a JSON
   * number, or not a finite float32 (the full parser then says so).
   */
  private float number() {
    int n = b.length;
    int start = i;
    boolean negative = i < n && b[i] == '-';
    if (negative) {
      i++;
    }
    if (i >= n) {
      return Float.NaN;
    }
    long digits = 0;
    int significant = 0;
    if (b[i] == '0') {
      i++;
    } else if (b[i] >= '1' && b[i] <= '9') {
      while (i < n && b[i] >= '0' && b[i] <= '9') {
        ++significant;
        digits = digits * 10 + (b[i++] - '0');
      }
    } else {
      return Float.NaN;
    }
    int afterPoint = 0;
    if (i < n && b[i] == '.') {
      i++;
      int first = i;
      while (i < n && b[i] >= '0' && b[i] <= '9') {
        int digit = b[i++] - '0';
        // leading zeros add nothing to the digits, only to the power of ten
        if (digits != 0 || digit != 0) {
          ++significant;
        }
        digits = digits * 10 + digit;
        afterPoint++;
      }
      if (i == first) {
        return Float.NaN;
      }
    }
    boolean exponent = i < n && (b[i] == 'e' || b[i] == 'E');
    if (exponent) {
      i++;
      if (i < n && (b[i] == '+' || b[i] == '-')) {
        i++;
      }
      int first = i;
      while (i < n && b[i] >= '0' && b[i] <= '9') {
        i++;
      }
      if (i == first) {
        return Float.NaN;
      }
    }
    // past MAX_SIGNIFICANT digits the long has wrapped: only the text says what the number is
    if (!exponent && significant <= MAX_SIGNIFICANT) {
      float f = Decimals.exactFloat(digits, afterPoint, negative);
      if (!Float.isNaN(f)) {
        return f;
      }
    }
    return fromText(start, i - start);
  }

  /** The number in {@code b[start, start+length)}, a valid JSON number, read from its text. */
  private float fromText(int start, int length) {
    if (text.length < length) {
      text = new char[length];
    }
    for (int k = 0; k < length; k++) {
      text[k] = (char) b[start + k];
    }
    float f = Decimals.parseFloat(text, 0, length);
    return Float.isFinite(f) ? f : Float.NaN;
  }

  private boolean takeField() {
    if (b.length - i < FIELD.length) {
      return false;
    }
    for (int k = 0; k < FIELD.length; k++) {
      if (b[i + k] != FIELD[k]) {
        return false;
      }
    }
    i += FIELD.length;
    return true;
  }

  private boolean take(char c) {
    if (i < b.length && b[i] == c) {
      i++;
      return true;
    }
    return false;
  }

  /** JSON's four whitespace bytes. */
  private void space() {
    while (i < b.length) {
      byte c = b[i];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
        return;
      }
      i++;
    }
  }
}
