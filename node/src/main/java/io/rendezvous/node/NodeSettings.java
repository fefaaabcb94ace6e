package io.rendezvous.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.RequestRouter;
import io.rendezvous.journal.JournalSettings;
import io.rendezvous.kafka.KafkaRequestsSettings;
import io.rendezvous.kafka.KafkaSettings;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.TensorSpec;
import io.rendezvous.workers.ModelSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a node reads from its configuration, read once at start. {@code config} is what the
 * actor system runs on: the given configuration with {@code rendezvous.seed-nodes} turned into
 * Pekko's seed nodes. {@code endpoints} are the configured endpoints and one single-model endpoint
 * per model, before they are checked against the loaded models ({@link #endpointsFor}).
 */
public record NodeSettings(
    Config config,
    String name,
    boolean clustered,
    HttpSettings http,
    List<ModelSettings> models,
    Map<String, EndpointSettings> endpoints,
    JournalSettings journal,
    RequestRouter.Settings edge,
    Duration settleTime,
    Duration dedupWindow,
    Duration startupTimeout,
    KafkaSettings kafka,
    KafkaRequestsSettings kafkaRequests,
    WarmUp.Settings warmUp,
    Placement placement) {

  /**
   * {@code rendezvous.edge}: whether new requests get ids in shards this node hosts ({@link
   * io.rendezvous.actors.edge.LocalShards}), how many ids are drawn at most to find one, and how
   * often the node asks its shard region which shards it hosts.
   */
  public record Placement(boolean preferLocalShards, int attempts, Duration refresh) {
    static Placement fromConfig(Config config) {
      Placement p =
          new Placement(
              config.getBoolean("rendezvous.edge.prefer-local-shards"),
              config.getInt("rendezvous.edge.placement-attempts"),
              config.getDuration("rendezvous.edge.local-shards-refresh"));
      if (p.attempts() < 1 || p.refresh().isNegative() || p.refresh().isZero()) {
        throw new IllegalArgumentException(
            "rendezvous.edge: placement-attempts must be at least 1 and local-shards-refresh"
                + " positive");
      }
      return p;
    }
  }

  /**
   * Whether new requests get ids in shards this node hosts: on a clustered node that prefers it.
   */
  public boolean placesRequestsLocally() {
    return clustered && placement.preferLocalShards();
  }

  /** The actor system's name: seed node addresses are written with it. */
  public static final String SYSTEM_NAME = "rendezvous";

  /**
   * How a version loaded at run time is served ({@code rendezvous.model-defaults}; its name and
   * version are the loaded one's).
   */
  public ModelSettings modelDefaults() {
    return ModelSettings.fromConfig("default", config.getConfig("rendezvous.model-defaults"));
  }

  public static NodeSettings fromConfig(Config given) {
    Config config = withSeedNodes(given);
    List<ModelSettings> models = ModelSettings.allFromConfig(config);
    RequestRouter.Settings edge = RequestRouter.Settings.fromConfig(config);
    Map<String, EndpointSettings> endpoints = configuredEndpoints(config, models);
    for (EndpointSettings e : endpoints.values()) {
      // the edge stops waiting at the SLA plus the ask grace: an answer delivered later is lost
      if (e.deliveryGrace().compareTo(edge.askGrace()) >= 0) {
        throw new IllegalArgumentException(
            "rendezvous.endpoints."
                + e.name()
                + ": delivery-grace ("
                + e.deliveryGrace().toMillis()
                + "ms) must be less than rendezvous.entity-ask-grace ("
                + edge.askGrace().toMillis()
                + "ms)");
      }
    }
    return new NodeSettings(
        config,
        nodeName(config),
        // a node started with seed nodes is part of a cluster: a request's entity may be out of
        // reach (dead node not downed yet, shard moving, coordinator stalled), so the edge may
        // serve it itself
        !config.getStringList("pekko.cluster.seed-nodes").isEmpty(),
        HttpSettings.fromConfig(config),
        models,
        endpoints,
        JournalSettings.fromConfig(config),
        edge,
        config.getDuration("rendezvous.edge.settle-time"),
        config.getDuration("rendezvous.edge.dedup-window"),
        config.getDuration("rendezvous.startup-timeout"),
        KafkaSettings.fromConfig(config),
        KafkaRequestsSettings.fromConfig(config),
        WarmUp.Settings.fromConfig(config),
        Placement.fromConfig(config));
  }

  /**
   * The endpoints, each checked against the loaded models it names (present, same input, same
   * labels) and given their labels.
   */
  public Map<String, EndpointSettings> endpointsFor(Map<String, ModelMetadata> loaded) {
    Map<String, EndpointSettings> out = new LinkedHashMap<>();
    for (EndpointSettings e : endpoints.values()) {
      ModelMetadata own = loaded.get(e.name());
      // a model's own endpoint takes what the model takes (an image, or text for a text model)
      out.put(
          e.name(),
          own != null && e.models().equals(List.of(e.name()))
              ? modelEndpoint(e.name(), e.name(), own)
              : withModelLabels(e, loaded));
    }
    return Map.copyOf(out);
  }

  /** Configured endpoints plus one single-model endpoint per model. */
  private static Map<String, EndpointSettings> configuredEndpoints(
      Config config, List<ModelSettings> models) {
    Map<String, EndpointSettings> out = new LinkedHashMap<>();
    List<String> names = models.stream().map(ModelSettings::name).toList();
    for (EndpointSettings e : EndpointSettings.allFromConfig(config).values()) {
      if (names.contains(e.name())) {
        throw new IllegalArgumentException(
            "rendezvous.endpoints."
                + e.name()
                + ": an endpoint cannot share its name with a model");
      }
      out.put(e.name(), e);
    }
    for (String model : names) {
      out.put(model, modelEndpoint(config, model, model));
    }
    return out;
  }

  /**
   * The single-model endpoint {@code name} with {@code member} alone, live from the start, under
   * {@code rendezvous.model-endpoint}'s settings (its input and labels still to be set).
   */
  static EndpointSettings modelEndpoint(Config config, String name, String member) {
    Config single =
        config
            .getConfig("rendezvous.model-endpoint")
            .withValue("models", ConfigValueFactory.fromIterable(List.of(member)))
            .withValue(
                "schedule",
                ConfigValueFactory.fromIterable(List.of(Map.of("model", member, "after", "0ms"))));
    return EndpointSettings.fromConfig(name, single);
  }

  /**
   * The endpoint a model loaded at run time is served by under its own name: its one version live,
   * its input and labels as its metadata says.
   */
  public EndpointSettings modelEndpoint(String name, String member, ModelMetadata metadata) {
    EndpointSettings e = modelEndpoint(config, name, member);
    return new EndpointSettings(
        e.name(),
        e.models(),
        metadata.requestInput(),
        e.schedule(),
        e.policy(),
        e.sla(),
        e.journalMargin(),
        e.linger(),
        metadata.labels(),
        e.deliveryGrace(),
        e.canaries(),
        0);
  }

  private static EndpointSettings withModelLabels(
      EndpointSettings e, Map<String, ModelMetadata> models) {
    List<String> labels = null;
    for (String member : e.models()) {
      String m = io.rendezvous.model.ModelRef.parse(member).name();
      ModelMetadata meta = models.get(m);
      String where = "rendezvous.endpoints." + e.name() + ": ";
      if (meta == null) {
        throw new IllegalArgumentException(
            where + "model " + m + " is not configured under rendezvous.models");
      }
      TensorSpec takes = meta.requestInput();
      if (!takes.dtype().equals(e.input().dtype()) || !takes.shape().equals(e.input().shape())) {
        throw new IllegalArgumentException(
            where + "model " + m + " takes " + takes + ", the endpoint gives " + e.input());
      }
      if (labels != null && !labels.equals(meta.labels())) {
        throw new IllegalArgumentException(where + "models disagree on labels (" + m + ")");
      }
      labels = meta.labels();
    }
    return e.withLabels(labels);
  }

  /**
   * {@code rendezvous.seed-nodes} ("host:port" or full addresses, comma-separated; from
   * RENDEZVOUS_SEED_NODES) becomes {@code pekko.cluster.seed-nodes}.
   */
  static Config withSeedNodes(Config config) {
    String seeds = config.getString("rendezvous.seed-nodes").trim();
    if (seeds.isEmpty()) {
      return config;
    }
    List<String> addresses = new ArrayList<>();
    for (String s : seeds.split(",")) {
      String seed = s.trim();
      if (!seed.isEmpty()) {
        addresses.add(seed.contains("://") ? seed : "pekko://" + SYSTEM_NAME + "@" + seed);
      }
    }
    return config.withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(addresses));
  }

  static String nodeName(Config config) {
    String configured = config.getString("rendezvous.node-name");
    if (!configured.isBlank()) {
      return configured;
    }
    return config.getString("pekko.remote.artery.canonical.hostname")
        + ":"
        + config.getInt("pekko.remote.artery.canonical.port");
  }
}
