package io.rendezvous.actors;

import io.rendezvous.journal.Journal;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.workers.ModelDirectory;
import io.rendezvous.workers.WorkerDirectory;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The one owner of this node's {@link Endpoints}: applies each {@link EndpointEdit} to the current
 * table and publishes the result as the next generation, one change at a time. Before a change that
 * brings a model into an endpoint is published, the pools of that model are watched and must be
 * listed somewhere ({@code memberTimeout}), so that no request of the new generation finds a model
 * without a worker because of the change; if they are not, the change is refused and the table
 * stays as it was.
 */
public final class EndpointRegistry extends AbstractBehavior<EndpointRegistry.Command> {

  public sealed interface Command {}

  /** Apply {@code edit} to endpoint {@code endpoint}. */
  public record Change(String endpoint, EndpointEdit edit, ActorRef<Changed> replyTo)
      implements Command {}

  /**
   * What became of a change: {@code status} 200 with the endpoint as it is now ({@code null} when
   * removed) and the table's generation, or the status of the refusal and why.
   */
  public record Changed(int status, String detail, long generation, EndpointSettings endpoint) {
    public boolean ok() {
      return status == 200;
    }
  }

  /**
   * About to retire {@code version} of {@code model}: answered 200 when no endpoint names it (by
   * version, or by name while it is the version served under the name), and from then on no change
   * may bring it into an endpoint until it is {@link Release}d; 409 with where it is named.
   */
  public record Reserve(String model, String version, ActorRef<Changed> replyTo)
      implements Command {}

  /**
   * Replace the whole table with {@code endpoints}, as generation {@code generation} (the cluster's
   * desired state, applied on this node); answered once published, or refused as a whole.
   */
  public record ReplaceAll(
      long generation, Map<String, EndpointSettings> endpoints, ActorRef<Changed> replyTo)
      implements Command {}

  private record AllAvailable(ReplaceAll replace, Throwable failure) implements Command {}

  /** The retirement of {@code version} of {@code model} is over (whatever became of it). */
  public record Release(String model, String version) implements Command {}

  private record Available(Change change, EndpointSettings next, Throwable failure)
      implements Command {}

  private final Endpoints endpoints;
  private final WorkerDirectory directory;
  private final ActorRef<ModelDirectory.Command> watcher;
  private final Map<String, String> served;
  private final Duration memberTimeout;
  private final Journal journal;
  private final String node;
  private final CanaryComparison canaries;

  /** Tells this run's lifecycle records from an earlier run's: generations start at 1 each run. */
  private final String run = Long.toString(System.currentTimeMillis(), 36);

  private final ArrayDeque<Command> waiting = new ArrayDeque<>();
  private final Set<String> retiring = new HashSet<>();
  private boolean busy;

  /**
   * An owner of {@code endpoints}, watching new members through {@code watcher}; {@code served}:
   * the version this node serves under each model's name.
   */
  public static Behavior<Command> create(
      Endpoints endpoints,
      WorkerDirectory directory,
      ActorRef<ModelDirectory.Command> watcher,
      Map<String, String> served,
      Duration memberTimeout,
      Journal journal,
      String node,
      CanaryComparison canaries) {
    return Behaviors.setup(
        ctx ->
            new EndpointRegistry(
                ctx,
                endpoints,
                directory,
                watcher,
                served,
                memberTimeout,
                journal,
                node,
                canaries));
  }

  private EndpointRegistry(
      ActorContext<Command> ctx,
      Endpoints endpoints,
      WorkerDirectory directory,
      ActorRef<ModelDirectory.Command> watcher,
      Map<String, String> served,
      Duration memberTimeout,
      Journal journal,
      String node,
      CanaryComparison canaries) {
    super(ctx);
    this.journal = journal;
    this.node = node;
    this.canaries = canaries;
    this.endpoints = endpoints;
    this.directory = directory;
    this.watcher = watcher;
    this.served = Map.copyOf(served);
    this.memberTimeout = memberTimeout;
    // the table the node starts with is a generation too: the journal explains its answers as well
    Endpoints.Table first = endpoints.current();
    first.byName().values().stream()
        .sorted(java.util.Comparator.comparing(EndpointSettings::name))
        .forEach(e -> journalGeneration(first.generation(), e.name(), describe(e)));
  }

  private void journalGeneration(long generation, String endpoint, String what) {
    if (!journal.offerLazily(
        new JournalRecord.Lifecycle(
            "lifecycle-" + node + "-" + run + "-endpoints-" + generation + "-" + endpoint,
            node,
            endpoint,
            JournalRecord.nowMicros(),
            "endpoint-changed",
            null,
            null,
            generation,
            what),
        null)) {
      getContext()
          .getLog()
          .warn("endpoints: generation {} not journaled (journal refuses records)", generation);
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Change.class, this::onChange)
        .onMessage(Available.class, this::onAvailable)
        .onMessage(Reserve.class, this::onReserve)
        .onMessage(ReplaceAll.class, this::onReplaceAll)
        .onMessage(AllAvailable.class, this::onAllAvailable)
        .onMessage(
            Release.class,
            r -> {
              retiring.remove(io.rendezvous.model.ModelRef.of(r.model(), r.version()));
              return this;
            })
        .build();
  }

  private Behavior<Command> onChange(Change c) {
    if (busy) {
      // one change at a time: each applies to the table the one before it published
      waiting.add(c);
      return this;
    }
    EndpointSettings current = endpoints.current().byName().get(c.endpoint());
    EndpointSettings next;
    try {
      next = c.edit().apply(current, served);
    } catch (EndpointEdit.Refused r) {
      c.replyTo().tell(new Changed(r.status(), r.getMessage(), endpoints.generation(), current));
      return this;
    } catch (IllegalArgumentException invalid) {
      c.replyTo().tell(new Changed(400, invalid.getMessage(), endpoints.generation(), current));
      return this;
    }
    if (next != null && !next.name().equals(c.endpoint())) {
      c.replyTo()
          .tell(
              new Changed(
                  400,
                  "endpoint '" + next.name() + "' given for '" + c.endpoint() + "'",
                  endpoints.generation(),
                  current));
      return this;
    }
    if (next != null && current != null && sameMembersAndRules(current, next)) {
      c.replyTo().tell(new Changed(200, "unchanged", endpoints.generation(), current));
      return this;
    }
    Set<String> joining = new HashSet<>(next == null ? Set.of() : next.models());
    if (current != null) {
      joining.removeAll(current.models());
    }
    for (String m : joining) {
      if (retiring.contains(m) || retiring.contains(servedAs(m))) {
        c.replyTo()
            .tell(new Changed(409, m + " is being retired", endpoints.generation(), current));
        return this;
      }
    }
    if (joining.isEmpty()) {
      publish(c, next);
      return this;
    }
    watcher.tell(new ModelDirectory.Watch(joining));
    busy = true;
    getContext()
        .pipeToSelf(
            directory.whenAvailable(joining, memberTimeout),
            (ok, failure) -> new Available(c, next, failure));
    return this;
  }

  private Behavior<Command> onReplaceAll(ReplaceAll r) {
    if (busy) {
      waiting.add(r);
      return this;
    }
    Set<String> joining = new HashSet<>();
    Set<String> before = new HashSet<>();
    endpoints.current().byName().values().forEach(e -> before.addAll(e.models()));
    r.endpoints().values().forEach(e -> joining.addAll(e.models()));
    joining.removeAll(before);
    for (String m : joining) {
      if (retiring.contains(m) || retiring.contains(servedAs(m))) {
        r.replyTo().tell(new Changed(409, m + " is being retired", endpoints.generation(), null));
        return this;
      }
    }
    if (joining.isEmpty()) {
      replaceAll(r);
      return this;
    }
    watcher.tell(new ModelDirectory.Watch(joining));
    busy = true;
    getContext()
        .pipeToSelf(
            directory.whenAvailable(joining, memberTimeout),
            (ok, failure) -> new AllAvailable(r, failure));
    return this;
  }

  private Behavior<Command> onAllAvailable(AllAvailable a) {
    busy = false;
    if (a.failure() != null) {
      a.replace()
          .replyTo()
          .tell(
              new Changed(
                  409,
                  "no pool of a model the table names within " + memberTimeout.toMillis() + " ms",
                  endpoints.generation(),
                  null));
    } else {
      replaceAll(a.replace());
    }
    return onAvailableDrain();
  }

  /** The changes that waited while one was being made, in order, until one has to wait again. */
  private Behavior<Command> onAvailableDrain() {
    while (!busy && !waiting.isEmpty()) {
      Command next = waiting.poll();
      if (next instanceof Change c) {
        onChange(c);
      } else if (next instanceof Reserve r) {
        onReserve(r);
      } else if (next instanceof ReplaceAll r) {
        onReplaceAll(r);
      }
    }
    return this;
  }

  private void replaceAll(ReplaceAll r) {
    Endpoints.Table before = endpoints.current();
    // the cluster's generation when it is ahead of this node's, else the next one here
    long generation = Math.max(r.generation(), before.generation() + 1);
    if (r.generation() <= before.generation() && sameTable(before, r.endpoints())) {
      r.replyTo().tell(new Changed(200, "unchanged", before.generation(), null));
      return;
    }
    endpoints.publish(Endpoints.stamped(generation, r.endpoints()));
    for (EndpointSettings e : endpoints.current().byName().values()) {
      journalGeneration(generation, e.name(), describe(e));
    }
    for (String gone : before.byName().keySet()) {
      if (!r.endpoints().containsKey(gone)) {
        journalGeneration(generation, gone, "endpoint " + gone + " removed");
      }
    }
    getContext()
        .getLog()
        .info(
            "endpoints: generation {} from the cluster's desired state: {}",
            generation,
            endpoints.current().byName().values().stream()
                .map(EndpointRegistry::describe)
                .toList());
    canaries.retainOnly(endpoints.current().byName());
    r.replyTo().tell(new Changed(200, "generation " + generation, generation, null));
  }

  private static boolean sameTable(Endpoints.Table t, Map<String, EndpointSettings> next) {
    if (!t.byName().keySet().equals(next.keySet())) {
      return false;
    }
    for (Map.Entry<String, EndpointSettings> e : next.entrySet()) {
      if (!sameMembersAndRules(t.byName().get(e.getKey()), e.getValue())) {
        return false;
      }
    }
    return true;
  }

  /** {@code m3@1} for a member {@code m3} the node serves as version 1; the member otherwise. */
  private String servedAs(String member) {
    io.rendezvous.model.ModelRef ref = io.rendezvous.model.ModelRef.parse(member);
    String v = ref.versioned() ? null : served.get(ref.name());
    return v == null ? member : io.rendezvous.model.ModelRef.of(ref.name(), v);
  }

  private Behavior<Command> onReserve(Reserve r) {
    if (busy) {
      waiting.add(r);
      return this;
    }
    String member = io.rendezvous.model.ModelRef.of(r.model(), r.version());
    for (EndpointSettings e : endpoints.current().byName().values()) {
      for (String m : e.models()) {
        if (m.equals(member) || servedAs(m).equals(member)) {
          r.replyTo()
              .tell(
                  new Changed(
                      409,
                      member
                          + " is "
                          + e.role(m).wireName()
                          + " in endpoint "
                          + e.name()
                          + (m.equals(member) ? "" : " (as " + m + ")")
                          + "; take it out of the endpoint first",
                      endpoints.generation(),
                      e));
          return this;
        }
      }
    }
    retiring.add(member);
    r.replyTo().tell(new Changed(200, "reserved", endpoints.generation(), null));
    return this;
  }

  private Behavior<Command> onAvailable(Available a) {
    busy = false;
    if (a.failure() != null) {
      Set<String> missing =
          a.next().models().stream()
              .filter(m -> !directory.available().contains(m))
              .collect(Collectors.toCollection(java.util.TreeSet::new));
      a.change()
          .replyTo()
          .tell(
              new Changed(
                  409,
                  "no pool of "
                      + missing
                      + " on any node within "
                      + memberTimeout.toMillis()
                      + " ms: load the version first",
                  endpoints.generation(),
                  endpoints.current().byName().get(a.change().endpoint())));
    } else {
      publish(a.change(), a.next());
    }
    return onAvailableDrain();
  }

  private void publish(Change c, EndpointSettings next) {
    Endpoints.Table before = endpoints.current();
    long generation = before.generation() + 1;
    Map<String, EndpointSettings> byName = new LinkedHashMap<>(before.byName());
    if (next == null) {
      byName.remove(c.endpoint());
    } else {
      byName.put(c.endpoint(), next);
    }
    endpoints.publish(Endpoints.stamped(generation, byName));
    EndpointSettings now = endpoints.current().byName().get(c.endpoint());
    String what = now == null ? "endpoint " + c.endpoint() + " removed" : describe(now);
    getContext().getLog().info("endpoints: generation {}: {}", generation, what);
    // every answer names its generation: the journal says what each generation was
    journalGeneration(generation, c.endpoint(), what);
    canaries.retainOnly(endpoints.current().byName());
    c.replyTo().tell(new Changed(200, "generation " + generation, generation, now));
  }

  private static boolean sameMembersAndRules(EndpointSettings a, EndpointSettings b) {
    return a.withGeneration(0).equals(b.withGeneration(0));
  }

  /** One line: each member with its role (and a live one's offset), the policy and the SLA. */
  public static String describe(EndpointSettings e) {
    StringBuilder out = new StringBuilder("endpoint ").append(e.name()).append(':');
    for (String m : e.models()) {
      out.append(' ').append(m).append(' ').append(e.role(m).wireName());
      int k = e.stageOf(m);
      if (k >= 0) {
        out.append(" from ").append(e.schedule().get(k).after().toMillis()).append(" ms");
      }
      out.append(',');
    }
    return out.append(" policy ")
        .append(e.policy().name())
        .append(", sla ")
        .append(e.sla().toMillis())
        .append(" ms")
        .toString();
  }
}
