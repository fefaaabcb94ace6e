package io.rendezvous.workers;

import java.util.ArrayList;
import java.util.Collection;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * Keeps a {@link WorkerDirectory} in step with the Receptionist's listings for the given models.
 */
public final class ModelDirectory {
  private ModelDirectory() {}

  public static Behavior<Receptionist.Listing> create(
      WorkerDirectory directory, Collection<String> models) {
    return Behaviors.setup(
        ctx -> {
          for (String model : models) {
            ctx.getSystem()
                .receptionist()
                .tell(Receptionist.subscribe(ModelPool.serviceKey(model), ctx.getSelf()));
          }
          return Behaviors.receiveMessage(
              listing -> {
                String model = listing.getKey().id().substring("rendezvous-model-".length());
                directory.update(
                    model,
                    new ArrayList<>(listing.getServiceInstances(ModelPool.serviceKey(model))));
                return Behaviors.same();
              });
        });
  }
}
