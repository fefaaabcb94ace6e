package io.rendezvous.node;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small request body read whole (up to a cap, within a time) before its handler sees it: what the
 * admin API, corrections and Slack commands take. A body over the cap is 413 with the cap; one that
 * cannot be read, 400; a failure of the handler, the server's 500 with an error id.
 */
final class StrictBody {
  private static final Logger log = LoggerFactory.getLogger(StrictBody.class);

  private StrictBody() {}

  /** The route that reads the body and answers what {@code handler} makes of its bytes. */
  static Route route(
      ActorSystem<?> system,
      Duration timeout,
      long maxBytes,
      Logger handlerLog,
      String what,
      Function<byte[], CompletionStage<HttpResponse>> handler) {
    return Directives.extractRequestEntity(
        entity ->
            Directives.completeWithFuture(
                entity
                    .toStrict(timeout.toMillis(), maxBytes, system)
                    .handle(
                        (strict, unread) ->
                            unread != null
                                ? CompletableFuture.completedFuture(unreadable(unread))
                                : handler
                                    .apply(strict.getData().toArray())
                                    // a failure past the body is the server's, not the request's
                                    .exceptionally(
                                        e -> HttpJson.internalError(handlerLog, what, e)))
                    .thenCompose(r -> r)));
  }

  /** A body over the cap is a 413 with the cap; anything else that stops the read, a 400. */
  static HttpResponse unreadable(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && !(t instanceof EntityStreamSizeException)) {
      t = t.getCause();
    }
    if (t instanceof EntityStreamSizeException size) {
      return HttpJson.error(
          413, "the body is larger than this route takes: " + size.limit() + " bytes at most");
    }
    log.debug("body not read", e);
    return HttpJson.error(400, "the body could not be read");
  }
}
