package io.rendezvous.node;

import io.rendezvous.grpc.v2.GRPCInferenceServicePowerApiHandlerFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.Uri;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's HTTP side: its routes bound on the configured address with JSON rejections and errors,
 * Pekko Management's cluster routes, and both taken down through CoordinatedShutdown (the node
 * reports not ready, stops accepting, and lets requests in flight finish within the drain timeout).
 */
final class HttpServer {
  private static final Logger log = LoggerFactory.getLogger(HttpServer.class);

  private HttpServer() {}

  /** The bound API, the base URI of the management routes, and gRPC's binding (null when off). */
  record Bound(ServerBinding binding, Uri management, ServerBinding grpc) {}

  static Bound start(
      ActorSystem<?> system,
      HttpSettings http,
      List<Route> routes,
      java.util.function.UnaryOperator<NodeMetrics.Handler> measured,
      Readiness readiness,
      Duration startupTimeout,
      GrpcSettings grpc,
      GrpcInference grpcService)
      throws Exception {
    long timeout = startupTimeout.toMillis();
    ServerBinding binding =
        Http.get(system)
            .newServerAt(http.host(), http.port())
            .bind(measured.apply(new Api(routes).route().handler(system)::apply))
            .toCompletableFuture()
            .get(timeout, TimeUnit.MILLISECONDS);
    Uri management =
        PekkoManagement.get(system.classicSystem())
            .start()
            .toCompletableFuture()
            .get(timeout, TimeUnit.MILLISECONDS);
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseBeforeServiceUnbind(),
            "rendezvous-not-ready",
            () -> {
              readiness.stopping();
              return CompletableFuture.completedFuture(Done.getInstance());
            });
    binding.addToCoordinatedShutdown(http.drainTimeout(), system);
    ServerBinding grpcBinding = null;
    if (grpc.enabled()) {
      // HTTP/2 on this binding only: the REST port keeps its HTTP/1.1 pipeline as it was measured
      grpcBinding =
          Http.get(system)
              .newServerAt(http.host(), grpc.port())
              .withSettings(ServerSettings.create(system.classicSystem()).withEnableHttp2(true))
              .bind(
                  grpc.reflection()
                      ? GRPCInferenceServicePowerApiHandlerFactory.createWithServerReflection(
                          grpcService, system)
                      : GRPCInferenceServicePowerApiHandlerFactory.create(grpcService, system))
              .toCompletableFuture()
              .get(timeout, TimeUnit.MILLISECONDS);
      grpcBinding.addToCoordinatedShutdown(http.drainTimeout(), system);
      log.info("gRPC (Open Inference Protocol) on {}", grpcBinding.localAddress());
    }
    return new Bound(binding, management, grpcBinding);
  }

  /** Joins the routes with JSON rejections and errors. */
  private static final class Api extends AllDirectives {
    private final List<Route> routes;

    Api(List<Route> routes) {
      this.routes = List.copyOf(routes);
    }

    Route route() {
      RejectionHandler rejections =
          RejectionHandler.defaultHandler()
              .mapRejectionResponse(
                  response -> {
                    if (response
                        .entity()
                        .getContentType()
                        .mediaType()
                        .equals(MediaTypes.APPLICATION_JSON)) {
                      return response;
                    }
                    String text =
                        response.entity() instanceof HttpEntity.Strict s
                            ? s.getData().utf8String()
                            : response.status().reason();
                    return HttpJson.error(response.status().intValue(), text);
                  });
      ExceptionHandler errors =
          ExceptionHandler.newBuilder()
              .matchAny(e -> complete(HttpJson.internalError(log, "a request", e)))
              .build();
      Route[] all = routes.toArray(Route[]::new);
      return handleExceptions(
          errors,
          () ->
              handleRejections(
                  rejections, () -> concat(all[0], Arrays.copyOfRange(all, 1, all.length))));
    }
  }
}
