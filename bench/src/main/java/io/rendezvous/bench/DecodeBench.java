package io.rendezvous.bench;

import io.rendezvous.actors.edge.InputDecoder;
import io.rendezvous.actors.edge.InputLimits;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.model.TensorData;
import io.rendezvous.model.TensorSpec;
import io.rendezvous.workers.data.FashionMnist;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.DoubleFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rendezvous-bench decode}: what reading one {@code /predict} body costs, in process, for
 * the same hold-out pictures written as clients write them: short decimals (Java's and JavaScript's
 * shortest float), Python's {@code json.dumps} of float64 pixels (up to 17 significant digits), and
 * all 17 digits ({@code %.17g}, as numpy can). Medians of rounds, after a warm-up.
 */
@Command(
    name = "decode",
    mixinStandardHelpOptions = true,
    description = "Measure the cost of decoding /predict bodies of each number format, in process.")
final class DecodeBench implements Callable<Integer> {
  @Option(
      names = "--pictures",
      defaultValue = "200",
      converter = Converters.AtLeastOne.class,
      description = "Hold-out pictures, one a body.")
  int pictures;

  @Option(
      names = "--warmup",
      defaultValue = "5",
      converter = Converters.AtLeastZero.class,
      description = "Seconds of warm-up per format.")
  int warmupSeconds;

  @Option(
      names = "--rounds",
      defaultValue = "7",
      converter = Converters.AtLeastOne.class,
      description = "Measured rounds per format.")
  int rounds;

  @Option(
      names = "--round-seconds",
      defaultValue = "2",
      converter = Converters.AtLeastOne.class,
      description = "Seconds per round.")
  int roundSeconds;

  @Spec CommandSpec spec;

  /** A format's name and how it prints one pixel value in 0..1. */
  private record Format(String name, DoubleFunction<String> print) {}

  private static final List<Format> FORMATS =
      List.of(
          new Format("short decimals (Float.toString)", v -> Float.toString((float) v)),
          new Format("Python json.dumps (repr of float64)", v -> Double.toString(v)),
          new Format("17 significant digits (%.17g)", v -> String.format(Locale.ROOT, "%.17g", v)));

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    List<FashionMnist.Sample> holdout = FashionMnist.load().holdout();
    InputDecoder decoder = new InputDecoder(Json.MAPPER, new InputLimits(1, 1, 1));
    TensorSpec input =
        new TensorSpec("input", TensorData.FLOAT32, List.of(-1L, (long) FashionMnist.PIXELS));
    out.printf(
        "Decoding one /predict body of %d numbers, µs, median of %d rounds of %d s (min-max)%n",
        FashionMnist.PIXELS, rounds, roundSeconds);
    double baseline = Double.NaN;
    for (Format format : FORMATS) {
      List<byte[]> bodies = new ArrayList<>();
      long bytes = 0;
      for (FashionMnist.Sample s : holdout.subList(0, Math.min(pictures, holdout.size()))) {
        byte[] body = body(s, format).getBytes(StandardCharsets.UTF_8);
        bodies.add(body);
        bytes += body.length;
      }
      run(decoder, input, bodies, warmupSeconds * 1_000_000_000L);
      double[] micros = new double[rounds];
      for (int r = 0; r < rounds; r++) {
        micros[r] = run(decoder, input, bodies, roundSeconds * 1_000_000_000L);
      }
      Arrays.sort(micros);
      double median = micros[rounds / 2];
      if (Double.isNaN(baseline)) {
        baseline = median;
      }
      out.printf(
          Locale.ROOT,
          "  %-38s %7.1f (%.1f-%.1f)   %5.0f bytes a body   %.2fx the first%n",
          format.name(),
          median,
          micros[0],
          micros[rounds - 1],
          (double) bytes / bodies.size(),
          median / baseline);
    }
    out.flush();
    return 0;
  }

  /** Decodes the bodies in turn for {@code nanos}; µs per body. */
  private static double run(
      InputDecoder decoder, TensorSpec input, List<byte[]> bodies, long nanos) {
    long start = System.nanoTime();
    long end = start + nanos;
    long n = 0;
    float sink = 0;
    try {
      while (System.nanoTime() < end) {
        sink += decoder.instances(bodies.get((int) (n % bodies.size())), input).size();
        n++;
      }
    } catch (Exception e) {
      throw new IllegalStateException("a hold-out body did not decode", e);
    }
    if (sink < 0) {
      throw new IllegalStateException("unreachable");
    }
    return (System.nanoTime() - start) / 1e3 / n;
  }

  private static String body(FashionMnist.Sample s, Format format) {
    StringBuilder b = new StringBuilder("{\"instances\":[[");
    byte[] pixels = s.pixels();
    for (int i = 0; i < pixels.length; i++) {
      if (i > 0) {
        b.append(',');
      }
      int k = pixels[i] & 0xFF;
      // what a client computes: the pixel scaled to 0..1 in its own precision
      b.append(k == 0 ? "0" : format.print().apply(k / 255.0));
    }
    return b.append("]]}").toString();
  }
}
