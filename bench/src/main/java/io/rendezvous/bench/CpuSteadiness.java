package io.rendezvous.bench;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rendezvous-bench cpu-steadiness}: how steadily this machine gives its cores, nothing of
 * Rendezvous running. One thread per core spins on a fixed piece of arithmetic; every slice the
 * work done is read. On a machine whose cores are its own the slices are alike; on a virtual
 * machine whose host lends its cores to others, some slices get much less. A server at 80% of its
 * saturation point has a fifth of its capacity to spare: a slice with a quarter less is a backlog
 * that the next requests wait behind, whatever the server does. Run it beside a benchmark's figures
 * to tell the server's tail from the machine's.
 */
@Command(
    name = "cpu-steadiness",
    mixinStandardHelpOptions = true,
    description =
        "Measure how steadily this machine gives its cores: one spinning thread per core, work"
            + " counted per slice; prints the spread of the slices.")
final class CpuSteadiness implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--seconds",
      defaultValue = "60",
      converter = Converters.AtLeastOne.class,
      description = "Length of the measurement (default: ${DEFAULT-VALUE}).")
  int seconds;

  @Option(
      names = "--slice-ms",
      defaultValue = "100",
      converter = Converters.AtLeastOne.class,
      description = "Length of a slice in ms (default: ${DEFAULT-VALUE}).")
  int sliceMillis;

  @Option(
      names = "--threads",
      defaultValue = "0",
      converter = Converters.AtLeastZero.class,
      description = "Spinning threads; 0 = one per core the JVM sees (default: ${DEFAULT-VALUE}).")
  int threads;

  /** Iterations of the arithmetic between two counts: a few microseconds. */
  private static final int UNIT = 10_000;

  /** Seconds of spinning before the measurement, for the JIT to compile the loop. */
  private static final int WARM_SECONDS = 2;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    AtomicLongArray done = new AtomicLongArray(n);
    Thread[] spinners = new Thread[n];
    for (int i = 0; i < n; i++) {
      int slot = i;
      spinners[i] =
          new Thread(
              () -> {
                double x = 1;
                while (!Thread.currentThread().isInterrupted()) {
                  for (int k = 0; k < UNIT; k++) {
                    x = x * 1.0000001 + 0.0000001;
                  }
                  done.incrementAndGet(slot);
                }
                if (x == 0) {
                  System.out.print(""); // keeps the arithmetic from being dropped
                }
              },
              "spin-" + i);
      spinners[i].setDaemon(true);
      spinners[i].start();
    }
    Thread.sleep(WARM_SECONDS * 1000L);
    int slices = (int) Math.max(1, seconds * 1000L / sliceMillis);
    // work per ms of each slice as it really lasted: this thread competes for the cores with the
    // spinners and may wake late, which would otherwise read as a starved slice and a rich one
    double[] work = new double[slices];
    long sliceNanos = sliceMillis * 1_000_000L;
    long start = System.nanoTime();
    long next = start + sliceNanos;
    long last = total(done);
    long lastAt = start;
    for (int s = 0; s < slices; s++) {
      long now;
      while ((now = System.nanoTime()) < next) {
        LockSupport.parkNanos(Math.min(next - now, 1_000_000L));
      }
      long t = total(done);
      work[s] = (t - last) * 1e6 / (now - lastAt);
      last = t;
      lastAt = now;
      next += sliceNanos;
    }
    for (Thread t : spinners) {
      t.interrupt();
    }
    double[] sorted = work.clone();
    Arrays.sort(sorted);
    double median = sorted[sorted.length / 2];
    out.printf(
        "%d threads spinning for %d s, in slices of %d ms (%d slices); work per slice against the"
            + " median slice:%n",
        n, seconds, sliceMillis, slices);
    out.printf(
        "  min %.0f%%  p1 %.0f%%  p5 %.0f%%  p10 %.0f%%  p50 100%%  p90 %.0f%%  max %.0f%%%n",
        100 * sorted[0] / median,
        100 * at(sorted, 0.01) / median,
        100 * at(sorted, 0.05) / median,
        100 * at(sorted, 0.10) / median,
        100 * at(sorted, 0.90) / median,
        100 * sorted[sorted.length - 1] / median);
    long under75 = Arrays.stream(work).filter(w -> w < 0.75 * median).count();
    long under50 = Arrays.stream(work).filter(w -> w < 0.5 * median).count();
    out.printf(
        "  slices with less than 75%% of the median: %d (%.1f%%); less than 50%%: %d (%.1f%%)%n",
        under75, 100.0 * under75 / slices, under50, 100.0 * under50 / slices);
    int perSecond = (int) Math.max(1, 1000 / sliceMillis);
    double[] secondsWork = new double[slices / perSecond];
    for (int s = 0; s < secondsWork.length; s++) {
      for (int k = 0; k < perSecond; k++) {
        secondsWork[s] += work[s * perSecond + k];
      }
    }
    double[] secondsSorted = secondsWork.clone();
    Arrays.sort(secondsSorted);
    if (secondsSorted.length > 0) {
      double m = secondsSorted[secondsSorted.length / 2];
      out.printf(
          "  whole seconds against the median second: min %.0f%%, max %.0f%%%n",
          100 * secondsSorted[0] / m, 100 * secondsSorted[secondsSorted.length - 1] / m);
    }
    out.flush();
    return 0;
  }

  private static long total(AtomicLongArray done) {
    long t = 0;
    for (int i = 0; i < done.length(); i++) {
      t += done.get(i);
    }
    return t;
  }

  private static double at(double[] sorted, double q) {
    return sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }
}
