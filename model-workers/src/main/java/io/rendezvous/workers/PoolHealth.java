package io.rendezvous.workers;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How each model's pool on this node stands, for readiness and metrics. Each pool writes only its
 * own model's entry (an immutable {@link Status} swapped in whole); readers take snapshots.
 */
public final class PoolHealth {
  private final Map<String, Status> byModel = new ConcurrentHashMap<>();
  private final Map<String, Load> loads = new ConcurrentHashMap<>();

  /**
   * How busy one pool is, for metrics: requests waiting for a worker and in service, workers ready
   * (as of the pool's last change), and the batches it has handed to workers. Written by the pool's
   * actor only; read at any time.
   */
  public static final class Load {
    private volatile int waiting;
    private volatile int inService;
    private volatile int ready;
    private final java.util.concurrent.atomic.LongAdder batches =
        new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder batchedRequests =
        new java.util.concurrent.atomic.LongAdder();

    void set(int waiting, int inService, int ready) {
      this.waiting = waiting;
      this.inService = inService;
      this.ready = ready;
    }

    /** Workers started and taking work (idle or scoring), as of the pool's last change. */
    public int ready() {
      return ready;
    }

    void batch(int size) {
      batches.increment();
      batchedRequests.add(size);
    }

    public int waiting() {
      return waiting;
    }

    public int inService() {
      return inService;
    }

    public long batches() {
      return batches.sum();
    }

    public long batchedRequests() {
      return batchedRequests.sum();
    }
  }

  /** The load figures of pool {@code key}, made when first asked for. */
  Load load(String key) {
    return loads.computeIfAbsent(key, k -> new Load());
  }

  /** Every running pool's load, by {@link #key}. */
  public Map<String, Load> loads() {
    return new TreeMap<>(loads);
  }

  /**
   * One pool ({@code model} is its version's {@link #key}): workers that take work, hung workers
   * still held by their calls, spares left to replace more, and totals since start.
   */
  public record Status(
      String model,
      int serving,
      int configured,
      int hung,
      int sparesLeft,
      long hungTotal,
      long overranTotal,
      long failedByWatchdog) {
    /** Fewer workers than configured take work, or some are held by hung calls. */
    public boolean degraded() {
      return hung > 0 || serving < configured;
    }

    public String describe() {
      return serving
          + " of "
          + configured
          + " worker(s) serving, "
          + hung
          + " hung (held by calls past watchdog.hang-after), "
          + sparesLeft
          + " spare(s) left";
    }
  }

  /** How a version is named here: {@code m3@2}. */
  public static String key(String model, String version) {
    return model + "@" + version;
  }

  void publish(Status s) {
    byModel.put(s.model(), s);
  }

  /** A pool that stopped: it is no longer part of the node's standing. */
  void remove(String key) {
    byModel.remove(key);
    loads.remove(key);
  }

  /** The pool of {@code model} (a {@link #key}) on this node; all zero before it has started. */
  public Status status(String model) {
    return byModel.getOrDefault(model, new Status(model, 0, 0, 0, 0, 0, 0, 0));
  }

  /** Every pool's status, by model name. */
  public Map<String, Status> statuses() {
    return new TreeMap<>(byModel);
  }

  /** Only the degraded pools, with a description each. */
  public Map<String, String> degraded() {
    Map<String, String> out = new TreeMap<>();
    byModel.forEach(
        (m, s) -> {
          if (s.degraded()) {
            out.put(m, s.describe());
          }
        });
    return out;
  }
}
