package io.rendezvous.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.edge.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code rendezvous admin ...}: the admin API from a shell, for operators. Each command is one (or,
 * for an upload of a directory, one after packing it) HTTP request to a node's admin API; it prints
 * the node's JSON answer and exits 0 on a 2xx, 1 otherwise. The node is {@code --url} (or {@code
 * RENDEZVOUS_URL}, default {@code http://127.0.0.1:8080}); the token {@code --token} (or {@code
 * RENDEZVOUS_ADMIN_TOKEN}, or the first of {@code RENDEZVOUS_ADMIN_TOKENS}).
 */
@Command(
    name = "admin",
    mixinStandardHelpOptions = true,
    description = "Drive a node's admin API: model versions, endpoints, roles, policies.",
    subcommands = {
      AdminCli.Models.class,
      AdminCli.Upload.class,
      AdminCli.Load.class,
      AdminCli.Retire.class,
      AdminCli.Endpoints.class,
      AdminCli.SetRole.class,
      AdminCli.RemoveModel.class,
      AdminCli.Promote.class,
      AdminCli.Demote.class,
      AdminCli.Policy.class,
      AdminCli.PutEndpoint.class,
      AdminCli.DeleteEndpoint.class,
      AdminCli.Repository.class
    })
final class AdminCli implements Callable<Integer> {

  @Option(
      names = "--url",
      description = "the node (default: $RENDEZVOUS_URL or http://127.0.0.1:8080)")
  String url;

  @Option(
      names = "--token",
      description =
          "admin bearer token (default: $RENDEZVOUS_ADMIN_TOKEN or the first of"
              + " $RENDEZVOUS_ADMIN_TOKENS)")
  String token;

  @Option(names = "--timeout-s", defaultValue = "180", description = "per request (default 180)")
  long timeoutSeconds;

  @Override
  public Integer call() {
    new CommandLine(this).usage(System.err);
    return 2;
  }

  private String base() {
    String u = url != null ? url : System.getenv("RENDEZVOUS_URL");
    u = u == null || u.isBlank() ? "http://127.0.0.1:8080" : u.trim();
    return u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
  }

  private String bearer() {
    return bearer(token);
  }

  /**
   * {@code token}, or $RENDEZVOUS_ADMIN_TOKEN, or the first of $RENDEZVOUS_ADMIN_TOKENS; or null.
   */
  static String bearer(String token) {
    if (token != null) {
      return token;
    }
    String one = System.getenv("RENDEZVOUS_ADMIN_TOKEN");
    if (one != null && !one.isBlank()) {
      return one.trim();
    }
    String many = System.getenv("RENDEZVOUS_ADMIN_TOKENS");
    if (many != null && !many.isBlank()) {
      return many.split(",")[0].trim();
    }
    return null;
  }

  /** Sends one request and prints the answer; 0 on a 2xx. */
  int send(String method, String path, String contentType, byte[] body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base() + path))
            .timeout(Duration.ofSeconds(timeoutSeconds))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    String t = bearer();
    if (t != null) {
      b.header("Authorization", "Bearer " + t);
    }
    HttpResponse<String> r;
    try {
      r =
          HttpClient.newBuilder()
              .connectTimeout(Duration.ofSeconds(10))
              .build()
              .send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      System.err.println("rendezvous admin: " + method + " " + base() + path + ": " + e);
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
    String out = r.body();
    try {
      out =
          Json.MAPPER
              .writerWithDefaultPrettyPrinter()
              .writeValueAsString(Json.MAPPER.readTree(out));
    } catch (IOException notJson) {
      // printed as it came
    }
    (r.statusCode() / 100 == 2 ? System.out : System.err).println(out);
    if (r.statusCode() / 100 != 2) {
      System.err.println("rendezvous admin: HTTP " + r.statusCode());
      return 1;
    }
    return 0;
  }

  int sendJson(String method, String path, JsonNode body) {
    return send(method, path, "application/json", body.toString().getBytes(StandardCharsets.UTF_8));
  }

  static String seg(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** A version directory as a tar.gz, its files at the archive's root. */
  static byte[] pack(Path dir) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ModelArchive.pack(dir, bytes);
    return bytes.toByteArray();
  }

  @Command(name = "models", description = "List this node's model versions and their states.")
  static final class Models implements Callable<Integer> {
    @ParentCommand AdminCli admin;

    @Override
    public Integer call() {
      return admin.send("GET", "/admin/models", null, null);
    }
  }

  @Command(
      name = "upload",
      description =
          "Store a SavedModel version (a directory, or a .tar.gz of one) as the model's next"
              + " version.")
  static final class Upload implements Callable<Integer> {
    @ParentCommand AdminCli admin;

    @Parameters(index = "0", description = "model name")
    String model;

    @Parameters(index = "1", description = "version directory or .tar.gz")
    Path source;

    @Option(names = "--load", description = "load and check it at once")
    boolean load;

    @Override
    public Integer call() throws IOException {
      byte[] archive = Files.isDirectory(source) ? pack(source) : Files.readAllBytes(source);
      return admin.send(
          "POST",
          "/admin/models/" + seg(model) + "/versions" + (load ? "?load=true" : ""),
          "application/gzip",
          archive);
    }
  }

  @Command(name = "load", description = "Load and check a stored version on this node.")
  static final class Load implements Callable<Integer> {
    @ParentCommand AdminCli admin;

    @Parameters(index = "0")
    String model;

    @Parameters(index = "1")
    String version;

    @Override
    public Integer call() {
      return admin.send(
          "POST",
          "/admin/models/" + seg(model) + "/versions/" + seg(version) + "/load",
          null,
          null);
    }
  }

  @Command(name = "retire", description = "Drain and close a version no endpoint names any more.")
  static final class Retire implements Callable<Integer> {
    @ParentCommand AdminCli admin;

    @Parameters(index = "0")
    String model;

    @Parameters(index = "1")
    String version;

    @Override
    public Integer call() {
      return admin.send(
          "POST",
          "/admin/models/" + seg(model) + "/versions/" + seg(version) + "/retire",
          null,
          null);
    }
  }

  @Command(
      name = "endpoints",
      description = "Show every endpoint (or one): models, roles, policy, canary comparison.")
  static final class Endpoints implements Callable<Integer> {
    @ParentCommand AdminCli admin;

    @Parameters(index = "0", arity = "0..1")
    String endpoint;

    @Override
    public Integer call() {
      return admin.send(
          "GET", "/admin/endpoints" + (endpoint == null ? "" : "/" + seg(endpoint)), null, null);
    }
  }

  @Command(
      name = "role",
      description =
          "Give a model version a role in an endpoint (adding it): live [--after-ms N], shadow,"
              + " canary.")
  static final class SetRole implements Callable<Integer> {
    @ParentCommand AdminCli admin;

    @Parameters(index = "0")
    String endpoint;

    @Parameters(index = "1", description = "name@version")
    String model;

    @Parameters(index = "2", description = "live, shadow or canary")
    String role;

    @Option(names = "--after-ms", description = "a live model's stage offset")
    Long afterMs;

    @Override
    public Integer call() {
      ObjectNode body = Json.object().put("role", role);
      if (afterMs != null) {
        body.put("after_ms", afterMs);
      }
      return admin.sendJson(
          "PUT", "/admin/endpoints/" + seg(endpoint) + "/models/" + seg(model), body);
    }
  }

  @Command(name = "remove", description = "Take a model version out of an endpoint.")
  static final class RemoveModel implements Callable<Integer> {
    @ParentCommand AdminCli admin;

    @Parameters(index = "0")
    String endpoint;

    @Parameters(index = "1")
    String model;

    @Override
    public Integer call() {
      return admin.send(
          "DELETE", "/admin/endpoints/" + seg(endpoint) + "/models/" + seg(model), null, null);
    }
  }

  @Command(
      name = "promote",
      description = "A shadow goes live in its model's stage; the version it replaces, canary.")
  static final class Promote implements Callable<Integer> {
    @ParentCommand AdminCli admin;

    @Parameters(index = "0")
    String endpoint;

    @Parameters(index = "1")
    String model;

    @Override
    public Integer call() {
      return admin.sendJson(
          "POST",
          "/admin/endpoints/" + seg(endpoint) + "/promote",
          Json.object().put("model", model));
    }
  }

  @Command(
      name = "demote",
      description = "A live version becomes a shadow; its model's canary goes live again.")
  static final class Demote implements Callable<Integer> {
    @ParentCommand AdminCli admin;

    @Parameters(index = "0")
    String endpoint;

    @Parameters(index = "1")
    String model;

    @Override
    public Integer call() {
      return admin.sendJson(
          "POST",
          "/admin/endpoints/" + seg(endpoint) + "/demote",
          Json.object().put("model", model));
    }
  }

  @Command(
      name = "policy",
      description =
          "Switch an endpoint's selection policy: deadline-priority, highest-confidence,"
              + " ensemble-average.")
  static final class Policy implements Callable<Integer> {
    @ParentCommand AdminCli admin;

    @Parameters(index = "0")
    String endpoint;

    @Parameters(index = "1")
    String policy;

    @Override
    public Integer call() {
      return admin.sendJson(
          "PUT",
          "/admin/endpoints/" + seg(endpoint) + "/policy",
          Json.object().put("policy", policy));
    }
  }

  @Command(
      name = "put-endpoint",
      description =
          "Create or replace an endpoint: --model name@version[:role[:after-ms]] (role live by"
              + " default) for each model.")
  static final class PutEndpoint implements Callable<Integer> {
    @ParentCommand AdminCli admin;

    @Parameters(index = "0")
    String endpoint;

    @Option(names = "--model", required = true)
    List<String> models;

    @Option(names = "--policy")
    String policy;

    @Option(names = "--sla-ms")
    Long slaMs;

    @Option(names = "--like", description = "take input, labels and timings from this endpoint")
    String like;

    @Override
    public Integer call() {
      ObjectNode body = Json.object();
      ArrayNode list = body.putArray("models");
      for (String m : models) {
        String[] parts = m.split(":");
        ObjectNode o = list.addObject().put("model", parts[0]);
        o.put("role", parts.length > 1 ? parts[1] : "live");
        if (parts.length > 2) {
          o.put("after_ms", Long.parseLong(parts[2]));
        }
      }
      if (policy != null) {
        body.put("policy", policy);
      }
      if (slaMs != null) {
        body.put("sla_ms", slaMs);
      }
      if (like != null) {
        body.put("like", like);
      }
      return admin.sendJson("PUT", "/admin/endpoints/" + seg(endpoint), body);
    }
  }

  @Command(name = "delete-endpoint", description = "Remove an endpoint.")
  static final class DeleteEndpoint implements Callable<Integer> {
    @ParentCommand AdminCli admin;

    @Parameters(index = "0")
    String endpoint;

    @Override
    public Integer call() {
      return admin.send("DELETE", "/admin/endpoints/" + seg(endpoint), null, null);
    }
  }

  @Command(
      name = "repository",
      description =
          "The OIP model repository: index, or load/unload a model (load: newest version, or"
              + " --version).")
  static final class Repository implements Callable<Integer> {
    @ParentCommand AdminCli admin;

    @Parameters(index = "0", description = "index, load or unload")
    String action;

    @Parameters(index = "1", arity = "0..1", description = "model (load, unload)")
    String model;

    @Option(names = "--version")
    String version;

    @Override
    public Integer call() {
      if ("index".equals(action)) {
        return admin.sendJson("POST", "/v2/repository/index", Json.object());
      }
      if (model == null || !("load".equals(action) || "unload".equals(action))) {
        System.err.println("rendezvous admin repository: index | load MODEL | unload MODEL");
        return 2;
      }
      ObjectNode body = Json.object();
      if (version != null) {
        body.putObject("parameters").put("version", version);
      }
      return admin.sendJson("POST", "/v2/repository/models/" + seg(model) + "/" + action, body);
    }
  }
}
