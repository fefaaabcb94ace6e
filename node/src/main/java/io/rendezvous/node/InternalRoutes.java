package io.rendezvous.node;

import io.rendezvous.model.ModelStore;
import java.io.ByteArrayOutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What nodes ask of each other over HTTP, behind {@code rendezvous.auth.internal}'s tokens: {@code
 * GET /internal/models/{name}/versions/{v}/archive}, a version of this node's store as a gzipped
 * tar (a node that lacks a version the cluster wants fetches it so, and checks its content hash).
 */
final class InternalRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(InternalRoutes.class);

  private final ModelStore store;
  private final BearerAuth auth;
  private final Materializer materializer;
  private final boolean loopbackOnly;
  private final Executor blocking;

  InternalRoutes(
      ModelStore store,
      BearerAuth auth,
      Materializer materializer,
      boolean loopbackOnly,
      Executor blocking) {
    this.store = store;
    this.auth = auth;
    this.materializer = materializer;
    this.loopbackOnly = loopbackOnly;
    this.blocking = blocking;
  }

  Route routes() {
    return pathPrefix(
        "internal",
        () ->
            auth.requireInternal(
                materializer,
                loopbackOnly,
                () ->
                    pathPrefix(
                        "models",
                        () ->
                            pathPrefix(
                                name ->
                                    pathPrefix(
                                        "versions",
                                        () ->
                                            pathPrefix(
                                                version ->
                                                    path(
                                                        "archive",
                                                        () ->
                                                            get(
                                                                () ->
                                                                    completeWithFuture(
                                                                        archive(
                                                                            name, version))))))))));
  }

  private CompletionStage<HttpResponse> archive(String name, String version) {
    return CompletableFuture.supplyAsync(
        () -> {
          java.nio.file.Path dir;
          try {
            dir = store.resolve(name, version);
          } catch (IllegalArgumentException bad) {
            return HttpJson.error(400, bad.getMessage());
          } catch (java.io.IOException missing) {
            return HttpJson.error(404, "no version " + version + " of " + name + " in this store");
          }
          try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ModelArchive.pack(dir, out);
            log.info("sent {}@{} to a node ({} bytes)", name, version, out.size());
            return HttpResponse.create()
                .withEntity(
                    HttpEntities.create(ContentTypes.APPLICATION_OCTET_STREAM, out.toByteArray()));
          } catch (java.io.IOException | RuntimeException e) {
            return HttpJson.internalError(log, "packing " + name + "@" + version, e);
          }
        },
        blocking);
  }
}
