package io.rendezvous.node;

import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.edge.InputDecoder;
import java.util.Map;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * A route added to a node's HTTP API by whoever starts the node (the bench adds its ceiling route),
 * built from the same parts as the node's own routes so that it is served the same way.
 */
@FunctionalInterface
public interface RouteExtension {
  Route route(HttpParts parts);

  /** What an added route may use: the node's edge, input decoder, endpoints and name. */
  record HttpParts(
      HttpEdge edge, InputDecoder decoder, Map<String, EndpointSettings> endpoints, String node) {}
}
