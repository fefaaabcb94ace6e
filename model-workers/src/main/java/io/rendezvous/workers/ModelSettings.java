package io.rendezvous.workers;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** One entry of {@code rendezvous.models}, read once at start. */
public record ModelSettings(
    String name,
    Path path,
    int workers,
    int queueCapacity,
    int maxBatchSize,
    Duration maxBatchDelay,
    Fault fault) {

  /**
   * Fault injection: off when every field is zero. {@code errorRate}: the share of predict calls
   * that throw a {@link LinkageError} from inside the worker, as a broken native library would.
   */
  public record Fault(
      Duration latency, double latencyProbability, double failureRate, double errorRate) {
    public static final Fault NONE = new Fault(Duration.ZERO, 0, 0, 0);

    public Fault(Duration latency, double latencyProbability, double failureRate) {
      this(latency, latencyProbability, failureRate, 0);
    }

    public Fault {
      requireShare("latency-probability", latencyProbability);
      requireShare("failure-rate", failureRate);
      requireShare("error-rate", errorRate);
      if (latency.isNegative()) {
        throw new IllegalArgumentException("fault.latency must not be negative");
      }
    }

    private static void requireShare(String key, double v) {
      if (v < 0 || v > 1) {
        throw new IllegalArgumentException("fault." + key + " must be within 0..1, got " + v);
      }
    }
  }

  public ModelSettings {
    if (workers < 1 || queueCapacity < 0 || maxBatchSize < 1 || maxBatchDelay.isNegative()) {
      throw new IllegalArgumentException(
          "model "
              + name
              + ": workers and max-batch-size must be >= 1, queue-capacity and max-batch-delay >= 0");
    }
  }

  public ModelSettings withFault(Fault f) {
    return new ModelSettings(name, path, workers, queueCapacity, maxBatchSize, maxBatchDelay, f);
  }

  public static ModelSettings fromConfig(String name, Config c) {
    try {
      return new ModelSettings(
          name,
          Path.of(c.getString("path")),
          c.getInt("workers"),
          c.getInt("queue-capacity"),
          c.getInt("max-batch-size"),
          c.getDuration("max-batch-delay"),
          new Fault(
              c.getDuration("fault.latency"),
              c.getDouble("fault.latency-probability"),
              c.getDouble("fault.failure-rate"),
              c.getDouble("fault.error-rate")));
    } catch (ConfigException | IllegalArgumentException e) {
      throw new IllegalArgumentException("rendezvous.models." + name + ": " + e.getMessage(), e);
    }
  }

  /** Every model under {@code rendezvous.models}, in name order. */
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
