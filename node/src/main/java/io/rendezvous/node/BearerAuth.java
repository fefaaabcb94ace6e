package io.rendezvous.node;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.rendezvous.actors.edge.Json;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;

/**
 * Optional bearer-token authentication of the inference routes, per endpoint ({@code
 * rendezvous.auth}). An endpoint with tokens refuses a request without one of them with 401 and a
 * JSON body; an endpoint without tokens is open. Tokens are compared in constant time (as SHA-256
 * digests, so their lengths do not show either) and never logged or echoed.
 */
public final class BearerAuth {
  private final Map<String, List<byte[]>> digestsByEndpoint;
  private final List<byte[]> allEndpoints;
  private final List<byte[]> admin;
  private final List<byte[]> internal;
  private final List<String> internalTokens;
  private final List<byte[]> feedback;

  BearerAuth(Map<String, List<String>> byEndpoint, List<String> allEndpoints) {
    this(byEndpoint, allEndpoints, List.of());
  }

  BearerAuth(Map<String, List<String>> byEndpoint, List<String> allEndpoints, List<String> admin) {
    this(byEndpoint, allEndpoints, admin, List.of());
  }

  BearerAuth(
      Map<String, List<String>> byEndpoint,
      List<String> allEndpoints,
      List<String> admin,
      List<String> internal) {
    this(byEndpoint, allEndpoints, admin, internal, List.of());
  }

  BearerAuth(
      Map<String, List<String>> byEndpoint,
      List<String> allEndpoints,
      List<String> admin,
      List<String> internal,
      List<String> feedback) {
    Map<String, List<byte[]>> m = new HashMap<>();
    byEndpoint.forEach((endpoint, tokens) -> m.put(endpoint, digests(tokens)));
    this.digestsByEndpoint = Map.copyOf(m);
    this.allEndpoints = digests(allEndpoints);
    this.admin = digests(admin);
    this.internal = digests(internal);
    this.internalTokens = List.copyOf(internal);
    this.feedback = digests(feedback);
  }

  /** The tokens this node sends to other nodes' internal routes (the first is used). */
  List<String> internalTokens() {
    return internalTokens;
  }

  /**
   * {@code rendezvous.auth.tokens.<endpoint>} (a list, or one comma-separated string as an
   * environment variable gives it) and {@code rendezvous.auth.all-endpoints} for every endpoint
   * without its own; {@code rendezvous.auth.admin} for the admin routes ({@code /admin/...}).
   */
  public static BearerAuth fromConfig(Config root) {
    Config c = root.getConfig("rendezvous.auth");
    Map<String, List<String>> byEndpoint = new HashMap<>();
    for (Map.Entry<String, ConfigValue> e : c.getObject("tokens").entrySet()) {
      byEndpoint.put(e.getKey(), tokens(e.getValue(), "rendezvous.auth.tokens." + e.getKey()));
    }
    return new BearerAuth(
        byEndpoint,
        tokens(c.getValue("all-endpoints"), "rendezvous.auth.all-endpoints"),
        tokens(c.getValue("admin"), "rendezvous.auth.admin"),
        tokens(c.getValue("internal"), "rendezvous.auth.internal"),
        tokens(c.getValue("feedback"), "rendezvous.auth.feedback"));
  }

  private static List<String> tokens(ConfigValue v, String key) {
    List<String> out = new ArrayList<>();
    if (v.valueType() == ConfigValueType.LIST) {
      for (Object o : (List<?>) v.unwrapped()) {
        out.add(String.valueOf(o).trim());
      }
    } else if (v.valueType() == ConfigValueType.STRING) {
      for (String t : ((String) v.unwrapped()).split(",")) {
        out.add(t.trim());
      }
    } else {
      throw new IllegalArgumentException(key + ": a list of tokens or a comma-separated string");
    }
    out.removeIf(String::isEmpty);
    return List.copyOf(out);
  }

  private static List<byte[]> digests(List<String> tokens) {
    return tokens.stream().map(t -> sha256(t.getBytes(StandardCharsets.UTF_8))).toList();
  }

  private static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** A version of a model ({@code m3@2}) takes the model's tokens. */
  private List<byte[]> tokensFor(String endpoint) {
    int at = endpoint.indexOf('@');
    String name = at < 0 ? endpoint : endpoint.substring(0, at);
    return digestsByEndpoint.getOrDefault(name, allEndpoints);
  }

  /** Whether a request to {@code endpoint} with this Authorization header may go on. */
  boolean allows(String endpoint, Optional<String> authorization) {
    return allows(tokensFor(endpoint), authorization);
  }

  private static boolean allows(List<byte[]> accepted, Optional<String> authorization) {
    if (accepted.isEmpty()) {
      return true;
    }
    if (authorization.isEmpty() || !authorization.get().regionMatches(true, 0, "Bearer ", 0, 7)) {
      return false;
    }
    byte[] given = sha256(authorization.get().substring(7).trim().getBytes(StandardCharsets.UTF_8));
    boolean ok = false;
    for (byte[] t : accepted) {
      // every token compared, so the time does not say which one matched
      ok |= MessageDigest.isEqual(t, given);
    }
    return ok;
  }

  /**
   * {@code inner} when the request may reach {@code endpoint}; otherwise 401 with a JSON body and a
   * Bearer challenge, its body discarded unread.
   */
  Route require(String endpoint, Materializer materializer, Supplier<Route> inner) {
    return require("endpoint '" + endpoint + "'", tokensFor(endpoint), materializer, inner);
  }

  /**
   * The same for the admin routes, with {@code rendezvous.auth.admin}'s tokens. Without admin
   * tokens the admin API is open only on a node whose HTTP binds a loopback address ({@code
   * loopbackOnly}): anywhere else it fails closed, 403, since loading, retiring and routing models
   * must not be open to whoever reaches the port.
   */
  Route requireAdmin(Materializer materializer, boolean loopbackOnly, Supplier<Route> inner) {
    return requireOrShut(
        "the admin API",
        admin,
        "admin",
        "RENDEZVOUS_ADMIN_TOKENS",
        materializer,
        loopbackOnly,
        inner);
  }

  /**
   * The same for the routes nodes call on each other, with {@code rendezvous.auth.internal}'s
   * tokens: without any, open only on a loopback bind.
   */
  Route requireInternal(Materializer materializer, boolean loopbackOnly, Supplier<Route> inner) {
    return requireOrShut(
        "this node's internal routes",
        internal,
        "internal",
        "RENDEZVOUS_INTERNAL_TOKENS",
        materializer,
        loopbackOnly,
        inner);
  }

  /**
   * The same for corrections ({@code /feedback}, Slack's {@code /fix}), with {@code
   * rendezvous.auth.feedback}'s tokens: whoever can write feedback can steer what the models are
   * retrained on, so without tokens it is open only on a loopback bind, like the admin API.
   */
  Route requireFeedback(Materializer materializer, boolean loopbackOnly, Supplier<Route> inner) {
    return requireOrShut(
        "feedback",
        feedback,
        "feedback",
        "RENDEZVOUS_FEEDBACK_TOKENS",
        materializer,
        loopbackOnly,
        inner);
  }

  /**
   * {@code accepted}'s tokens required on {@code what}; with none, open on a loopback bind and shut
   * (403, naming the setting {@code rendezvous.auth.<key>} and {@code env}) on any other.
   */
  private static Route requireOrShut(
      String what,
      List<byte[]> accepted,
      String key,
      String env,
      Materializer materializer,
      boolean loopbackOnly,
      Supplier<Route> inner) {
    if (accepted.isEmpty() && !loopbackOnly) {
      return shut(
          materializer,
          "closed: "
              + what
              + " needs a "
              + key
              + " token on a node that binds a non-loopback address, and this one has none (set"
              + " rendezvous.auth."
              + key
              + " or "
              + env
              + ")");
    }
    return require(what, accepted, materializer, inner);
  }

  private static Route require(
      String what, List<byte[]> accepted, Materializer materializer, Supplier<Route> inner) {
    if (accepted.isEmpty()) {
      return inner.get();
    }
    return Directives.optionalHeaderValueByName(
        "Authorization",
        header ->
            allows(accepted, header)
                ? inner.get()
                : Directives.extractRequestEntity(
                    entity -> {
                      entity.discardBytes(materializer);
                      return Directives.complete(unauthorized(what, header.isPresent()));
                    }));
  }

  /**
   * For a transport without routes (gRPC): null when a call to {@code endpoint} with this
   * authorization may go on, else the 401 to answer.
   */
  JsonAnswer refusal(String endpoint, Optional<String> authorization) {
    return allows(endpoint, authorization)
        ? null
        : JsonAnswer.error(401, denied("endpoint '" + endpoint + "'", authorization.isPresent()));
  }

  /**
   * The same for the admin API ({@link #requireAdmin}): 403 where it is closed, 401 without an
   * accepted admin token.
   */
  JsonAnswer adminRefusal(Optional<String> authorization, boolean loopbackOnly) {
    if (admin.isEmpty() && !loopbackOnly) {
      return JsonAnswer.error(
          403,
          "closed: the admin API needs an admin token on a node that binds a non-loopback"
              + " address, and this one has none (set rendezvous.auth.admin or"
              + " RENDEZVOUS_ADMIN_TOKENS)");
    }
    return allows(admin, authorization)
        ? null
        : JsonAnswer.error(401, denied("the admin API", authorization.isPresent()));
  }

  private static String denied(String what, boolean tokenGiven) {
    return what
        + " requires a bearer token (Authorization: Bearer <token>)"
        + (tokenGiven ? "; the one given is not accepted" : "");
  }

  /** Routes that fail closed: 403 with why, the body discarded unread. */
  private static Route shut(Materializer materializer, String why) {
    return Directives.extractRequestEntity(
        entity -> {
          entity.discardBytes(materializer);
          return Directives.complete(HttpJson.error(403, why));
        });
  }

  static HttpResponse unauthorized(String what, boolean tokenGiven) {
    ObjectNode body = Json.object();
    body.put("error", denied(what, tokenGiven));
    return HttpJson.response(401, body)
        .addHeader(WWWAuthenticate.create(HttpChallenge.create("Bearer", "rendezvous")));
  }
}
