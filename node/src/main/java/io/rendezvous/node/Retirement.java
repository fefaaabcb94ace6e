package io.rendezvous.node;

import io.rendezvous.actors.EndpointRegistry;
import io.rendezvous.workers.ModelManager;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * Retiring a version, as one step against endpoint changes: the endpoint registry first reserves it
 * (refused while an endpoint names it, and no change may bring it in meanwhile), then the model
 * manager drains and closes it, then the reservation is released.
 */
final class Retirement {
  private Retirement() {}

  /**
   * What became of it: {@code refusal} (409: an endpoint names it) or the version's state after the
   * retirement.
   */
  record Result(String refusal, ModelManager.VersionState state) {}

  static CompletionStage<Result> retire(
      ActorSystem<?> system,
      AdminRoutes.Parts parts,
      Duration timeout,
      String model,
      String version) {
    return AskPattern.<EndpointRegistry.Command, EndpointRegistry.Changed>ask(
            parts.registry(),
            replyTo -> new EndpointRegistry.Reserve(model, version, replyTo),
            timeout,
            system.scheduler())
        .thenCompose(
            reserved -> {
              if (!reserved.ok()) {
                return CompletableFuture.completedFuture(new Result(reserved.detail(), null));
              }
              return AskPattern.<ModelManager.Command, ModelManager.VersionState>ask(
                      parts.manager(),
                      replyTo -> new ModelManager.Retire(model, version, replyTo),
                      timeout,
                      system.scheduler())
                  .whenComplete(
                      (s, failure) ->
                          parts.registry().tell(new EndpointRegistry.Release(model, version)))
                  .thenApply(s -> new Result(null, s));
            });
  }
}
