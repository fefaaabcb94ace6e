package io.rendezvous.actors.edge;

import com.fasterxml.jackson.core.io.NumberInput;

/**
 * JSON numbers to the float32 the models take, exactly what {@link Float#parseFloat} gives for the
 * same text, and fast for the numbers clients write.
 *
 * <p>Plain decimals ({@code -12}, {@code 0.5294118}) with at most 2^53 as the digits and at most 22
 * of them after the point go without a general parser: both the digits and the power of ten are
 * exact doubles, so one IEEE division gives the double nearest the decimal (Clinger's fast path).
 * Rounding that double to float is exact too, unless the double falls exactly halfway between two
 * floats: then the decimal itself may lie just off the tie, and that rare case, like every other
 * number (exponents, the 17 significant digits Python and numpy write), goes to Jackson's bundled
 * FastDoubleParser, which reads floats directly (no double rounding through a double). Request
 * bodies are mostly numbers, hundreds per instance: the general path cost more per request than the
 * routing did.
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

  /** A float midpoint has 25 significant bits: as a double, bit 28 set and the 28 below it zero. */
  private static final long BELOW_FLOAT_PRECISION = (1L << 29) - 1;

  private static final long FLOAT_MIDPOINT = 1L << 28;

  /**
   * Units of a double by which a quotient of rounded digits may miss the exact one (at most about
   * one; a margin for safety).
   */
  private static final long INEXACT_MARGIN = 4;

  /**
   * The JSON number in {@code text[offset, offset+length)} as {@link Float#parseFloat} reads it
   * (infinite when it is beyond float32's range).
   *
   * @throws NumberFormatException when it is not a number
   */
  static float parseFloat(char[] text, int offset, int length) {
    double d = parse(text, offset, length);
    if (!Double.isNaN(d) && !isFloatMidpoint(d)) {
      return (float) d;
    }
    return NumberInput.parseFloat(text, offset, length, true);
  }

  /**
   * {@code digits / 10^afterPoint}, negated if asked, as the nearest float; NaN when the fast path
   * cannot say (the caller then reads the number from its text). Up to 2^53 the digits are an exact
   * double and the division rounds once: the double is wrong for float only on an exact tie. Beyond
   * (the 17 significant digits Python and numpy write), the digits round too, so the double may be
   * off by about one of its units either way: it is trusted only when it is further than {@link
   * #INEXACT_MARGIN} units from a tie, which leaves the decimal on the same side of it.
   */
  static float exactFloat(long digits, int afterPoint, boolean negative) {
    if (afterPoint >= POWERS_OF_TEN.length) {
      return Float.NaN;
    }
    double d = afterPoint > 0 ? digits / POWERS_OF_TEN[afterPoint] : digits;
    long fromTie =
        Math.abs((Double.doubleToRawLongBits(d) & BELOW_FLOAT_PRECISION) - FLOAT_MIDPOINT);
    if (fromTie <= (digits <= MAX_EXACT ? 0 : INEXACT_MARGIN)) {
      return Float.NaN;
    }
    float f = (float) d;
    return negative ? -f : f;
  }

  /**
   * Whether {@code d} lies exactly halfway between two floats (it is a normal float's magnitude
   * here: digits below 2^53 and at most 22 after the point): rounding it to float breaks a tie the
   * decimal it came from may not have.
   */
  static boolean isFloatMidpoint(double d) {
    return (Double.doubleToRawLongBits(d) & BELOW_FLOAT_PRECISION) == FLOAT_MIDPOINT;
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
