package io.rendezvous.node;

import io.rendezvous.actors.EndpointEdit;
import io.rendezvous.actors.EndpointRegistry;
import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.Endpoints;
import io.rendezvous.actors.lifecycle.DesiredState;
import io.rendezvous.actors.lifecycle.DesiredState.Applied;
import io.rendezvous.actors.lifecycle.DesiredState.EndpointSpec;
import io.rendezvous.actors.lifecycle.DesiredState.VersionSpec;
import io.rendezvous.config.CborSerializable;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.ModelRef;
import io.rendezvous.model.ModelStore;
import io.rendezvous.workers.ModelManager;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.ddata.typed.javadsl.ReplicatorMessageAdapter;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * The cluster's model lifecycle on this node. It keeps the {@link DesiredState}, replicated with
 * Distributed Data (durable on the node's disk), and brings this node to it: versions it lacks are
 * fetched from a node that has them (over HTTP, with the inter-node token, their content hash
 * checked), loaded and checked here, then the endpoint table is replaced, versions to retire are
 * retired, and where this node stands is published ({@link Applied}, per node). Admin changes taken
 * on this node are written as the next desired state, and answered once every Up member has applied
 * it (or, after {@code apply-timeout}, with where each one stands).
 */
final class ClusterModels extends AbstractBehavior<ClusterModels.Command> {

  /**
   * One replicated map: the desired state under {@value #DESIRED}, and each node's {@link Applied}
   * under {@value #APPLIED_PREFIX} and its address (one map, so one subscription sees both).
   */
  static final String STATE_KEY = "rendezvous-lifecycle";

  private static final String DESIRED = "desired";
  private static final String APPLIED_PREFIX = "applied:";

  interface Command {}

  /** An endpoint change, as the admin API asks for it. */
  record Edit(String endpoint, EndpointEdit edit, ActorRef<Outcome> replyTo) implements Command {}

  /** {@code version} of {@code name} (loaded and checked here) to be loaded on every node. */
  record LoadEverywhere(
      String name, String version, ModelManager.PoolOverrides pool, ActorRef<Outcome> replyTo)
      implements Command {}

  /** {@code version} of {@code name} to be retired on every node. */
  record RetireEverywhere(String name, String version, ActorRef<Outcome> replyTo)
      implements Command {}

  /** Where the cluster stands: the desired generation and what each Up member has applied. */
  record GetStatus(ActorRef<Outcome> replyTo) implements Command {}

  /** This node's HTTP address, once bound: other nodes fetch versions from it. */
  record Bound(String url) implements Command {}

  /**
   * What became of a change: {@code status} 200 once every Up member applied {@code generation},
   * 202 when some had not within the timeout, or the refusal; {@code nodes}: where each stands.
   */
  record Outcome(
      int status,
      String detail,
      long generation,
      EndpointSettings endpoint,
      Map<String, Applied> nodes) {}

  /**
   * The replicated map as read at start; {@code settled}: the read got an answer (found or not).
   */
  private record StateRead(Map<String, CborSerializable> entries, boolean settled)
      implements Command {}

  private record StateChanged(Map<String, CborSerializable> entries) implements Command {}

  private record Prepared(Command request, DesiredState next, String refusal, int status)
      implements Command {}

  private record Written(DesiredState state, Command request, boolean everyone)
      implements Command {}

  /** The change was made from a state the map had moved past: made again from the map's. */
  private record Stale(Command request) implements Command {}

  private record Reconciled(DesiredState state, String problem) implements Command {
    long generation() {
      return state.generation();
    }
  }

  private enum Tick implements Command {
    INSTANCE
  }

  private record Waiter(
      long generation, Command request, EndpointSettings endpoint, long deadlineNanos) {}

  /** Settings of the cluster lifecycle ({@code rendezvous.lifecycle}). */
  record Settings(
      Duration writeTimeout,
      Duration readTimeout,
      Duration applyTimeout,
      Duration fetchTimeout,
      Duration connectTimeout,
      Duration checkEvery) {
    static Settings fromConfig(com.typesafe.config.Config root) {
      com.typesafe.config.Config c = root.getConfig("rendezvous.lifecycle");
      return new Settings(
          c.getDuration("write-timeout"),
          c.getDuration("state-read-timeout"),
          c.getDuration("apply-timeout"),
          c.getDuration("fetch-timeout"),
          c.getDuration("connect-timeout"),
          c.getDuration("check-every"));
    }
  }

  /** Where this node stands, for readiness (read from any thread). */
  static final class Status {
    private volatile String problem = "reading the cluster's desired model state";

    String problem() {
      return problem;
    }
  }

  private static final Key<LWWMap<String, CborSerializable>> STATE = LWWMapKey.create(STATE_KEY);

  private final ReplicatorMessageAdapter<Command, LWWMap<String, CborSerializable>> state;

  /**
   * For what runs off the actor's thread (fetches, loads): the context's logger may not be used
   * there.
   */
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(ClusterModels.class);

  private final org.apache.pekko.actor.typed.ActorSystem<?> system;
  private final SelfUniqueAddress self;
  private final String selfKey;
  private final String nodeName;
  private final Endpoints endpoints;
  private final ActorRef<EndpointRegistry.Command> registry;
  private final ActorRef<ModelManager.Command> manager;
  private final ModelStore store;
  private final Map<String, String> served;
  private final Settings settings;
  private final AdminRoutes.Settings admin;
  private final AdminRoutes.Parts parts;
  private final List<String> internalTokens;
  private final Status status;
  private final Executor blocking;
  private final HttpClient http;

  private DesiredState desired = DesiredState.EMPTY;
  private boolean read;
  private Map<String, Applied> applied = Map.of();
  private String url;
  private long appliedHere;

  /**
   * The state last applied here, whole: one of the same generation but other content is applied
   * too.
   */
  private DesiredState appliedState = DesiredState.EMPTY;

  /** Caught up once since start: from then on readiness no longer waits on model changes. */
  private boolean caughtUp;

  /** A failed attempt is tried again after this, doubling up to a minute. */
  private long retryAtNanos;

  private long retryDelayMillis;

  /** The read that counts: one made once this node is Up, so it reaches the others. */
  private boolean readWhileUp;

  private boolean reconciling;
  private boolean changing;
  private final ArrayDeque<Command> queued = new ArrayDeque<>();
  private final List<Waiter> waiters = new ArrayList<>();

  static Behavior<Command> create(
      Endpoints endpoints,
      AdminRoutes.Parts parts,
      Map<String, String> served,
      Settings settings,
      AdminRoutes.Settings admin,
      List<String> internalTokens,
      Status status,
      String nodeName) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers ->
                    DistributedData
                        .<Command, LWWMap<String, CborSerializable>>withReplicatorMessageAdapter(
                            adapter ->
                                new ClusterModels(
                                    ctx,
                                    timers,
                                    adapter,
                                    endpoints,
                                    parts,
                                    served,
                                    settings,
                                    admin,
                                    internalTokens,
                                    status,
                                    nodeName))));
  }

  private ClusterModels(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      ReplicatorMessageAdapter<Command, LWWMap<String, CborSerializable>> state,
      Endpoints endpoints,
      AdminRoutes.Parts parts,
      Map<String, String> served,
      Settings settings,
      AdminRoutes.Settings admin,
      List<String> internalTokens,
      Status status,
      String nodeName) {
    super(ctx);
    this.state = state;
    this.system = ctx.getSystem();
    this.self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
    this.selfKey = Cluster.get(ctx.getSystem()).selfMember().address().toString();
    this.nodeName = nodeName;
    this.endpoints = endpoints;
    this.registry = parts.registry();
    this.manager = parts.manager();
    this.store = parts.store();
    this.parts = parts;
    this.served = Map.copyOf(served);
    this.settings = settings;
    this.admin = admin;
    this.internalTokens = List.copyOf(internalTokens);
    this.status = status;
    this.blocking =
        ctx.getSystem()
            .dispatchers()
            .lookup(DispatcherSelector.fromConfig(ModelManager.BLOCKING_DISPATCHER));
    this.http = HttpClient.newBuilder().connectTimeout(settings.connectTimeout()).build();
    state.subscribe(
        STATE,
        r ->
            r instanceof Replicator.Changed<LWWMap<String, CborSerializable>> c
                ? new StateChanged(c.get(STATE).getEntries())
                : Tick.INSTANCE);
    // what the others hold, not only this node's disk: a node that joins late starts from the
    // cluster's state
    readFromMajority();
    timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.checkEvery());
  }

  /** Asks a majority of the nodes for the state (this node's own copy alone, before it is Up). */
  private void readFromMajority() {
    state.askGet(
        replyTo ->
            new Replicator.Get<>(
                STATE, new Replicator.ReadMajority(settings.readTimeout()), replyTo),
        r ->
            r instanceof Replicator.GetSuccess<LWWMap<String, CborSerializable>> ok
                ? new StateRead(ok.get(STATE).getEntries(), true)
                : new StateRead(Map.of(), r instanceof Replicator.NotFound));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(StateRead.class, this::onStateRead)
        .onMessage(Bound.class, this::onBound)
        .onMessage(
            GetStatus.class,
            g -> {
              Map<String, Applied> nodes = nodesNow();
              boolean all =
                  nodes.values().stream().allMatch(a -> a.generation() >= desired.generation());
              g.replyTo()
                  .tell(
                      new Outcome(
                          all ? 200 : 202,
                          desired.isEmpty() ? "configuration" : desired.change(),
                          desired.generation(),
                          null,
                          nodes));
              return this;
            })
        .onMessage(Edit.class, this::onRequest)
        .onMessage(LoadEverywhere.class, this::onRequest)
        .onMessage(RetireEverywhere.class, this::onRequest)
        .onMessage(Prepared.class, this::onPrepared)
        .onMessage(Written.class, this::onWritten)
        .onMessage(StateChanged.class, m -> next(onEntries(m.entries())))
        .onMessage(
            Stale.class,
            st -> {
              changing = false;
              getContext()
                  .getLog()
                  .info("cluster model state: a change was made from a stale state; made again");
              queued.addFirst(st.request());
              // the map's newer state first (a local read), then the change again
              state.askGet(
                  replyTo -> new Replicator.Get<>(STATE, Replicator.readLocal(), replyTo),
                  r ->
                      r instanceof Replicator.GetSuccess<LWWMap<String, CborSerializable>> ok
                          ? new StateChanged(ok.get(STATE).getEntries())
                          : Tick.INSTANCE);
              return this;
            })
        .onMessage(Reconciled.class, this::onReconciled)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .build();
  }

  private Behavior<Command> onStateRead(StateRead m) {
    if (!readWhileUp) {
      // read before this node knew its peers: only its own copy; the read that counts comes later
      onEntries(m.entries());
      return this;
    }
    if (!read) {
      read = true;
      DesiredState found = m.entries().get(DESIRED) instanceof DesiredState d ? d : null;
      getContext()
          .getLog()
          .info(
              "cluster model state: {}",
              found != null
                  ? "generation " + found.generation() + " read from the cluster"
                  : m.settled()
                      ? "none yet; this node's configuration stands"
                      : "not read from a majority in time; this node's own copy stands");
    }
    onEntries(m.entries());
    // the changes asked for while the state was being read
    return next();
  }

  private Behavior<Command> onEntries(Map<String, CborSerializable> entries) {
    Map<String, Applied> nodes = new HashMap<>();
    entries.forEach(
        (k, v) -> {
          if (k.startsWith(APPLIED_PREFIX) && v instanceof Applied a) {
            nodes.put(k.substring(APPLIED_PREFIX.length()), a);
          }
        });
    if (!nodes.isEmpty()) {
      applied = nodes;
    }
    // the map's value wins over what this node holds, unless it is older: two writes of one
    // generation are settled by the map (last writer wins), and every node takes the same one
    if (entries.get(DESIRED) instanceof DesiredState d
        && d.generation() >= desired.generation()
        && !d.equals(desired)) {
      desired = d;
    }
    reconcile();
    settleWaiters();
    return this;
  }

  private Behavior<Command> onBound(Bound b) {
    url = b.url();
    reconcile();
    return this;
  }

  private Behavior<Command> onTick() {
    if (!readWhileUp && Cluster.get(system).selfMember().status() == MemberStatus.up()) {
      // Up: the others are known now, and a majority read reaches them
      readWhileUp = true;
      readFromMajority();
    }
    settleWaiters();
    reconcile();
    return this;
  }

  // ---- bringing this node to the desired state

  private void reconcile() {
    updateStatus();
    if (reconciling || !read || url == null) {
      return;
    }
    if (desired.isEmpty() || desired.equals(appliedState)) {
      return;
    }
    if (System.nanoTime() - retryAtNanos < 0) {
      return;
    }
    reconciling = true;
    DesiredState target = desired;
    getContext()
        .getLog()
        .info(
            "cluster model state: applying generation {} ({})",
            target.generation(),
            target.change());
    DesiredState applying = target;
    CompletionStage<String> done =
        loadVersions(target, sourcesOf(target))
            .thenCompose(p -> p != null ? done(p) : applyTable(target))
            .thenCompose(p -> p != null ? done(p) : retireVersions(target));
    getContext()
        .pipeToSelf(
            done,
            (problem, failure) ->
                new Reconciled(
                    applying, failure != null ? "failed: " + rootMessage(failure) : problem));
  }

  private Behavior<Command> onReconciled(Reconciled r) {
    reconciling = false;
    if (r.problem() == null) {
      appliedHere = Math.max(appliedHere, r.generation());
      appliedState = r.state();
      caughtUp = true;
      retryDelayMillis = 0;
      getContext().getLog().info("cluster model state: generation {} applied here", r.generation());
    } else {
      getContext()
          .getLog()
          .error(
              "cluster model state: generation {} not applied here (tried again in {} ms): {}",
              r.generation(),
              nextRetryMillis(),
              r.problem());
      retryAtNanos = System.nanoTime() + retryDelayMillis * 1_000_000;
    }
    Applied mine =
        new Applied(r.problem() == null ? r.generation() : appliedHere, url, r.problem());
    state.askUpdate(
        replyTo ->
            new Replicator.Update<>(
                STATE,
                LWWMap.create(),
                new Replicator.WriteAll(settings.writeTimeout()),
                replyTo,
                map -> map.put(self, APPLIED_PREFIX + selfKey, mine)),
        response -> Tick.INSTANCE);
    updateStatus();
    if (r.problem() == null) {
      reconcile();
    }
    return this;
  }

  /** Doubles the wait before the next attempt, from 1 s to a minute. */
  private long nextRetryMillis() {
    retryDelayMillis = retryDelayMillis == 0 ? 1_000 : Math.min(60_000, retryDelayMillis * 2);
    return retryDelayMillis;
  }

  /**
   * Readiness waits for the first catch-up only: a node that has served the cluster's state once
   * stays ready while later changes are applied (all nodes apply them at once; being taken out of
   * service together for each one would be worse than serving the previous state a little longer).
   */
  private void updateStatus() {
    String problem;
    if (!read) {
      problem = "reading the cluster's desired model state";
    } else if (!caughtUp && !desired.isEmpty() && !desired.equals(appliedState)) {
      problem =
          "bringing this node to the cluster's model state, generation "
              + desired.generation()
              + " (applied: "
              + appliedHere
              + ")";
    } else {
      caughtUp = true;
      problem = null;
    }
    status.problem = problem;
  }

  /** Every desired version ready here: fetched when missing from the store, then loaded. */
  private CompletionStage<String> loadVersions(
      DesiredState target, Map<String, List<String>> sources) {
    CompletionStage<String> chain = done(null);
    for (VersionSpec v : target.versions().values()) {
      chain =
          chain.thenCompose(
              problem ->
                  problem != null
                      ? done(problem)
                      : inStore(v, sources.getOrDefault(v.member(), List.of()))
                          .thenCompose(
                              p ->
                                  p != null
                                      ? done(p)
                                      : AskPattern
                                          .<ModelManager.Command, ModelManager.VersionState>ask(
                                              manager,
                                              replyTo ->
                                                  new ModelManager.Load(
                                                      v.name(),
                                                      v.version(),
                                                      overrides(v),
                                                      checked(v),
                                                      replyTo),
                                              admin.loadTimeout(),
                                              system.scheduler())
                                          .thenApply(
                                              s ->
                                                  s.state() == ModelManager.State.READY
                                                      ? null
                                                      : v.member()
                                                          + " is "
                                                          + s.state()
                                                          + ": "
                                                          + s.detail())));
    }
    return chain;
  }

  /** The accuracy measured where the version was first checked, trusted for the same files. */
  private static double checked(VersionSpec v) {
    return v.checkedAccuracy() == null ? Double.NaN : v.checkedAccuracy();
  }

  private static ModelManager.PoolOverrides overrides(VersionSpec v) {
    return new ModelManager.PoolOverrides(
        v.workers(),
        v.queueCapacity(),
        v.maxBatchSize(),
        v.maxBatchDelayMicros() == null ? null : Duration.ofNanos(v.maxBatchDelayMicros() * 1_000));
  }

  /**
   * The version in this node's store, with the desired content: fetched from another node if not.
   */
  private CompletionStage<String> inStore(VersionSpec v, List<String> sources) {
    return CompletableFuture.supplyAsync(
            () -> {
              try {
                java.nio.file.Path dir = store.versionDir(v.name(), v.version());
                if (java.nio.file.Files.isRegularFile(dir.resolve(ModelMetadata.FILE_NAME))) {
                  String hash = ModelMetadata.read(dir).contentHash();
                  return v.contentHash() == null || v.contentHash().equals(hash)
                      ? "here"
                      : v.member() + " is in this node's store with other content (" + hash + ")";
                }
                return null;
              } catch (java.io.IOException | RuntimeException e) {
                return v.member() + ": " + e.getMessage();
              }
            },
            blocking)
        .thenCompose(
            found -> {
              if ("here".equals(found)) {
                return done(null);
              }
              if (found != null) {
                return done(found);
              }
              return fetch(v, sources, new ArrayList<>());
            });
  }

  /**
   * Where each version can be fetched from, read on the actor's thread (the fetches run on others):
   * where it was first, then every node that reported its standing.
   */
  private Map<String, List<String>> sourcesOf(DesiredState target) {
    Map<String, List<String>> out = new HashMap<>();
    target.versions().values().forEach(v -> out.put(v.member(), sourcesOf(v)));
    return out;
  }

  private List<String> sourcesOf(VersionSpec v) {
    List<String> out = new ArrayList<>(v.sources());
    // the nodes Up now, not every node that ever reported: a gone one would only cost a timeout
    nodesNow().values().stream()
        .map(Applied::url)
        .filter(u -> u != null && !u.equals(url) && !out.contains(u))
        .forEach(out::add);
    out.remove(url);
    return out;
  }

  private CompletionStage<String> fetch(VersionSpec v, List<String> sources, List<String> tried) {
    if (sources.isEmpty()) {
      return done(
          "no node could give "
              + v.member()
              + (tried.isEmpty() ? " (none known to have it)" : ": " + String.join("; ", tried)));
    }
    String from = sources.get(0);
    List<String> rest = sources.subList(1, sources.size());
    HttpRequest.Builder b =
        HttpRequest.newBuilder(
                URI.create(
                    from
                        + "/internal/models/"
                        + v.name()
                        + "/versions/"
                        + v.version()
                        + "/archive"))
            .timeout(settings.fetchTimeout())
            .GET();
    if (!internalTokens.isEmpty()) {
      b.header("Authorization", "Bearer " + internalTokens.get(0));
    }
    LOG.info("cluster model state: fetching {} from {}", v.member(), from);
    return http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofByteArray())
        .thenApplyAsync(
            r -> {
              if (r.statusCode() != 200) {
                return from + " answered " + r.statusCode();
              }
              try {
                ModelArchive.install(
                    store,
                    v.name(),
                    v.version(),
                    new ByteArrayInputStream(r.body()),
                    admin.archiveLimits(),
                    v.contentHash());
                return null;
              } catch (ModelArchive.Refused refused) {
                return from + ": " + refused.getMessage();
              } catch (java.io.IOException e) {
                return from + ": " + e.getMessage();
              }
            },
            blocking)
        .exceptionally(e -> from + ": " + rootMessage(e))
        .thenCompose(
            problem -> {
              if (problem == null) {
                return done(null);
              }
              LOG.warn("cluster model state: fetch of {} failed: {}", v.member(), problem);
              List<String> t = new ArrayList<>(tried);
              t.add(problem);
              return fetch(v, rest, t);
            });
  }

  /** The desired endpoints as this node's table. */
  private CompletionStage<String> applyTable(DesiredState target) {
    Map<String, EndpointSettings> table;
    try {
      table = target.endpointSettings();
    } catch (IllegalArgumentException e) {
      return done(e.getMessage());
    }
    return AskPattern.<EndpointRegistry.Command, EndpointRegistry.Changed>ask(
            registry,
            replyTo -> new EndpointRegistry.ReplaceAll(target.generation(), table, replyTo),
            admin.loadTimeout(),
            system.scheduler())
        .thenApply(c -> c.ok() ? null : c.detail());
  }

  /** Versions to retire that this node still serves. */
  private CompletionStage<String> retireVersions(DesiredState target) {
    if (target.retired().isEmpty()) {
      return done(null);
    }
    return AskPattern.<ModelManager.Command, ModelManager.Versions>ask(
            manager, ModelManager.ListVersions::new, admin.askTimeout(), system.scheduler())
        .thenCompose(
            all -> {
              CompletionStage<String> chain = done(null);
              for (ModelManager.VersionState v : all.versions()) {
                String member = ModelRef.of(v.name(), v.version());
                if (v.state() == ModelManager.State.READY && target.retired().contains(member)) {
                  chain =
                      chain.thenCompose(
                          p ->
                              Retirement.retire(
                                      system, parts, admin.loadTimeout(), v.name(), v.version())
                                  .thenApply(
                                      r ->
                                          r.refusal() != null
                                              ? r.refusal()
                                              : r.state().state() == ModelManager.State.RETIRED
                                                  ? p
                                                  : member + ": " + r.state().detail()));
                }
              }
              return chain;
            });
  }

  // ---- changes asked of this node

  private Behavior<Command> onRequest(Command request) {
    if (changing) {
      queued.add(request);
      return this;
    }
    if (!read) {
      // made once this node has read the cluster's state (moments after it is Up), not refused
      queued.add(request);
      return this;
    }
    changing = true;
    DesiredState base = desired.isEmpty() ? fromLocalTable() : desired;
    String source = url;
    getContext()
        .pipeToSelf(
            CompletableFuture.supplyAsync(() -> prepare(request, base, source), blocking),
            (prepared, failure) ->
                failure != null
                    ? new Prepared(request, null, "failed: " + rootMessage(failure), 500)
                    : prepared);
    return this;
  }

  /** Blocking (it reads the store): the next desired state for {@code request}, or the refusal. */
  private Prepared prepare(Command request, DesiredState base, String source) {
    Map<String, EndpointSpec> eps = new TreeMap<>(base.endpoints());
    Map<String, VersionSpec> versions = new TreeMap<>(base.versions());
    List<String> retired = new ArrayList<>(base.retired());
    String change;
    if (request instanceof Edit e) {
      EndpointSettings current =
          eps.containsKey(e.endpoint())
              ? eps.get(e.endpoint()).toSettings(base.generation())
              : null;
      EndpointSettings next;
      try {
        next = e.edit().apply(current, served);
      } catch (EndpointEdit.Refused r) {
        return new Prepared(request, null, r.getMessage(), r.status());
      } catch (IllegalArgumentException bad) {
        return new Prepared(request, null, bad.getMessage(), 400);
      }
      if (next == null) {
        eps.remove(e.endpoint());
        change = "endpoint " + e.endpoint() + " removed";
      } else {
        eps.put(e.endpoint(), EndpointSpec.of(next));
        change = EndpointRegistry.describe(next);
        for (String m : next.models()) {
          ModelRef ref = ModelRef.parse(m);
          if (ref.versioned() && !versions.containsKey(m)) {
            VersionSpec spec =
                specFromStore(ref.name(), ref.version(), ModelManager.PoolOverrides.NONE, source);
            if (spec == null) {
              return new Prepared(
                  request,
                  null,
                  m + " is not in this node's model store: upload it here first",
                  409);
            }
            versions.put(m, spec);
          }
          retired.remove(m);
        }
      }
    } else if (request instanceof LoadEverywhere l) {
      String m = ModelRef.of(l.name(), l.version());
      VersionSpec spec = specFromStore(l.name(), l.version(), l.pool(), source);
      if (spec == null) {
        return new Prepared(request, null, m + " is not in this node's model store", 404);
      }
      versions.put(m, spec);
      retired.remove(m);
      change = "load " + m;
    } else if (request instanceof RetireEverywhere r) {
      String m = ModelRef.of(r.name(), r.version());
      for (EndpointSpec e : eps.values()) {
        for (String member : e.models()) {
          String as =
              ModelRef.parse(member).versioned() ? member : ModelRef.of(member, served.get(member));
          if (m.equals(as)) {
            return new Prepared(
                request,
                null,
                m
                    + " is in endpoint "
                    + e.name()
                    + (member.equals(m) ? "" : " (as " + member + ")")
                    + "; take it out of the endpoint first",
                409);
          }
        }
      }
      if (!versions.containsKey(m)
          && specFromStore(r.name(), r.version(), ModelManager.PoolOverrides.NONE, source)
              == null) {
        return new Prepared(request, null, "no version " + r.version() + " of " + r.name(), 404);
      }
      versions.remove(m);
      if (!retired.contains(m)) {
        retired.add(m);
      }
      change = "retire " + m;
    } else {
      return new Prepared(request, null, "unknown request", 500);
    }
    DesiredState next = base.next(eps, versions, retired, nodeName, change);
    return new Prepared(request, next, null, 200);
  }

  /**
   * Blocking: the version as the desired state names it: its content hash (computed when its
   * metadata has none), this node as its source, and the hold-out accuracy measured here when this
   * node has loaded it (other nodes with the same files trust it; without it they measure).
   */
  private VersionSpec specFromStore(
      String name, String version, ModelManager.PoolOverrides pool, String source) {
    try {
      java.nio.file.Path dir = store.resolve(name, version);
      ModelMetadata m = ModelMetadata.read(dir);
      String hash =
          m.contentHash() != null
              ? m.contentHash()
              : io.rendezvous.workers.training.ContentHash.of(dir);
      Double measured = measuredHere(name, version);
      return new VersionSpec(
          name,
          version,
          hash,
          source == null ? List.of() : List.of(source),
          pool.workers(),
          pool.queueCapacity(),
          pool.maxBatchSize(),
          pool.maxBatchDelay() == null ? null : pool.maxBatchDelay().toNanos() / 1_000,
          measured);
    } catch (java.io.IOException | RuntimeException e) {
      return null;
    }
  }

  /** Blocking: the accuracy this node's manager measured for the version, or null. */
  private Double measuredHere(String name, String version) {
    try {
      ModelManager.Versions all =
          AskPattern.<ModelManager.Command, ModelManager.Versions>ask(
                  manager, ModelManager.ListVersions::new, admin.askTimeout(), system.scheduler())
              .toCompletableFuture()
              .get(admin.askTimeout().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
      return all.versions().stream()
          .filter(
              v ->
                  v.name().equals(name)
                      && v.version().equals(version)
                      && v.state() == ModelManager.State.READY
                      && !Double.isNaN(v.measuredAccuracy()))
          .map(ModelManager.VersionState::measuredAccuracy)
          .findFirst()
          .orElse(null);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** The first desired state: this node's table as it is, at a generation after it. */
  private DesiredState fromLocalTable() {
    Endpoints.Table t = endpoints.current();
    Map<String, EndpointSpec> eps = new LinkedHashMap<>();
    t.byName().forEach((n, e) -> eps.put(n, EndpointSpec.of(e)));
    return new DesiredState(t.generation(), Map.of(), List.of(), eps, nodeName, "configuration");
  }

  private Behavior<Command> onPrepared(Prepared p) {
    if (p.next() == null) {
      refuse(p.request(), p.status(), p.refusal());
      changing = false;
      return next();
    }
    DesiredState next = p.next();
    state.askUpdate(
        replyTo ->
            new Replicator.Update<>(
                STATE,
                LWWMap.create(),
                new Replicator.WriteAll(settings.writeTimeout()),
                replyTo,
                map -> {
                  // written over a state newer than the one it was made from: refused, and made
                  // again from what the map holds now
                  if (map.getEntries().get(DESIRED) instanceof DesiredState now
                      && now.generation() >= next.generation()) {
                    throw new IllegalStateException("the desired state moved on");
                  }
                  return map.put(self, DESIRED, next);
                }),
        r ->
            r instanceof Replicator.ModifyFailure<?>
                ? new Stale(p.request())
                : new Written(next, p.request(), r instanceof Replicator.UpdateSuccess));
    return this;
  }

  private Behavior<Command> onWritten(Written w) {
    changing = false;
    getContext()
        .getLog()
        .info(
            "cluster model state: generation {} written ({}){}",
            w.state().generation(),
            w.state().change(),
            w.everyone() ? "" : "; not every node has acknowledged it yet");
    if (w.state().generation() > desired.generation()) {
      desired = w.state();
    }
    EndpointSettings endpoint = null;
    if (w.request() instanceof Edit e && w.state().endpoints().containsKey(e.endpoint())) {
      endpoint = w.state().endpoints().get(e.endpoint()).toSettings(w.state().generation());
    }
    waiters.add(
        new Waiter(
            w.state().generation(),
            w.request(),
            endpoint,
            System.nanoTime() + settings.applyTimeout().toNanos()));
    reconcile();
    settleWaiters();
    return next();
  }

  private Behavior<Command> next(Behavior<Command> ignored) {
    return next();
  }

  private Behavior<Command> next() {
    while (!changing && !queued.isEmpty()) {
      onRequest(queued.poll());
    }
    return this;
  }

  /** Where each Up member stands, by cluster address (this node's own from here). */
  private Map<String, Applied> nodesNow() {
    Map<String, Applied> nodes = new TreeMap<>();
    for (org.apache.pekko.cluster.Member m :
        Cluster.get(getContext().getSystem()).state().getMembers()) {
      if (m.status() != MemberStatus.up()) {
        continue;
      }
      String member = m.address().toString();
      Applied a =
          member.equals(selfKey) ? new Applied(appliedHere, url, null) : applied.get(member);
      nodes.put(member, a == null ? new Applied(0, null, "no report yet") : a);
    }
    return nodes;
  }

  /** Answers every change that every Up member has applied, or whose time is up. */
  private void settleWaiters() {
    if (waiters.isEmpty()) {
      return;
    }
    Set<String> up =
        java.util.stream.StreamSupport.stream(
                Cluster.get(getContext().getSystem()).state().getMembers().spliterator(), false)
            .filter(m -> m.status() == MemberStatus.up())
            .map(m -> m.address().toString())
            .collect(Collectors.toSet());
    long now = System.nanoTime();
    for (var it = waiters.iterator(); it.hasNext(); ) {
      Waiter w = it.next();
      Map<String, Applied> nodes = new TreeMap<>();
      boolean all = true;
      for (String member : up) {
        Applied a =
            member.equals(selfKey) ? new Applied(appliedHere, url, null) : applied.get(member);
        nodes.put(member, a == null ? new Applied(0, null, "no report yet") : a);
        all &= a != null && a.generation() >= w.generation();
      }
      if (all || now - w.deadlineNanos() >= 0) {
        it.remove();
        reply(
            w.request(),
            new Outcome(
                all ? 200 : 202,
                all
                    ? "applied on every node"
                    : "not applied on every node within "
                        + settings.applyTimeout().toSeconds()
                        + " s",
                w.generation(),
                w.endpoint(),
                nodes));
      }
    }
  }

  private void refuse(Command request, int status, String why) {
    reply(request, new Outcome(status, why, desired.generation(), null, Map.of()));
  }

  private static void reply(Command request, Outcome o) {
    if (request instanceof Edit e) {
      e.replyTo().tell(o);
    } else if (request instanceof LoadEverywhere l) {
      l.replyTo().tell(o);
    } else if (request instanceof RetireEverywhere r) {
      r.replyTo().tell(o);
    }
  }

  private static <T> CompletionStage<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + ": " + t.getMessage();
  }

  /** Used by tests: the versions each node has applied, as last seen here. */
  Map<String, Applied> applied() {
    return new HashMap<>(applied);
  }
}
