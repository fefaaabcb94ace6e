package io.rendezvous.node;

import io.rendezvous.actors.edge.TraceContext;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The W3C trace context of a prediction request: the caller's {@code traceparent} continued with a
 * span of this node's (or a new trace), given to the route that serves the request, so that its
 * journal records keep it, and returned on every response of the route, errors included.
 */
final class Traced extends AllDirectives {
  private static final Traced INSTANCE = new Traced();

  private Traced() {}

  static Route traced(Function<String, Route> inner) {
    return INSTANCE.route(inner);
  }

  private Route route(Function<String, Route> inner) {
    return optionalHeaderValueByName(
        TraceContext.HEADER,
        incoming -> {
          String traceparent = TraceContext.continueOrStart(incoming.orElse(null));
          return respondWithHeader(
              RawHeader.create(TraceContext.HEADER, traceparent), () -> inner.apply(traceparent));
        });
  }
}
