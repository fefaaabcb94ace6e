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

  private record Available(Change change, EndpointSettings next, Throwable failure)
      implements Command {}

  private final Endpoints endpoints;
  private final WorkerDirectory directory;
  private final ActorRef<ModelDirectory.Command> watcher;
  private final Map<String, String> served;
  private final Duration memberTimeout;
  private final Journal journal;
  private final String node;
  private final ArrayDeque<Change> waiting = new ArrayDeque<>();
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
      String node) {
    return Behaviors.setup(
        ctx ->
            new EndpointRegistry(
                ctx, endpoints, directory, watcher, served, memberTimeout, journal, node));
  }

  private EndpointRegistry(
      ActorContext<Command> ctx,
      Endpoints endpoints,
      WorkerDirectory directory,
      ActorRef<ModelDirectory.Command> watcher,
      Map<String, String> served,
      Duration memberTimeout,
      Journal journal,
      String node) {
    super(ctx);
    this.journal = journal;
    this.node = node;
    this.endpoints = endpoints;
    this.directory = directory;
    this.watcher = watcher;
    this.served = Map.copyOf(served);
    this.memberTimeout = memberTimeout;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Change.class, this::onChange)
        .onMessage(Available.class, this::onAvailable)
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
    while (!busy && !waiting.isEmpty()) {
      onChange(waiting.poll());
    }
    return this;
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
    if (!journal.offerLazily(
        new JournalRecord.Lifecycle(
            "lifecycle-" + node + "-endpoints-" + generation,
            node,
            c.endpoint(),
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
