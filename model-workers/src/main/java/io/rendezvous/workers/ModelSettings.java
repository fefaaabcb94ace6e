package io.rendezvous.workers;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.rendezvous.model.ModelStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One entry of {@code rendezvous.models}, read once at start: which model (its name in the {@link
 * ModelStore} at {@code store}, and {@code version}: a number or {@value ModelStore#LATEST}), and
 * how its pool serves it.
 */
public record ModelSettings(
    String name,
    Path store,
    String version,
    int workers,
    int queueCapacity,
    int maxBatchSize,
    Duration maxBatchDelay,
    Fault fault,
    Watchdog watchdog) {

  /**
   * Fault injection: off when every field is zero. {@code errorRate}: the share of predict calls
   * that throw a {@link LinkageError} from inside the worker, as a broken native library would.
   * {@code hangProbability}: the share of predict calls that hold their worker's thread for {@code
   * hangFor} before scoring, as a stuck native call would.
   */
  public record Fault(
      Duration latency,
      double latencyProbability,
      double failureRate,
      double errorRate,
      Duration hangFor,
      double hangProbability) {
    public static final Fault NONE = new Fault(Duration.ZERO, 0, 0, 0, Duration.ZERO, 0);

    public Fault(Duration latency, double latencyProbability, double failureRate) {
      this(latency, latencyProbability, failureRate, 0, Duration.ZERO, 0);
    }

    public Fault {
      requireShare("latency-probability", latencyProbability);
      requireShare("failure-rate", failureRate);
      requireShare("error-rate", errorRate);
      requireShare("hang-probability", hangProbability);
      if (latency.isNegative() || hangFor.isNegative()) {
        throw new IllegalArgumentException("fault.latency and fault.hang-for must not be negative");
      }
    }

    public Fault withErrorRate(double rate) {
      return new Fault(latency, latencyProbability, failureRate, rate, hangFor, hangProbability);
    }

    public Fault withHang(Duration forHowLong, double probability) {
      return new Fault(
          latency, latencyProbability, failureRate, errorRate, forHowLong, probability);
    }

    private static void requireShare(String key, double v) {
      if (v < 0 || v > 1) {
        throw new IllegalArgumentException("fault." + key + " must be within 0..1, got " + v);
      }
    }
  }

  /**
   * The pool's watch over its workers. A predict call (one run of a batch) still going after {@code
   * hangAfter} marks its worker hung: its requests fail, it gets no more work, and a replacement
   * worker (a new thread) takes its place while fewer than {@code spareWorkers} hung ones are still
   * held by their calls. Looked at every {@code checkEvery}.
   */
  public record Watchdog(Duration hangAfter, Duration checkEvery, int spareWorkers) {
    public static final Watchdog DEFAULT =
        new Watchdog(Duration.ofSeconds(2), Duration.ofMillis(250), 2);

    public Watchdog {
      if (hangAfter.isZero()
          || hangAfter.isNegative()
          || checkEvery.isZero()
          || checkEvery.isNegative()
          || spareWorkers < 0) {
        throw new IllegalArgumentException(
            "watchdog.hang-after and watchdog.check-every must be > 0, watchdog.spare-workers >= 0");
      }
    }
  }

  /** The newest version of {@code name} in {@code store}, with the default watchdog. */
  public ModelSettings(
      String name,
      Path store,
      int workers,
      int queueCapacity,
      int maxBatchSize,
      Duration maxBatchDelay,
      Fault fault) {
    this(
        name,
        store,
        ModelStore.LATEST,
        workers,
        queueCapacity,
        maxBatchSize,
        maxBatchDelay,
        fault,
        Watchdog.DEFAULT);
  }

  public ModelSettings {
    ModelStore.checkName(name);
    if (!ModelStore.LATEST.equals(version)) {
      ModelStore.checkVersion(version);
    }
    if (workers < 1 || queueCapacity < 0 || maxBatchSize < 1 || maxBatchDelay.isNegative()) {
      throw new IllegalArgumentException(
          "model "
              + name
              + ": workers and max-batch-size must be >= 1, queue-capacity and max-batch-delay >= 0");
    }
  }

  public ModelSettings withFault(Fault f) {
    return new ModelSettings(
        name, store, version, workers, queueCapacity, maxBatchSize, maxBatchDelay, f, watchdog);
  }

  public ModelSettings withWatchdog(Watchdog w) {
    return new ModelSettings(
        name, store, version, workers, queueCapacity, maxBatchSize, maxBatchDelay, fault, w);
  }

  public static ModelSettings fromConfig(String name, Config c) {
    try {
      return new ModelSettings(
          name,
          Path.of(c.getString("store")),
          c.getString("version"),
          c.getInt("workers"),
          c.getInt("queue-capacity"),
          c.getInt("max-batch-size"),
          c.getDuration("max-batch-delay"),
          new Fault(
              c.getDuration("fault.latency"),
              c.getDouble("fault.latency-probability"),
              c.getDouble("fault.failure-rate"),
              c.getDouble("fault.error-rate"),
              c.getDuration("fault.hang-for"),
              c.getDouble("fault.hang-probability")),
          new Watchdog(
              c.getDuration("watchdog.hang-after"),
              c.getDuration("watchdog.check-every"),
              c.getInt("watchdog.spare-workers")));
    } catch (ConfigException | IllegalArgumentException e) {
      throw new IllegalArgumentException("rendezvous.models." + name + ": " + e.getMessage(), e);
    }
  }

  /** Every model under {@code rendezvous.models}, in name order. */
  /** The directory of the version these settings name; it must exist in the store. */
  public Path versionDir() throws java.io.IOException {
    return new ModelStore(store).resolve(name, version);
  }

  public static List<ModelSettings> allFromConfig(Config root) {
    Config models = root.getConfig("rendezvous.models");
    List<ModelSettings> out = new ArrayList<>();
    for (String name : models.root().keySet().stream().sorted().toList()) {
      out.add(fromConfig(name, models.getConfig(quote(name))));
    }
    return List.copyOf(out);
  }

  private static String quote(String key) {
    return "\"" + key + "\"";
  }
}
