package io.rendezvous.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.model.ModelStore;
import io.rendezvous.workers.text.TextTrainer;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The deploying half of {@code train-text --deploy}: freshly trained text versions to a running
 * cluster through the lifecycle admin API, as an operator would do it by hand (docs/lifecycle.md),
 * so the cluster checks, replicates and journals them like any other change:
 *
 * <ol>
 *   <li>each version is uploaded to the node named ({@code POST /admin/models/{m}/versions}: the
 *       cluster's next version of that model);
 *   <li>no endpoint of the name yet: it is created with the three live on a deadline schedule, the
 *       more accurate of MLP and logistic regression first, naive Bayes last ({@code PUT
 *       /admin/endpoints/{e}}; its input and labels are the models'); an endpoint already there:
 *       each new version joins it as a shadow ({@code PUT /admin/endpoints/{e}/models/{m@v}}), to
 *       be promoted when its scores have been compared;
 *   <li>every node the change reached is asked for a prediction of a held-out text.
 * </ol>
 */
final class TextDeployment {
  private final String base;
  private final String token;
  private final String predictToken;
  private final Duration timeout;
  private final PrintWriter out;
  private final HttpClient http;

  TextDeployment(String url, String token, String predictToken, Duration timeout, PrintWriter out) {
    String u = url.trim();
    this.base = u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
    this.token = token;
    this.predictToken = predictToken;
    this.timeout = timeout;
    this.out = out;
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  }

  /** What one admin request answered. */
  record Answer(int status, JsonNode body) {
    boolean ok() {
      return status / 100 == 2;
    }

    String why() {
      return body.has("error") ? body.get("error").asText() : body.toString();
    }
  }

  /**
   * Deploys {@code reports}' versions (from {@code models}) as endpoint {@code endpoint}; true when
   * every node the change reached answers a prediction of {@code probe} with 200.
   */
  boolean deploy(
      String endpoint,
      ModelStore models,
      List<TextTrainer.Report> reports,
      List<Long> afterMs,
      long slaMs,
      String probe)
      throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    Map<TextTrainer.Kind, String> members = new LinkedHashMap<>();
    for (TextTrainer.Report r : reports) {
      byte[] archive = AdminCli.pack(models.versionDir(r.model(), r.version()));
      Answer a =
          call(
              "POST",
              "/admin/models/" + AdminCli.seg(r.model()) + "/versions",
              "application/octet-stream",
              archive);
      if (!a.ok()) {
        out.printf("upload of %s: HTTP %d: %s%n", r.model(), a.status(), a.why());
        return false;
      }
      String member = r.model() + "@" + a.body().path("version").asText();
      members.put(kindOf(endpoint, r.model()), member);
      out.printf("uploaded %s (%,d bytes)%n", member, archive.length);
    }
    // the schedule's order: of the MLP and logistic regression the more accurate on this CSV's
    // hold-out first (the MLP on a tie), naive Bayes, the cheapest, last: the fallback
    Map<TextTrainer.Kind, Double> accuracy = new LinkedHashMap<>();
    reports.forEach(r -> accuracy.put(kindOf(endpoint, r.model()), r.accuracy()));
    List<TextTrainer.Kind> order =
        accuracy.getOrDefault(TextTrainer.Kind.LOGISTIC_REGRESSION, 0.0)
                > accuracy.getOrDefault(TextTrainer.Kind.MLP, 0.0)
            ? List.of(
                TextTrainer.Kind.LOGISTIC_REGRESSION,
                TextTrainer.Kind.MLP,
                TextTrainer.Kind.NAIVE_BAYES)
            : List.of(
                TextTrainer.Kind.MLP,
                TextTrainer.Kind.LOGISTIC_REGRESSION,
                TextTrainer.Kind.NAIVE_BAYES);
    Answer existing = call("GET", "/admin/endpoints/" + AdminCli.seg(endpoint), null, null);
    Answer change;
    if (existing.status() == 404) {
      ObjectNode body = Json.object();
      ArrayNode list = body.putArray("models");
      for (int i = 0; i < order.size(); i++) {
        list.addObject()
            .put("model", members.get(order.get(i)))
            .put("role", "live")
            .put("after_ms", afterMs.get(i));
      }
      body.put("sla_ms", slaMs);
      change = json("PUT", "/admin/endpoints/" + AdminCli.seg(endpoint), body);
      out.printf(
          "endpoint %s: %s, HTTP %d%n",
          endpoint,
          change.ok() ? "created with " + String.join(", ", members.values()) + " live" : "refused",
          change.status());
      if (!change.ok()) {
        out.println("  " + change.why());
        return false;
      }
    } else if (existing.ok()) {
      change = null;
      for (TextTrainer.Kind k : order) {
        String member = members.get(k);
        change =
            json(
                "PUT",
                "/admin/endpoints/" + AdminCli.seg(endpoint) + "/models/" + AdminCli.seg(member),
                Json.object().put("role", "shadow"));
        out.printf("endpoint %s: %s as a shadow, HTTP %d%n", endpoint, member, change.status());
        if (!change.ok()) {
          out.println("  " + change.why());
          return false;
        }
      }
      out.printf(
          "  promote each when its comparison with live holds: rendezvous admin promote %s <model@version>%n",
          endpoint);
    } else {
      out.printf("endpoint %s: HTTP %d: %s%n", endpoint, existing.status(), existing.why());
      return false;
    }
    out.printf("the cluster applied the change in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    return probeEveryNode(endpoint, change.body(), probe);
  }

  /**
   * A prediction of {@code text} from every node the change's answer lists (else the one named).
   */
  private boolean probeEveryNode(String endpoint, JsonNode changed, String text)
      throws IOException, InterruptedException {
    Set<String> urls = new LinkedHashSet<>();
    changed
        .path("nodes")
        .forEach(
            n -> {
              if (n.hasNonNull("url")) {
                urls.add(n.get("url").asText());
              }
            });
    if (urls.isEmpty()) {
      urls.add(base);
    }
    boolean all = true;
    List<String> lines = new ArrayList<>();
    for (String url : urls) {
      ObjectNode body = Json.object();
      body.putArray("instances").add(text);
      HttpRequest.Builder probe =
          HttpRequest.newBuilder(
                  URI.create(strip(url) + "/predict?endpoint=" + AdminCli.seg(endpoint)))
              .timeout(timeout)
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
      if (predictToken != null) {
        probe.header("Authorization", "Bearer " + predictToken);
      }
      HttpResponse<String> r =
          http.send(probe.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      JsonNode answer = parse(r.body());
      JsonNode first = answer.path("predictions").path(0);
      lines.add(
          String.format(
              "  %s: HTTP %d, %s",
              url,
              r.statusCode(),
              r.statusCode() == 200
                  ? first.path("label").asText() + " by " + first.path("model").asText()
                  : answer.toString()));
      if (r.statusCode() == 401 && predictToken == null) {
        lines.add("    (the cluster asks for a token to predict: give it with --predict-token)");
      }
      all &= r.statusCode() == 200;
    }
    out.printf("\"%s\" on %d node(s):%n", text, urls.size());
    lines.forEach(out::println);
    return all;
  }

  private static String strip(String url) {
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }

  private static TextTrainer.Kind kindOf(String prefix, String model) {
    for (TextTrainer.Kind k : TextTrainer.Kind.values()) {
      if (k.modelName(prefix).equals(model)) {
        return k;
      }
    }
    throw new IllegalArgumentException("not a text model's name: " + model);
  }

  private Answer json(String method, String path, JsonNode body)
      throws IOException, InterruptedException {
    return call(method, path, "application/json", body.toString().getBytes(StandardCharsets.UTF_8));
  }

  private Answer call(String method, String path, String contentType, byte[] body)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(timeout)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> r =
        http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    return new Answer(r.statusCode(), parse(r.body()));
  }

  private static JsonNode parse(String text) {
    if (text == null || text.isBlank()) {
      return Json.object();
    }
    try {
      return Json.MAPPER.readTree(text);
    } catch (IOException notJson) {
      return Json.object().put("error", text);
    }
  }
}
