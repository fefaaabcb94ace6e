package io.rendezvous.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.RendezvousEntity;
import io.rendezvous.actors.RendezvousRuntime;
import io.rendezvous.actors.RequestRouter;
import io.rendezvous.actors.edge.InputDecoder;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.actors.edge.RendezvousClient;
import io.rendezvous.actors.edge.RequestIds;
import io.rendezvous.journal.JournalSettings;
import io.rendezvous.journal.JournalWriter;
import io.rendezvous.kafka.JournalPublisher;
import io.rendezvous.kafka.KafkaRequestStream;
import io.rendezvous.kafka.KafkaSettings;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.workers.LoadedModel;
import io.rendezvous.workers.ModelDirectory;
import io.rendezvous.workers.ModelLoadException;
import io.rendezvous.workers.ModelPool;
import io.rendezvous.workers.ModelSettings;
import io.rendezvous.workers.WorkerDirectory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Rendezvous node: its models loaded, a member of the cluster (alone, it joins itself), request
 * entities sharded, the journal open and the HTTP API bound. Started by {@link Main} and by tests.
 */
public final class Node {
  private static final Logger log = LoggerFactory.getLogger(Node.class);
  public static final String VERSION = "0.1.0";

  private final ActorSystem<Void> system;
  private final ServerBinding binding;
  private final JournalWriter journal;
  private final Readiness readiness;
  private final String name;
  private final Map<String, EndpointSettings> endpoints;
  private final String managementUri;

  private Node(
      ActorSystem<Void> system,
      ServerBinding binding,
      JournalWriter journal,
      Readiness readiness,
      String name,
      Map<String, EndpointSettings> endpoints,
      String managementUri) {
    this.managementUri = managementUri;
    this.system = system;
    this.binding = binding;
    this.journal = journal;
    this.readiness = readiness;
    this.name = name;
    this.endpoints = endpoints;
  }

  /** Starts a node from {@code ConfigFactory.load()}. */
  public static Node start() throws Exception {
    return start(ConfigFactory.load());
  }

  public static Node start(Config config) throws Exception {
    return start(config, List.of());
  }

  /** Starts a node whose HTTP API also serves the routes {@code extensions} build. */
  public static Node start(Config configIn, List<RouteExtension> extensions) throws Exception {
    Config config = withSeedNodes(configIn);
    // decode images in memory: ImageIO's default disk cache would write a temp file per request
    javax.imageio.ImageIO.setUseCache(false);
    HttpSettings http = HttpSettings.fromConfig(config);
    List<LoadedModel> models = loadModels(ModelSettings.allFromConfig(config));
    Map<String, ModelMetadata> metadata = new LinkedHashMap<>();
    models.forEach(m -> metadata.put(m.name(), m.metadata()));
    Map<String, EndpointSettings> endpoints;
    JournalWriter journal;
    try {
      endpoints = endpoints(config, metadata);
      journal = JournalWriter.start(JournalSettings.fromConfig(config));
    } catch (Exception e) {
      models.forEach(LoadedModel::close);
      throw e;
    }
    String name = nodeName(config);
    WorkerDirectory directory = new WorkerDirectory();
    ActorSystem<Void> system;
    try {
      system =
          ActorSystem.create(
              Behaviors.setup(
                  ctx -> {
                    for (LoadedModel m : models) {
                      ctx.spawn(ModelPool.create(m), "model-" + m.name());
                    }
                    ctx.spawn(
                        ModelDirectory.create(directory, metadata.keySet()), "model-directory");
                    return Behaviors.empty();
                  }),
              "rendezvous",
              config);
    } catch (RuntimeException e) {
      journal.close();
      models.forEach(LoadedModel::close);
      throw e;
    }
    try {
      Cluster cluster = Cluster.get(system);
      // a node started with seed nodes is part of a cluster: a request's entity may be out of reach
      // (dead node not downed yet, shard moving, coordinator stalled), so the edge may serve it
      // itself
      boolean clustered = !config.getStringList("pekko.cluster.seed-nodes").isEmpty();
      if (!clustered) {
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
      }
      RequestRouter.Settings edgeSettings = RequestRouter.Settings.fromConfig(config);
      MembershipChanges membershipChanges =
          new MembershipChanges(system, config.getDuration("rendezvous.edge.settle-time"));
      RendezvousRuntime runtime =
          new RendezvousRuntime(name, endpoints, directory, journal)
              .withDedupWindow(config.getDuration("rendezvous.edge.dedup-window"));
      ActorRef<ShardingEnvelope<RendezvousEntity.Command>> region =
          RendezvousEntity.init(system, runtime);
      ActorRef<RequestRouter.Command> router =
          system.systemActorOf(
              RequestRouter.create(
                  region,
                  runtime,
                  edgeSettings,
                  () ->
                      !clustered
                          ? Optional.empty()
                          : Optional.of(
                              membershipInFlux(cluster) || membershipChanges.recentlyChanged()
                                  ? edgeSettings.fallbackAfter()
                                  : edgeSettings.stalledAfter())),
              "request-router",
              org.apache.pekko.actor.typed.Props.empty());
      RendezvousClient client =
          new RendezvousClient(
              system,
              router,
              new RequestIds(name),
              config.getDuration("rendezvous.entity-ask-grace"));
      // serve only once this node's pools are listed: a request before that would find no worker
      directory
          .whenAvailable(metadata.keySet())
          .toCompletableFuture()
          .get(config.getDuration("rendezvous.startup-timeout").toMillis(), TimeUnit.MILLISECONDS);
      Readiness readiness = new Readiness(system, directory, journal, endpoints.values());
      HttpEdge edge = new HttpEdge(system, http);
      InputDecoder decoder = new InputDecoder(Json.MAPPER, http.inputLimits());
      List<Route> routeList =
          new ArrayList<>(
              List.of(
                  new PredictRoutes(edge, decoder, client, endpoints).routes(),
                  new InferenceRoutes(edge, decoder, client, endpoints, metadata).routes(),
                  new HealthRoutes(readiness, VERSION).routes()));
      RouteExtension.HttpParts parts = new RouteExtension.HttpParts(edge, decoder, endpoints, name);
      for (RouteExtension extension : extensions) {
        routeList.add(extension.route(parts));
      }
      Route routes = new Api(routeList.toArray(Route[]::new)).route();

      ServerBinding binding =
          Http.get(system)
              .newServerAt(http.host(), http.port())
              .bind(routes)
              .toCompletableFuture()
              .get(30, TimeUnit.SECONDS);
      org.apache.pekko.http.javadsl.model.Uri management =
          org.apache.pekko.management.javadsl.PekkoManagement.get(system.classicSystem())
              .start()
              .toCompletableFuture()
              .get(30, TimeUnit.SECONDS);
      log.info("node {}: cluster membership at {}/cluster/members", name, management);
      binding.addToCoordinatedShutdown(http.drainTimeout(), system);
      registerShutdown(system, readiness, journal, models);
      KafkaSettings kafka = KafkaSettings.fromConfig(config);
      if (kafka.enabled()) {
        JournalPublisher.createTopics(kafka);
        JournalPublisher publisher =
            JournalPublisher.start(kafka, journal.settings().dir(), name, journal::appended);
        journal.retainFrom(publisher::position);
        readiness.report("kafka_outbox_lag", publisher::lag);
        // whatever is not yet published when the node stops is published by its next start
        system.getWhenTerminated().thenRun(publisher::close);
      }
      if (config.getBoolean("rendezvous.kafka-requests.enabled")) {
        EndpointSettings ep = endpoints.get(config.getString("rendezvous.kafka-requests.endpoint"));
        if (ep == null) {
          throw new IllegalArgumentException(
              "rendezvous.kafka-requests.endpoint names no endpoint");
        }
        JournalPublisher.createTopics(
            kafka,
            List.of(
                config.getString("rendezvous.kafka-requests.topic"),
                config.getString("rendezvous.kafka-requests.output-topic"),
                config.getString("rendezvous.kafka-requests.dead-letter-topic")));
        org.apache.pekko.stream.UniqueKillSwitch requests =
            KafkaRequestStream.start(system, config, kafka, decoder, client, ep);
        // stop taking records from the topic when the node starts to leave: in-flight ones still
        // finish
        CoordinatedShutdown.get(system)
            .addTask(
                CoordinatedShutdown.PhaseBeforeServiceUnbind(),
                "rendezvous-kafka-requests",
                () -> {
                  requests.shutdown();
                  return CompletableFuture.completedFuture(Done.getInstance());
                });
      }
      log.info(
          "node {} serving http://{}:{} with endpoints {} and models {}",
          name,
          binding.localAddress().getHostString(),
          binding.localAddress().getPort(),
          endpoints.keySet().stream().sorted().toList(),
          metadata.keySet());
      return new Node(system, binding, journal, readiness, name, endpoints, management.toString());
    } catch (Exception e) {
      system.terminate();
      journal.close();
      system.getWhenTerminated().thenRun(() -> models.forEach(LoadedModel::close));
      throw e;
    }
  }

  private static void registerShutdown(
      ActorSystem<?> system, Readiness readiness, JournalWriter journal, List<LoadedModel> models) {
    CoordinatedShutdown cs = CoordinatedShutdown.get(system);
    cs.addTask(
        CoordinatedShutdown.PhaseBeforeServiceUnbind(),
        "rendezvous-not-ready",
        () -> {
          readiness.stopping();
          return CompletableFuture.completedFuture(Done.getInstance());
        });
    cs.addTask(
        CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
        "rendezvous-journal-close",
        () ->
            CompletableFuture.supplyAsync(
                () -> {
                  journal.close();
                  return Done.getInstance();
                },
                system
                    .dispatchers()
                    .lookup(DispatcherSelector.fromConfig("rendezvous-blocking-dispatcher"))));
    system.getWhenTerminated().thenRun(() -> models.forEach(LoadedModel::close));
  }

  private static List<LoadedModel> loadModels(List<ModelSettings> settings)
      throws ModelLoadException {
    List<LoadedModel> loaded = new ArrayList<>();
    try {
      for (ModelSettings s : settings) {
        loaded.add(LoadedModel.load(s));
      }
    } catch (ModelLoadException e) {
      loaded.forEach(LoadedModel::close);
      throw e;
    }
    return loaded;
  }

  /**
   * Configured endpoints plus one single-model endpoint per model; each checked against the models
   * it names (present, same input, same labels) and given their labels.
   */
  static Map<String, EndpointSettings> endpoints(Config config, Map<String, ModelMetadata> models) {
    Map<String, EndpointSettings> out = new LinkedHashMap<>();
    for (EndpointSettings e : EndpointSettings.allFromConfig(config).values()) {
      if (models.containsKey(e.name())) {
        throw new IllegalArgumentException(
            "rendezvous.endpoints."
                + e.name()
                + ": an endpoint cannot share its name with a model");
      }
      out.put(e.name(), withModelLabels(e, models));
    }
    for (String model : models.keySet()) {
      Config single =
          config
              .getConfig("rendezvous.model-endpoint")
              .withValue("models", ConfigValueFactory.fromIterable(List.of(model)))
              .withValue(
                  "schedule",
                  ConfigValueFactory.fromIterable(List.of(Map.of("model", model, "after", "0ms"))));
      out.put(model, withModelLabels(EndpointSettings.fromConfig(model, single), models));
    }
    return Map.copyOf(out);
  }

  private static EndpointSettings withModelLabels(
      EndpointSettings e, Map<String, ModelMetadata> models) {
    List<String> labels = null;
    for (String m : e.models()) {
      ModelMetadata meta = models.get(m);
      String where = "rendezvous.endpoints." + e.name() + ": ";
      if (meta == null) {
        throw new IllegalArgumentException(
            where + "model " + m + " is not configured under rendezvous.models");
      }
      if (!meta.input().dtype().equals(e.input().dtype())
          || !meta.input().shape().equals(e.input().shape())) {
        throw new IllegalArgumentException(
            where + "model " + m + " takes " + meta.input() + ", the endpoint gives " + e.input());
      }
      if (labels != null && !labels.equals(meta.labels())) {
        throw new IllegalArgumentException(where + "models disagree on labels (" + m + ")");
      }
      labels = meta.labels();
    }
    return e.withLabels(labels);
  }

  /**
   * Some member unreachable, leaving, exiting or down: shards may be out of reach or on the move.
   */
  static boolean membershipInFlux(Cluster cluster) {
    org.apache.pekko.cluster.ClusterEvent.CurrentClusterState state = cluster.state();
    if (!state.getUnreachable().isEmpty()) {
      return true;
    }
    for (org.apache.pekko.cluster.Member m : state.getMembers()) {
      org.apache.pekko.cluster.MemberStatus s = m.status();
      if (s == org.apache.pekko.cluster.MemberStatus.leaving()
          || s == org.apache.pekko.cluster.MemberStatus.exiting()
          || s == org.apache.pekko.cluster.MemberStatus.down()) {
        return true;
      }
    }
    return false;
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
    String system = "rendezvous";
    List<String> addresses = new ArrayList<>();
    for (String s : seeds.split(",")) {
      String seed = s.trim();
      if (!seed.isEmpty()) {
        addresses.add(seed.contains("://") ? seed : "pekko://" + system + "@" + seed);
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

  /**
   * Base URI of Pekko Management's cluster routes ({@code /cluster/members}, {@code
   * /cluster/shards/...}).
   */
  public String managementUri() {
    return managementUri;
  }

  public int httpPort() {
    return binding.localAddress().getPort();
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public JournalWriter journal() {
    return journal;
  }

  public Readiness readiness() {
    return readiness;
  }

  public String name() {
    return name;
  }

  public Map<String, EndpointSettings> endpoints() {
    return endpoints;
  }

  /** Graceful stop through CoordinatedShutdown: unbind, drain, close the journal, terminate. */
  public CompletionStage<Done> stop() {
    return CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.unknownReason());
  }

  /** Joins the routes with JSON rejections and errors. */
  private static final class Api extends AllDirectives {
    private final Route[] routes;

    Api(Route... routes) {
      this.routes = routes;
    }

    Route route() {
      RejectionHandler rejections =
          RejectionHandler.defaultHandler()
              .mapRejectionResponse(
                  response -> {
                    if (response
                        .entity()
                        .getContentType()
                        .mediaType()
                        .equals(org.apache.pekko.http.javadsl.model.MediaTypes.APPLICATION_JSON)) {
                      return response;
                    }
                    String text =
                        response.entity()
                                instanceof org.apache.pekko.http.javadsl.model.HttpEntity.Strict s
                            ? s.getData().utf8String()
                            : response.status().reason();
                    return HttpJson.error(response.status().intValue(), text);
                  });
      ExceptionHandler errors =
          ExceptionHandler.newBuilder()
              .matchAny(
                  e -> {
                    log.error("request failed inside the server", e);
                    return complete(HttpJson.error(500, "internal error: " + e));
                  })
              .build();
      return handleExceptions(
          errors,
          () ->
              handleRejections(
                  rejections,
                  () -> concat(routes[0], java.util.Arrays.copyOfRange(routes, 1, routes.length))));
    }
  }
}
