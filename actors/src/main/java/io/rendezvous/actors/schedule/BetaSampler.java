package io.rendezvous.actors.schedule;

import java.util.random.RandomGenerator;

/**
 * Draws from a Beta distribution as X / (X + Y) with X ~ Gamma(a) and Y ~ Gamma(b); Gamma by
 * Marsaglia and Tsang's method ("A simple method for generating gamma variables", 2000), with the
 * usual boost for shapes below 1.
 */
final class BetaSampler {
  private BetaSampler() {}

  static double sample(double a, double b, RandomGenerator rng) {
    double x = gamma(a, rng);
    double y = gamma(b, rng);
    double sum = x + y;
    // both can underflow to 0 for tiny shapes: then either side is as likely
    return sum > 0 ? x / sum : rng.nextDouble();
  }

  static double gamma(double shape, RandomGenerator rng) {
    if (shape < 1) {
      // Gamma(k) = Gamma(k + 1) * U^(1/k)
      return gamma(shape + 1, rng) * Math.pow(rng.nextDouble(), 1 / shape);
    }
    double d = shape - 1.0 / 3;
    double c = 1 / Math.sqrt(9 * d);
    while (true) {
      double z = rng.nextGaussian();
      double v = 1 + c * z;
      if (v <= 0) {
        continue;
      }
      v = v * v * v;
      double u = rng.nextDouble();
      if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) {
        return d * v;
      }
    }
  }
}
