package io.rendezvous.journal;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.RollCycles;

/** {@code rendezvous.journal}, read once. */
public record JournalSettings(
    boolean enabled,
    Path dir,
    RollCycle rollCycle,
    int queueCapacity,
    int maxBatch,
    Duration retentionMaxAge,
    long retentionMaxBytes,
    long minFreeBytes,
    Duration checkInterval,
    Duration lazyWriteDelay) {

  public static JournalSettings fromConfig(Config root) {
    Config c = root.getConfig("rendezvous.journal");
    String cycle = c.getString("roll-cycle");
    RollCycle roll = null;
    for (RollCycle r : RollCycles.all()) {
      if (r.toString().equals(cycle)) {
        roll = r;
      }
    }
    if (roll == null) {
      throw new IllegalArgumentException(
          "rendezvous.journal.roll-cycle: unknown roll cycle '" + cycle + "'");
    }
    JournalSettings s =
        new JournalSettings(
            c.getBoolean("enabled"),
            Path.of(c.getString("dir")),
            roll,
            c.getInt("queue-capacity"),
            c.getInt("max-batch"),
            c.getDuration("retention.max-age"),
            c.getBytes("retention.max-bytes"),
            c.getBytes("min-free-space"),
            c.getDuration("check-interval"),
            c.getDuration("lazy-write-delay"));
    if (s.queueCapacity < 1 || s.maxBatch < 1) {
      throw new IllegalArgumentException(
          "rendezvous.journal: queue-capacity and max-batch must be >= 1");
    }
    if (s.lazyWriteDelay.isNegative()) {
      throw new IllegalArgumentException(
          "rendezvous.journal.lazy-write-delay must not be negative");
    }
    return s;
  }

  public JournalSettings withDir(Path d) {
    return new JournalSettings(
        enabled,
        d,
        rollCycle,
        queueCapacity,
        maxBatch,
        retentionMaxAge,
        retentionMaxBytes,
        minFreeBytes,
        checkInterval,
        lazyWriteDelay);
  }

  public JournalSettings withMinFreeBytes(long bytes) {
    return new JournalSettings(
        enabled,
        dir,
        rollCycle,
        queueCapacity,
        maxBatch,
        retentionMaxAge,
        retentionMaxBytes,
        bytes,
        checkInterval,
        lazyWriteDelay);
  }

  public JournalSettings withRetention(Duration maxAge, long maxBytes) {
    return new JournalSettings(
        enabled,
        dir,
        rollCycle,
        queueCapacity,
        maxBatch,
        maxAge,
        maxBytes,
        minFreeBytes,
        checkInterval,
        lazyWriteDelay);
  }
}
