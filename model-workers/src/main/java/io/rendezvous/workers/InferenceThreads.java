package io.rendezvous.workers;

import com.typesafe.config.Config;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's inference threads: every model's predict calls run here and nowhere else, {@code
 * rendezvous.inference.threads} of them at once (micro-batches grow when requests wait for a
 * thread, which is what makes the models fast on few cores). A call that hangs holds its thread:
 * the pool that sees it {@linkplain #compensate() adds a thread} for as long as the call is held,
 * so a hung model never takes inference threads from the others; the pool's watchdog bounds how
 * many (its workers and spares). A native call cannot be interrupted: its thread is abandoned to
 * it, and {@linkplain #release() given back} when it returns.
 */
public final class InferenceThreads implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(InferenceThreads.class);

  private final int base;
  private final ThreadPoolExecutor executor;
  private int compensating;

  public InferenceThreads(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("rendezvous.inference.threads must be >= 1");
    }
    this.base = threads;
    this.executor =
        new ThreadPoolExecutor(
            threads,
            threads,
            // threads added for hung calls end this long after they are given back
            30,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            threadFactory());
  }

  public static InferenceThreads fromConfig(Config root) {
    return new InferenceThreads(root.getInt("rendezvous.inference.threads"));
  }

  private static ThreadFactory threadFactory() {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, "rendezvous-inference-" + n.incrementAndGet());
      t.setDaemon(true);
      t.setUncaughtExceptionHandler(
          (thread, e) -> {
            // as Pekko's jvm-exit-on-fatal-error: the JVM's own errors end it
            log.error("fatal error on {}; exiting", thread.getName(), e);
            if (e instanceof VirtualMachineError) {
              System.exit(-1);
            }
          });
      return t;
    };
  }

  /**
   * Refuses settings in which one model could hold every inference thread: with more than one
   * model, each model's workers must be fewer than the threads.
   */
  public void check(java.util.List<ModelSettings> models) {
    if (models.size() < 2) {
      return;
    }
    for (ModelSettings m : models) {
      if (m.workers() >= base) {
        throw new IllegalArgumentException(
            "rendezvous.models."
                + m.name()
                + ".workers is "
                + m.workers()
                + " but rendezvous.inference.threads is "
                + base
                + ": with more than one model, each model's workers must be fewer than the"
                + " inference threads, or one model's hung calls could hold them all");
      }
    }
  }

  void execute(Runnable task) {
    executor.execute(task);
  }

  /** One more thread while a hung call holds one. */
  synchronized void compensate() {
    compensating++;
    resize();
  }

  /** A hung call returned: its extra thread is no longer needed. */
  synchronized void release() {
    compensating = Math.max(0, compensating - 1);
    resize();
  }

  private void resize() {
    int n = base + compensating;
    // the core size may never exceed the maximum: grow the maximum first, shrink it last
    if (n > executor.getMaximumPoolSize()) {
      executor.setMaximumPoolSize(n);
      executor.setCorePoolSize(n);
    } else {
      executor.setCorePoolSize(n);
      executor.setMaximumPoolSize(n);
    }
  }

  /** Threads configured, without those added for hung calls. */
  public int base() {
    return base;
  }

  /** Threads added for hung calls still held. */
  public synchronized int compensating() {
    return compensating;
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }

  /**
   * Takes no more calls and waits up to {@code patience} for those running to end: whether they did
   * (a model must not be closed under a call still running).
   */
  public boolean closeAndWait(java.time.Duration patience) {
    executor.shutdown();
    try {
      if (!executor.awaitTermination(patience.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("inference calls still running after {} ms at shutdown", patience.toMillis());
        return false;
      }
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
