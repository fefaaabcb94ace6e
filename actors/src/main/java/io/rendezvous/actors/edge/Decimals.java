package io.rendezvous.actors.edge;

/**
 * Plain JSON decimals ({@code -12}, {@code 0.5294118}) to double without a general parser: with at
 * most 2^53 as the digits and at most 22 of them after the point, both the digits and the power of
 * ten are exact doubles and one IEEE division rounds correctly, so the result is the double nearest
 * the decimal, exactly what a full parser gives (Clinger's fast path). Anything else (exponents,
 * long mantissas) is left to the caller's full parser. Request bodies are mostly pixels like these,
 * hundreds per instance, and the general path cost more per request than the routing did.
 */
final class Decimals {
  private Decimals() {}

  private static final double[] POWERS_OF_TEN = new double[23];
  private static final long MAX_EXACT = 1L << 53;

  /** Significant digits that always fit in a long. */
  static final int MAX_SIGNIFICANT = 18;

  static {
    double p = 1;
    for (int i = 0; i < POWERS_OF_TEN.length; i++) {
      POWERS_OF_TEN[i] = p;
      p *= 10;
    }
  }

  /**
   * The decimal in {@code text[offset, offset+length)}, or NaN if it is not one this fast path
   * takes.
   */
  static double parse(char[] text, int offset, int length) {
    int i = offset;
    int end = offset + length;
    boolean negative = i < end && text[i] == '-';
    if (negative) {
      i++;
    }
    long digits = 0;
    int afterPoint = -1;
    int significant = 0;
    boolean seen = false;
    for (; i < end; i++) {
      char c = text[i];
      if (c >= '0' && c <= '9') {
        // leading zeros add nothing; 18 significant digits always fit in a long
        if ((digits != 0 || c != '0') && ++significant > MAX_SIGNIFICANT) {
          return Double.NaN;
        }
        seen = true;
        digits = digits * 10 + (c - '0');
        if (afterPoint >= 0) {
          afterPoint++;
        }
      } else if (c == '.' && afterPoint < 0) {
        afterPoint = 0;
      } else {
        return Double.NaN;
      }
    }
    if (!seen) {
      return Double.NaN;
    }
    return exact(digits, Math.max(afterPoint, 0), negative);
  }

  /**
   * {@code digits / 10^afterPoint}, negated if asked, when both are exact doubles (then one
   * division rounds correctly); NaN otherwise.
   */
  static double exact(long digits, int afterPoint, boolean negative) {
    if (digits > MAX_EXACT || afterPoint >= POWERS_OF_TEN.length) {
      return Double.NaN;
    }
    double value = afterPoint > 0 ? digits / POWERS_OF_TEN[afterPoint] : digits;
    return negative ? -value : value;
  }
}
