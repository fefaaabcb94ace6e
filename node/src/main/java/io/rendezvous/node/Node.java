package io.rendezvous.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.RendezvousEntity;
import io.rendezvous.actors.RendezvousRuntime;
import io.rendezvous.actors.edge.InputDecoder;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.actors.edge.LocalShards;
import io.rendezvous.actors.edge.RendezvousClient;
import io.rendezvous.actors.edge.RequestIds;
import io.rendezvous.journal.JournalWriter;
import io.rendezvous.journal.Lateness;
import io.rendezvous.kafka.KafkaWiring;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.workers.InferenceThreads;
import io.rendezvous.workers.LoadedModel;
import io.rendezvous.workers.ModelLoadException;
import io.rendezvous.workers.ModelManager;
import io.rendezvous.workers.ModelSettings;
import io.rendezvous.workers.PoolHealth;
import io.rendezvous.workers.WorkerDirectory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Rendezvous node: its models loaded, a member of the cluster (alone, it joins itself), request
 * entities sharded, the journal open and the HTTP API bound; Kafka features when configured.
 * Started by {@link Main}, the bench and tests. Its parts: {@link NodeSettings} (the configuration,
 * read once), {@link RendezvousGuardian} (pools, directory, sharding, router), {@link HttpServer}
 * and {@link KafkaWiring}.
 */
public final class Node {
  private static final Logger log = LoggerFactory.getLogger(Node.class);
  public static final String VERSION = "0.1.0";

  private final ActorSystem<Void> system;
  private final HttpServer.Bound http;
  private final JournalWriter journal;
  private final Readiness readiness;
  private final String name;
  private final Map<String, EndpointSettings> endpoints;
  private final CompletionStage<WarmUp.Summary> warmedUp;

  private Node(
      ActorSystem<Void> system,
      HttpServer.Bound http,
      JournalWriter journal,
      Readiness readiness,
      String name,
      Map<String, EndpointSettings> endpoints,
      CompletionStage<WarmUp.Summary> warmedUp) {
    this.warmedUp = warmedUp;
    this.system = system;
    this.http = http;
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
  public static Node start(Config config, List<RouteExtension> extensions) throws Exception {
    // the cluster's desired model state is kept under the node's own data directory, under a name
    // that does not end in "ddata" (Pekko would append the Artery port, and a node restarted on
    // another port would not find its copy)
    config =
        com.typesafe.config.ConfigFactory.parseMap(
                Map.of(
                    "pekko.cluster.distributed-data.durable.lmdb.dir",
                    java.nio.file.Path.of(config.getString("rendezvous.data-dir"))
                        .resolve("model-state")
                        .toString()))
            .withFallback(config);
    NodeSettings settings = NodeSettings.fromConfig(config);
    // decode images in memory: ImageIO's default disk cache would write a temp file per request
    javax.imageio.ImageIO.setUseCache(false);
    InferenceThreads inferenceThreads = InferenceThreads.fromConfig(settings.config());
    inferenceThreads.check(settings.models());
    List<LoadedModel> models = loadModels(settings.models());
    Map<String, ModelMetadata> metadata = new LinkedHashMap<>();
    models.forEach(m -> metadata.put(m.name(), m.metadata()));
    Map<String, EndpointSettings> endpoints;
    JournalWriter journal;
    try {
      endpoints = settings.endpointsFor(metadata);
      journal = JournalWriter.start(settings.journal());
    } catch (Exception e) {
      models.forEach(LoadedModel::close);
      inferenceThreads.close();
      throw e;
    }
    String name = settings.name();
    WorkerDirectory directory = new WorkerDirectory();
    PoolHealth poolHealth = new PoolHealth();
    RendezvousRuntime runtime =
        new RendezvousRuntime(name, endpoints, directory, journal)
            .withDedupWindow(settings.dedupWindow())
            .withCanaryWindow(settings.config().getInt("rendezvous.lifecycle.canary-window"))
            .withRewards(rewards(settings.config()));
    RendezvousGuardian.Handles handles = new RendezvousGuardian.Handles();
    LocalShards localShards = new LocalShards(RendezvousEntity.shards(settings.config()));
    ActorSystem<Void> system;
    try {
      system =
          ActorSystem.create(
              RendezvousGuardian.create(
                  settings,
                  models,
                  directory,
                  inferenceThreads,
                  poolHealth,
                  runtime,
                  localShards,
                  handles),
              NodeSettings.SYSTEM_NAME,
              settings.config());
    } catch (RuntimeException e) {
      journal.close();
      models.forEach(LoadedModel::close);
      inferenceThreads.close();
      throw e;
    }
    // the requests' entities run on the default dispatcher: their acknowledgements come from it
    journal.acknowledgeOn(system.executionContext());
    try {
      long startupMillis = settings.startupTimeout().toMillis();
      RendezvousClient client =
          new RendezvousClient(
              system,
              handles.router().get(startupMillis, TimeUnit.MILLISECONDS),
              new RequestIds(name),
              settings.edge().askGrace(),
              settings.placesRequestsLocally() ? localShards : null,
              settings.placement().attempts());
      // serve only once this node's pools are listed: a request before that would find no worker
      directory
          .whenAvailable(metadata.keySet())
          .toCompletableFuture()
          .get(startupMillis, TimeUnit.MILLISECONDS);
      Readiness readiness =
          new Readiness(system, directory, journal, () -> runtime.endpoints().all().values())
              .withPools(poolHealth);
      for (LoadedModel m : models) {
        // the version the node started with, under its model's name
        String model = m.name();
        String key = PoolHealth.key(m.name(), m.version());
        readiness.report("model_workers_serving." + model, () -> poolHealth.status(key).serving());
        readiness.report("model_workers_hung." + model, () -> poolHealth.status(key).hung());
        readiness.report("model_hung_total." + model, () -> poolHealth.status(key).hungTotal());
        readiness.report(
            "model_failed_by_watchdog." + model, () -> poolHealth.status(key).failedByWatchdog());
      }
      // where the time of a late answer goes: the entities' timers, the journal's queue, its
      // appends
      Lateness timers = runtime.lateDeliveries().timers();
      readiness.report("entity_timer_late_mean_us", timers::meanMicros);
      readiness.report("entity_timer_late_max_us", timers::maxMicros);
      readiness.report("journal_queue_wait_mean_us", journal.queueWait()::meanMicros);
      readiness.report("journal_queue_wait_max_us", journal.queueWait()::maxMicros);
      readiness.report("journal_batch_append_mean_us", journal.batchAppend()::meanMicros);
      readiness.report("journal_batch_append_max_us", journal.batchAppend()::maxMicros);
      // decided answers delivered after the SLA (the journal confirmed late), per endpoint that had
      // one
      io.rendezvous.actors.LateDeliveries late = runtime.lateDeliveries();
      readiness.reportEach(
          () -> {
            Map<String, Long> byEndpoint = new java.util.HashMap<>();
            for (String endpoint : late.endpoints()) {
              byEndpoint.put("late_deliveries." + endpoint, late.count(endpoint));
              byEndpoint.put("late_delivery_max_us." + endpoint, late.maxMicros(endpoint));
            }
            return byEndpoint;
          });
      HttpEdge edge = new HttpEdge(system, settings.http());
      InputDecoder decoder = new InputDecoder(Json.MAPPER, settings.http().inputLimits());
      io.rendezvous.model.ModelStore store =
          new io.rendezvous.model.ModelStore(settings.modelDefaults().store());
      NodeMetrics metrics =
          new NodeMetrics(
              n -> runtime.endpoints().all().containsKey(n) || metadata.containsKey(n),
              name,
              VERSION);
      metrics.journal(journal);
      metrics.edge(edge);
      metrics.pools(poolHealth);
      metrics.requests(runtime.lateDeliveries(), runtime.canaries());
      metrics.cluster(system, localShards);
      io.rendezvous.monitor.JournalWatch watch =
          startWatch(system, settings, journal, store, metrics);
      readiness.report("edge_in_flight", edge::inFlight);
      readiness.report("edge_queued", edge::queued);
      readiness.report("edge_limit", edge::limit);
      readiness.report("edge_body_bytes_in_flight", edge::bodyBytesInFlight);
      readiness.report("edge_queue_wait_mean_us", edge.queueWait()::meanMicros);
      readiness.report("edge_queue_wait_max_us", edge.queueWait()::maxMicros);
      // the gate is up before HTTP binds: a node must never say ready before its warm-up is over
      WarmUpMark warmUpMark = new WarmUpMark();
      metrics.notCounted(warmUpMark::marks);
      CompletableFuture<java.net.URI> httpBound = new CompletableFuture<>();
      CompletionStage<WarmUp.Summary> warmedUp =
          warmUp(system, settings.warmUp(), warmUpMark, endpoints, readiness, httpBound)
              .thenApply(
                  s -> {
                    // the journal and the edge cannot tell warm-up's work from users': their
                    // figures start now
                    journal.queueWait().reset();
                    journal.batchAppend().reset();
                    edge.queueWait().reset();
                    return s;
                  });
      List<Route> routes = new ArrayList<>();
      BearerAuth auth = BearerAuth.fromConfig(settings.config());
      FeedbackClient feedback = startFeedback(system, settings, journal, runtime, store, name);
      if (feedback != null) {
        routes.add(
            new FeedbackRoutes(
                    feedback,
                    auth,
                    FeedbackRoutes.Settings.fromConfig(settings.config()),
                    system,
                    isLoopback(settings.http().host()))
                .routes());
      }
      routes.add(
          new SlackRoutes(
                  SlackRoutes.Settings.fromConfig(settings.config()),
                  java.time.Clock.systemUTC(),
                  decoder,
                  client,
                  runtime.endpoints(),
                  feedback,
                  system,
                  blocking(system))
              .routes());
      routes.add(new PredictRoutes(edge, decoder, client, runtime.endpoints(), auth).routes());
      routes.add(
          new InferenceRoutes(
                  edge, decoder, client, runtime.endpoints(), metadata, auth, directory, warmUpMark)
              .routes());
      routes.add(new HealthRoutes(readiness, VERSION).routes());
      AdminRoutes.Parts adminParts =
          new AdminRoutes.Parts(
              directory,
              handles.manager().get(startupMillis, TimeUnit.MILLISECONDS),
              runtime.endpoints(),
              handles.endpoints().get(startupMillis, TimeUnit.MILLISECONDS),
              runtime.canaries(),
              runtime.rewards(),
              store,
              settings::modelEndpoint);
      AdminRoutes.Settings adminSettings = AdminRoutes.Settings.fromConfig(settings.config());
      boolean loopback = isLoopback(settings.http().host());
      // the cluster's model lifecycle on this node: ready only once it stands where the cluster
      // does
      WatchRoutes watchRoutes = new WatchRoutes(watch, metrics, runtime, name);
      ClusterModels.Status modelState = new ClusterModels.Status();
      Map<String, String> served = new LinkedHashMap<>();
      models.forEach(m -> served.put(m.name(), m.version()));
      ActorRef<ClusterModels.Command> clusterModels =
          system.systemActorOf(
              ClusterModels.create(
                  runtime.endpoints(),
                  adminParts,
                  served,
                  ClusterModels.Settings.fromConfig(settings.config()),
                  adminSettings,
                  auth.internalTokens(),
                  modelState,
                  name),
              "cluster-models",
              org.apache.pekko.actor.typed.Props.empty());
      readiness.gate("model-state", modelState::problem);
      java.util.concurrent.atomic.AtomicReference<String> selfUrl =
          new java.util.concurrent.atomic.AtomicReference<>();
      io.rendezvous.node.freshness.FreshnessRoutes freshness =
          startFreshness(system, settings, name, journal, adminParts.store(), metrics, selfUrl);
      AdminRoutes adminRoutes =
          new AdminRoutes(
              system,
              adminParts,
              clusterModels,
              auth,
              adminSettings,
              loopback,
              org.apache.pekko.http.javadsl.server.Directives.concat(
                  watchRoutes.adminRoute(), freshness.adminRoute()));
      routes.add(adminRoutes.routes());
      routes.add(
          new InternalRoutes(
                  adminParts.store(),
                  auth,
                  org.apache.pekko.stream.Materializer.matFromSystem(system),
                  loopback,
                  blocking(system))
              .routes());
      if (settings.config().getBoolean("rendezvous.metrics.enabled")) {
        routes.add(metrics.route());
      }
      routes.add(watchRoutes.routes());
      RouteExtension.HttpParts parts = new RouteExtension.HttpParts(edge, decoder, endpoints, name);
      GrpcSettings grpcSettings = GrpcSettings.fromConfig(settings.config());
      extensions.forEach(extension -> routes.add(extension.route(parts)));
      HttpServer.Bound http =
          HttpServer.start(
              system,
              settings.http(),
              routes,
              settings.config().getBoolean("rendezvous.metrics.enabled")
                  ? metrics::measured
                  : java.util.function.UnaryOperator.identity(),
              readiness,
              settings.startupTimeout(),
              grpcSettings,
              new GrpcInference(
                  edge,
                  decoder,
                  client,
                  runtime.endpoints(),
                  metadata,
                  auth,
                  directory,
                  readiness,
                  VERSION,
                  adminRoutes,
                  grpcSettings,
                  metrics));
      httpBound.complete(ownUri(http.binding().localAddress()));
      clusterModels.tell(new ClusterModels.Bound(advertisedUrl(settings, http)));
      selfUrl.set(advertisedUrl(settings, http));
      log.info("node {}: cluster membership at {}/cluster/members", name, http.management());
      closeOnShutdown(system, journal, inferenceThreads, models);
      KafkaWiring.Started kafka =
          KafkaWiring.start(
              system,
              settings.kafka(),
              settings.kafkaRequests(),
              journal,
              name,
              endpoints,
              decoder,
              client);
      kafka.streamLag().ifPresent(metrics::streamLag);
      kafka
          .outbox()
          .ifPresent(
              outbox -> {
                metrics.outbox(outbox);
                readiness.report("kafka_outbox_lag", outbox::lag);
                readiness.report("kafka_outbox_unreadable_skipped", outbox::unreadable);
              });
      log.info(
          "node {} serving http://{}:{}{} with endpoints {} and models {}",
          name,
          http.binding().localAddress().getHostString(),
          http.binding().localAddress().getPort(),
          http.grpc() == null ? "" : " and gRPC on port " + http.grpc().localAddress().getPort(),
          endpoints.keySet().stream().sorted().toList(),
          metadata.keySet());
      return new Node(system, http, journal, readiness, name, endpoints, warmedUp);
    } catch (Exception e) {
      system.terminate();
      journal.close();
      system.getWhenTerminated().thenRun(() -> closeModels(inferenceThreads, models));
      throw e;
    }
  }

  /** The dispatcher for blocking work off the actors' threads (disk, model files, lookups). */
  private static java.util.concurrent.Executor blocking(ActorSystem<?> system) {
    return system
        .dispatchers()
        .lookup(
            org.apache.pekko.actor.typed.DispatcherSelector.fromConfig(
                ModelManager.BLOCKING_DISPATCHER));
  }

  /**
   * Starts taking corrections (this node's {@link FeedbackKeeper}, and the routes that send any
   * client's to the keeper of the node holding the request) when {@code
   * rendezvous.feedback.enabled} and the journal is on: a correction is joined to what the journal
   * holds.
   */
  private static FeedbackClient startFeedback(
      ActorSystem<?> system,
      NodeSettings settings,
      JournalWriter journal,
      RendezvousRuntime runtime,
      io.rendezvous.model.ModelStore store,
      String name) {
    FeedbackRoutes.Settings feedback = FeedbackRoutes.Settings.fromConfig(settings.config());
    if (!feedback.enabled() || !journal.settings().enabled()) {
      log.info(
          "corrections are not taken: {}",
          feedback.enabled() ? "the journal is off" : "rendezvous.feedback.enabled is off");
      return null;
    }
    io.rendezvous.journal.JournalLookup lookup =
        io.rendezvous.journal.JournalLookup.open(
            journal.settings().dir(),
            journal.settings().rollCycle(),
            io.rendezvous.journal.JournalLookup.Window.fromConfig(settings.config()));
    system.getWhenTerminated().thenRun(lookup::close);
    FeedbackLedger ledger =
        FeedbackLedger.open(feedback.ledger(), journal.settings().retentionMaxAge());
    java.util.concurrent.Executor blocking = blocking(system);
    ActorRef<FeedbackKeeper.Command> keeper =
        system.systemActorOf(
            FeedbackKeeper.create(
                name,
                lookup,
                journal,
                ledger,
                (endpoint, story) -> labelsOf(runtime, store, endpoint, story),
                endpoint -> {
                  io.rendezvous.actors.EndpointSettings e = runtime.endpoints().all().get(endpoint);
                  return e == null ? 0 : e.models().size();
                },
                runtime.rewards(),
                blocking),
            "feedback-keeper",
            org.apache.pekko.actor.typed.Props.empty());
    FeedbackClient client = new FeedbackClient(system, feedback.askTimeout(), name, keeper);
    log.info("node {}: taking corrections ({} already joined here)", name, ledger.size());
    return client;
  }

  /**
   * The freshness trainer, a cluster singleton: started on every node (it runs on the oldest, and
   * moves when that one leaves), reading the feedback topic; its admin routes ask it wherever it
   * is. Off without Kafka (its corrections come from the topic) or without the journal.
   */
  private static io.rendezvous.node.freshness.FreshnessRoutes startFreshness(
      ActorSystem<Void> system,
      NodeSettings settings,
      String name,
      io.rendezvous.journal.JournalWriter journal,
      io.rendezvous.model.ModelStore store,
      NodeMetrics metrics,
      java.util.concurrent.atomic.AtomicReference<String> selfUrl) {
    io.rendezvous.node.freshness.FreshnessSettings fresh =
        io.rendezvous.node.freshness.FreshnessSettings.fromConfig(settings.config());
    String off =
        !fresh.enabled()
            ? "rendezvous.freshness.enabled is off"
            : !settings.kafka().enabled()
                ? "it reads corrections from Kafka, and rendezvous.kafka.enabled is off"
                : !journal.settings().enabled() ? "the journal is off" : null;
    if (off != null) {
      log.info("node {}: no freshness trainer ({})", name, off);
      return new io.rendezvous.node.freshness.FreshnessRoutes(
          system, null, off, fresh.callTimeout());
    }
    io.rendezvous.node.freshness.LifecycleApi api =
        new io.rendezvous.node.freshness.LifecycleApi(
            system, selfUrl::get, fresh.adminToken(), fresh.callTimeout());
    io.rendezvous.kafka.KafkaSettings kafka = settings.kafka();
    ActorRef<io.rendezvous.node.freshness.Freshness.Command> trainer =
        org.apache.pekko.cluster.typed.ClusterSingleton.get(system)
            .init(
                org.apache.pekko.cluster.typed.SingletonActor.of(
                    io.rendezvous.node.freshness.Freshness.create(
                        fresh,
                        name,
                        journal,
                        journal.settings().dir(),
                        store,
                        api,
                        blocking(system),
                        metrics::freshnessEvent,
                        self ->
                            io.rendezvous.node.freshness.FeedbackSource.start(
                                system, kafka, fresh.heldOutShare(), self, blocking(system))),
                    "freshness-trainer"));
    return new io.rendezvous.node.freshness.FreshnessRoutes(
        system, trainer, null, fresh.callTimeout());
  }

  /** Thompson sampling's prior ({@code rendezvous.policies.thompson-sampling}). */
  static io.rendezvous.actors.schedule.Rewards rewards(com.typesafe.config.Config config) {
    com.typesafe.config.Config c = config.getConfig("rendezvous.policies.thompson-sampling");
    return new io.rendezvous.actors.schedule.Rewards(
        c.getDouble("prior-successes"),
        c.getDouble("prior-failures"),
        java.util.concurrent.ThreadLocalRandom::current);
  }

  /**
   * The labels a correction of a request to {@code endpoint} may give: the endpoint's, or when it
   * is gone, those of the model version that answered (or scored) the request.
   */
  private static List<String> labelsOf(
      RendezvousRuntime runtime,
      io.rendezvous.model.ModelStore store,
      String endpoint,
      io.rendezvous.journal.JournalLookup.Story story) {
    io.rendezvous.actors.EndpointSettings e = runtime.endpoints().all().get(endpoint);
    if (e != null && !e.labels().isEmpty()) {
      return e.labels();
    }
    List<String[]> candidates = new ArrayList<>();
    if (story.answer() != null && story.answer().model() != null) {
      candidates.add(new String[] {story.answer().model(), story.answer().version()});
    }
    story.scores().forEach(sc -> candidates.add(new String[] {sc.model(), sc.version()}));
    for (String[] mv : candidates) {
      try {
        return ModelMetadata.read(store.resolve(mv[0], mv[1])).labels();
      } catch (java.io.IOException | IllegalArgumentException unknown) {
        // try the next model of the story
      }
    }
    return List.of();
  }

  /**
   * Starts watching the models (the journal watch of module {@code monitor}) when {@code
   * rendezvous.watch.enabled} and the journal is on; null otherwise. It closes with the node.
   */
  private static io.rendezvous.monitor.JournalWatch startWatch(
      ActorSystem<?> system,
      NodeSettings settings,
      JournalWriter journal,
      io.rendezvous.model.ModelStore store,
      NodeMetrics metrics) {
    io.rendezvous.monitor.WatchSettings watchSettings =
        io.rendezvous.monitor.WatchSettings.fromConfig(settings.config());
    if (!watchSettings.enabled() || !journal.settings().enabled()) {
      log.info(
          "models are not watched: {}",
          watchSettings.enabled() ? "the journal is off" : "rendezvous.watch.enabled is off");
      return null;
    }
    io.rendezvous.monitor.JournalWatch watch =
        io.rendezvous.monitor.JournalWatch.start(
            journal,
            watchSettings,
            (model, version) -> {
              try {
                return java.util.Optional.of(ModelMetadata.read(store.resolve(model, version)));
              } catch (java.io.IOException e) {
                return java.util.Optional.empty();
              }
            },
            RequestIds::isWarmUp,
            metrics.registry());
    system.getWhenTerminated().thenRun(watch::close);
    return watch;
  }

  /**
   * How other nodes reach this one's HTTP: its bound address, or its cluster hostname on 0.0.0.0.
   */
  private static String advertisedUrl(NodeSettings settings, HttpServer.Bound http) {
    java.net.InetSocketAddress a = http.binding().localAddress();
    String host =
        a.getAddress() != null && a.getAddress().isAnyLocalAddress()
            ? settings.config().getString("pekko.remote.artery.canonical.hostname")
            : a.getHostString();
    return "http://" + host + ":" + a.getPort();
  }

  /** Whether {@code host} is a loopback address (an unresolvable one is not). */
  static boolean isLoopback(String host) {
    try {
      return java.net.InetAddress.getByName(host).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  /**
   * Runs the warm-up once the node serves (member up, pools listed, journal writing) and its HTTP
   * port is bound ({@code httpBound}: the address the node reaches itself at): readiness waits for
   * it.
   */
  private static CompletionStage<WarmUp.Summary> warmUp(
      ActorSystem<?> system,
      WarmUp.Settings settings,
      WarmUpMark mark,
      Map<String, EndpointSettings> endpoints,
      Readiness readiness,
      CompletionStage<java.net.URI> httpBound) {
    WarmUp warmUp = new WarmUp(system, settings, mark, endpoints);
    CompletableFuture<WarmUp.Summary> done = new CompletableFuture<>();
    readiness.gate("warm-up", () -> done.isDone() ? null : warmUp.progress());
    // no warm-up: nothing to wait for (a node whose journal is not writable yet is not ready
    // anyway)
    (warmUp.planned() == 0
            ? CompletableFuture.completedFuture(WarmUp.Summary.NONE)
            : whenServing(system, readiness)
                .thenCombine(httpBound, (v, uri) -> uri)
                .thenCompose(warmUp::run))
        .whenComplete(
            (s, e) -> {
              if (e != null) {
                log.warn("warm-up failed; the node is ready without it", e);
                done.complete(new WarmUp.Summary(warmUp.done(), 0, Duration.ZERO, false, -1));
                return;
              }
              if (s.requests() == 0) {
                done.complete(s);
                return;
              }
              String share = WarmUp.jitShare(s.jitShare(), settings.settleWindow());
              String jit = share.isEmpty() ? "" : ", " + share;
              if (s.answered() * 2 < s.requests()) {
                // most of its own requests not answered 200: the node is not serving as it should
                log.warn(
                    "warm-up: only {} of {} requests answered 200 in {} ms{}; ready all the same",
                    s.answered(),
                    s.requests(),
                    s.took().toMillis(),
                    jit);
              } else if (!s.finished()) {
                // expected on a small machine under the warm-up's own load: its compiler threads
                // are still busy at the timeout, and finish within the first seconds of users' load
                log.info(
                    "warm-up: {} of {} requests answered 200 in {} ms{}, its timeout; ready",
                    s.answered(),
                    s.requests(),
                    s.took().toMillis(),
                    jit);
              } else {
                log.info(
                    "warm-up: {} of {} requests answered 200 in {} ms{}; ready",
                    s.answered(),
                    s.requests(),
                    s.took().toMillis(),
                    jit);
              }
              done.complete(s);
            });
    return done;
  }

  /** Where a node reaches its own HTTP port: its bound address, loopback when bound to all. */
  static java.net.URI ownUri(java.net.InetSocketAddress bound) {
    java.net.InetAddress a = bound.getAddress();
    String host =
        a == null || a.isAnyLocalAddress()
            ? (a instanceof java.net.Inet6Address ? "[::1]" : "127.0.0.1")
            : a instanceof java.net.Inet6Address
                ? "[" + a.getHostAddress() + "]"
                : a.getHostAddress();
    return java.net.URI.create("http://" + host + ":" + bound.getPort());
  }

  /** Completes once every readiness check but the gates passes, looking every 50 ms. */
  private static CompletionStage<Void> whenServing(ActorSystem<?> system, Readiness readiness) {
    CompletableFuture<Void> serving = new CompletableFuture<>();
    lookWhetherServing(system, readiness, serving);
    return serving;
  }

  private static void lookWhetherServing(
      ActorSystem<?> system, Readiness readiness, CompletableFuture<Void> serving) {
    if (readiness.serving()) {
      serving.complete(null);
    } else if (!system.getWhenTerminated().toCompletableFuture().isDone()) {
      system
          .scheduler()
          .scheduleOnce(
              SERVING_POLL,
              () -> lookWhetherServing(system, readiness, serving),
              system.executionContext());
    }
  }

  /** How often the warm-up looks whether the node serves yet (cluster membership comes first). */
  private static final Duration SERVING_POLL = Duration.ofMillis(50);

  /** The journal writes what it accepted and closes last; the models close with the system. */
  /**
   * Models close once the calls still running have ended; left open (the JVM is exiting) if one is
   * hung.
   */
  private static void closeModels(InferenceThreads threads, List<LoadedModel> models) {
    if (threads.closeAndWait(java.time.Duration.ofSeconds(5))) {
      models.forEach(LoadedModel::close);
    }
  }

  private static void closeOnShutdown(
      ActorSystem<?> system,
      JournalWriter journal,
      InferenceThreads inferenceThreads,
      List<LoadedModel> models) {
    CoordinatedShutdown.get(system)
        .addTask(
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
    system.getWhenTerminated().thenRun(() -> closeModels(inferenceThreads, models));
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
   * Base URI of Pekko Management's cluster routes ({@code /cluster/members}, {@code
   * /cluster/shards/...}).
   */
  public String managementUri() {
    return http.management().toString();
  }

  public int httpPort() {
    return http.binding().localAddress().getPort();
  }

  /** The port of the gRPC service; -1 when it is off. */
  public int grpcPort() {
    return http.grpc() == null ? -1 : http.grpc().localAddress().getPort();
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

  /** Completes when the warm-up is over (readiness waits for it). */
  public CompletionStage<?> warmedUp() {
    return warmedUp;
  }

  /** Graceful stop through CoordinatedShutdown: unbind, drain, close the journal, terminate. */
  public CompletionStage<Done> stop() {
    return CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.unknownReason());
  }
}
