package io.rendezvous.node.freshness;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;

/**
 * {@code rendezvous.freshness}: which models the trainer keeps fresh, when it trains, what a
 * candidate must show before users see it, and when it is promoted or rolled back.
 */
public record FreshnessSettings(
    boolean enabled,
    String endpoint,
    List<String> models,
    int retrainAfterCorrections,
    Duration retrainEvery,
    double heldOutShare,
    int correctionWeight,
    boolean warmStart,
    int warmStartEpochs,
    Duration recentTraffic,
    double recentTrafficSample,
    int maxKept,
    Duration trainTimeout,
    int niceness,
    String childHeap,
    double holdoutFloor,
    double maxHoldoutDrop,
    int minHeldOut,
    int promoteMinCorrections,
    int promoteMaxCorrections,
    double promoteMargin,
    Duration shadowMaxDuration,
    int rollbackMinCorrections,
    double rollbackMargin,
    int watchCorrections,
    String workDir,
    String adminToken,
    Duration callTimeout) {

  public FreshnessSettings {
    models = List.copyOf(models);
    if (!(heldOutShare > 0 && heldOutShare < 1)) {
      throw new IllegalArgumentException(
          "rendezvous.freshness.held-out-share must be between 0 and 1, not " + heldOutShare);
    }
    if (retrainAfterCorrections < 1 || correctionWeight < 1 || maxKept < retrainAfterCorrections) {
      throw new IllegalArgumentException(
          "rendezvous.freshness: retrain-after-corrections and correction-weight must be at least"
              + " 1, and max-kept at least retrain-after-corrections");
    }
    if (promoteMinCorrections < 1
        || promoteMaxCorrections < promoteMinCorrections
        || rollbackMinCorrections < 1
        || watchCorrections < rollbackMinCorrections) {
      throw new IllegalArgumentException(
          "rendezvous.freshness: promote.min-corrections <= promote.max-corrections and"
              + " rollback.min-corrections <= rollback.watch-corrections, all at least 1");
    }
  }

  /** A list, or (from RENDEZVOUS_FRESHNESS_MODELS) a comma-separated string. */
  private static List<String> models(Config c) {
    if (c.getValue("models").valueType() == com.typesafe.config.ConfigValueType.STRING) {
      return java.util.Arrays.stream(c.getString("models").split(","))
          .map(String::trim)
          .filter(m -> !m.isEmpty())
          .toList();
    }
    return c.getStringList("models");
  }

  public static FreshnessSettings fromConfig(Config root) {
    Config c = root.getConfig("rendezvous.freshness");
    String token = c.getString("admin-token");
    if (token.isBlank()) {
      // the admin API's own tokens, comma-separated: the first will do
      token = root.getString("rendezvous.auth.admin").split(",")[0].trim();
    }
    return new FreshnessSettings(
        c.getBoolean("enabled"),
        c.getString("endpoint"),
        models(c),
        c.getInt("retrain-after-corrections"),
        c.getDuration("retrain-every"),
        c.getDouble("held-out-share"),
        c.getInt("correction-weight"),
        c.getBoolean("warm-start"),
        c.getInt("warm-start-epochs"),
        c.getDuration("recent-traffic"),
        c.getDouble("recent-traffic-sample"),
        c.getInt("max-kept"),
        c.getDuration("train-timeout"),
        c.getInt("niceness"),
        c.getString("child-heap"),
        c.getDouble("checks.holdout-floor"),
        c.getDouble("checks.max-holdout-drop"),
        c.getInt("checks.min-held-out"),
        c.getInt("promote.min-corrections"),
        c.getInt("promote.max-corrections"),
        c.getDouble("promote.margin"),
        c.getDuration("promote.shadow-max-duration"),
        c.getInt("rollback.min-corrections"),
        c.getDouble("rollback.margin"),
        c.getInt("rollback.watch-corrections"),
        c.getString("work-dir"),
        token,
        c.getDuration("call-timeout"));
  }
}
