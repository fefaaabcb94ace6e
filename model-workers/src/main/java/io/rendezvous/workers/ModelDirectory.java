package io.rendezvous.workers;

import io.rendezvous.model.ModelRef;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * Keeps a {@link WorkerDirectory} in step with the Receptionist's listings of the models endpoints
 * name, each as a {@link ModelRef} writes it: {@code m3@2} (the pools of that version) or {@code
 * m3} (the pools serving under the name). Told to {@link Watch} more as endpoints change.
 */
public final class ModelDirectory {
  private ModelDirectory() {}

  public sealed interface Command {}

  /** Keep the pools of these members listed too (already watched ones are left as they are). */
  public record Watch(Collection<String> members) implements Command {}

  private record Listed(Receptionist.Listing listing) implements Command {}

  /** The Receptionist's key for a member. */
  public static ServiceKey<ModelPool.Command> keyOf(String member) {
    ModelRef ref = ModelRef.parse(member);
    return ref.versioned()
        ? ModelPool.serviceKey(ref.name(), ref.version())
        : ModelPool.serviceKey(ref.name());
  }

  public static Behavior<Command> create(WorkerDirectory directory, Collection<String> members) {
    return Behaviors.setup(
        ctx -> {
          ActorRef<Receptionist.Listing> listings =
              ctx.messageAdapter(Receptionist.Listing.class, Listed::new);
          Map<String, String> memberByKey = new HashMap<>();
          java.util.function.Consumer<Collection<String>> watch =
              ms -> {
                for (String m : ms) {
                  ServiceKey<ModelPool.Command> key = keyOf(m);
                  if (memberByKey.putIfAbsent(key.id(), m) == null) {
                    ctx.getSystem().receptionist().tell(Receptionist.subscribe(key, listings));
                  }
                }
              };
          watch.accept(members);
          return Behaviors.receive(Command.class)
              .onMessage(
                  Watch.class,
                  w -> {
                    watch.accept(w.members());
                    return Behaviors.same();
                  })
              .onMessage(
                  Listed.class,
                  l -> {
                    String member = memberByKey.get(l.listing().getKey().id());
                    if (member != null) {
                      directory.update(
                          member, new ArrayList<>(l.listing().getServiceInstances(keyOf(member))));
                    }
                    return Behaviors.same();
                  })
              .build();
        });
  }
}
