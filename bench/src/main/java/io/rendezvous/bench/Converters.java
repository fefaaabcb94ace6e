package io.rendezvous.bench;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The checks the bench's command lines share. picocli names the option in front of the message, so
 * a bad value reads "Invalid value for option '--repeats': must be at least 1, got 0".
 */
final class Converters {
  private Converters() {}

  /** Run lengths, repeats, concurrencies, rates in whole requests per second. */
  static final class AtLeastOne implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      return atLeast(1, value);
    }
  }

  /** Lengths where 0 leaves a phase out. */
  static final class AtLeastZero implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      return atLeast(0, value);
    }
  }

  /** A rate of requests per second. */
  static final class AboveZero implements ITypeConverter<Double> {
    @Override
    public Double convert(String value) {
      double d;
      try {
        d = Double.parseDouble(value.trim());
      } catch (NumberFormatException e) {
        throw new TypeConversionException("'" + value + "' is not a number");
      }
      // written this way round so that NaN is refused too
      if (!(d > 0)) {
        throw new TypeConversionException("must be above 0, got " + value);
      }
      return d;
    }
  }

  // trimmed: "--clients 1, 4" has always worked
  static int atLeast(int min, String value) {
    int n;
    try {
      n = Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new TypeConversionException("'" + value + "' is not a whole number");
    }
    if (n < min) {
      throw new TypeConversionException("must be at least " + min + ", got " + value);
    }
    return n;
  }
}
