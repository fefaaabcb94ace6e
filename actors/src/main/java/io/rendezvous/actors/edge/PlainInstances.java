package io.rendezvous.actors.edge;

import java.util.ArrayList;
import java.util.List;

/**
 * The one body shape nearly every client sends, {@code {"instances": [[n, n, ...], ...]}} with
 * plain decimals, read straight from the bytes. A general JSON parser spent more CPU on a request's
 * 784 numbers (tokenizing each into a char buffer, then converting it) than the rest of the request
 * took; this reads each number once, with the same exact conversion as {@link Decimals}.
 *
 * <p>It only ever accepts what the full parser accepts, with the same values: anything else
 * (another field, nesting, exponents, long mantissas, a wrong count, invalid JSON) gives {@code
 * null}, and the caller reads the body with the full parser, which also says what is wrong.
 */
final class PlainInstances {
  private static final int MAX_SIGNIFICANT = Decimals.MAX_SIGNIFICANT;
  private static final byte[] FIELD =
      "\"instances\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private final byte[] b;
  private int i;

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
      double d = number();
      if (Double.isNaN(d)) {
        return null;
      }
      values[k++] = (float) d;
      space();
    } while (take(','));
    return take(']') && k == features ? values : null;
  }

  /**
   * A JSON number of the form {@code -?(0|[1-9][0-9]*)(.[0-9]+)?} whose digits and power of ten are
   * exact doubles: one IEEE division then gives the nearest double, as a full parser does
   * (Clinger's fast path). NaN for anything else.
   */
  private double number() {
    int n = b.length;
    boolean negative = i < n && b[i] == '-';
    if (negative) {
      i++;
    }
    if (i >= n) {
      return Double.NaN;
    }
    long digits = 0;
    int significant = 0;
    if (b[i] == '0') {
      i++;
    } else if (b[i] >= '1' && b[i] <= '9') {
      while (i < n && b[i] >= '0' && b[i] <= '9') {
        if (++significant > MAX_SIGNIFICANT) {
          return Double.NaN;
        }
        digits = digits * 10 + (b[i++] - '0');
      }
    } else {
      return Double.NaN;
    }
    int afterPoint = 0;
    if (i < n && b[i] == '.') {
      i++;
      int first = i;
      while (i < n && b[i] >= '0' && b[i] <= '9') {
        int digit = b[i++] - '0';
        // leading zeros add nothing to the digits, only to the power of ten
        if ((digits != 0 || digit != 0) && ++significant > MAX_SIGNIFICANT) {
          return Double.NaN;
        }
        digits = digits * 10 + digit;
        afterPoint++;
      }
      if (i == first) {
        return Double.NaN;
      }
    }
    if (i < n && (b[i] == 'e' || b[i] == 'E')) {
      return Double.NaN;
    }
    return Decimals.exact(digits, afterPoint, negative);
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
