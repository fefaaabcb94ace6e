package io.rendezvous.monitor;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * {@code rendezvous.watch}: whether the node watches its models (the journal watch and the metrics
 * of what models predict), the windows of the prediction view, the drift windows, and how far
 * behind the journal the watch may fall.
 */
public record WatchSettings(
    boolean enabled,
    Duration window,
    Duration horizon,
    int driftWindow,
    int driftMinimum,
    int driftSampleRate,
    Duration answerSettle,
    long maxBacklog,
    Duration idlePoll) {
  public static WatchSettings fromConfig(Config config) {
    Config c = config.getConfig("rendezvous.watch");
    return new WatchSettings(
        c.getBoolean("enabled"),
        c.getDuration("window"),
        c.getDuration("horizon"),
        c.getInt("drift-window"),
        c.getInt("drift-minimum"),
        c.getInt("drift-sample-rate"),
        c.getDuration("answer-settle"),
        c.getLong("max-backlog"),
        c.getDuration("idle-poll"));
  }
}
