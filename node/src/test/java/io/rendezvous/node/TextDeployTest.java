package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.model.ModelStore;
import io.rendezvous.workers.data.FashionMnist;
import io.rendezvous.workers.text.TextCorpus;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train-text --deploy} against a running node, as a user would run it from a notebook's
 * shell: a CSV of categories the node has never seen becomes a new endpoint whose input is text and
 * whose labels are the CSV's, answering at once, checked by the node on the hold-out part of the
 * rows the versions keep; run again, the new versions join it as shadows while the first ones
 * answer; the image endpoint answers throughout; a version of other labels cannot join an endpoint.
 */
class TextDeployTest {
  @TempDir static Path dir;
  static TestNode node;
  static final String ADMIN = "text-deploy-admin-5d2e";
  static final Set<String> KINDS = Set.of("games", "graphics", "sound");
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    ModelStore built = new ModelStore(Path.of(System.getProperty("rendezvous.model-store.dir")));
    ModelStore store = new ModelStore(dir.resolve("store"));
    for (String m : List.of("m1", "m2", "m3")) {
      ModelVersionsTest.copy(built.resolve(m, "1"), store.versionDir(m, "1"), "1");
    }
    ModelVersionsTest.copyTextModels(built, store);
    node =
        TestNode.start(
            dir.resolve("data"),
            "rendezvous.model-defaults.store = \""
                + store.root().toString().replace("\\", "/")
                + "\"\n"
                + "rendezvous.model-defaults.version = \"1\"\n"
                + "rendezvous.auth.admin = \""
                + ADMIN
                + "\"\n");
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  /** Three sections of the shipped corpus under column names of the user's own. */
  static Path csv() throws Exception {
    TextCorpus shipped = TextCorpus.shipped();
    Path file = dir.resolve("kinds.csv");
    Files.writeString(
        file,
        TrainTextTest.csv(KINDS, List.of(shipped.train(), shipped.holdout())),
        StandardCharsets.UTF_8);
    return file;
  }

  static String deploy(Path csv, int expectedExit) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc =
        TrainText.run(
            new String[] {
              "--csv", csv.toString(),
              "--text-column", "note",
              "--label-column", "kind",
              "--key-column", "id",
              "--name", "kinds",
              "--deploy", node.uri("/").toString(),
              "--token", ADMIN
            },
            new PrintStream(out),
            new PrintStream(err));
    String printed = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
    assertEquals(expectedExit, rc, printed);
    return printed;
  }

  static JsonNode predictText(String text) throws Exception {
    HttpResponse<String> r =
        node.post(
            "/predict?endpoint=kinds",
            "application/json",
            ("{\"instances\": [" + Json.MAPPER.writeValueAsString(text) + "]}")
                .getBytes(StandardCharsets.UTF_8));
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body()).get("predictions").get(0);
  }

  static HttpResponse<String> admin(String method, String path, String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(node.uri(path).toString()))
            .timeout(Duration.ofSeconds(120))
            .header("Authorization", "Bearer " + ADMIN)
            .header("Content-Type", "application/json")
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aCsvBecomesALiveEndpointThenNewVersionsJoinItAsShadows() throws Exception {
    Path csv = csv();
    byte[] image = SlackTest.png(FashionMnist.load().holdout().get(0));
    String first = deploy(csv, 0);
    assertTrue(first.contains("endpoint kinds answering on every node"), first);
    assertTrue(first.contains("created with"), first);

    JsonNode endpoint = Json.MAPPER.readTree(admin("GET", "/admin/endpoints/kinds", null).body());
    List<String> labels = new ArrayList<>();
    endpoint.get("labels").forEach(l -> labels.add(l.asText()));
    assertEquals(List.of("games", "graphics", "sound"), labels, endpoint.toString());
    assertEquals("text", endpoint.get("input").get("datatype").asText(), endpoint.toString());
    for (JsonNode m : endpoint.get("models")) {
      assertEquals("live", m.get("role").asText(), endpoint.toString());
    }

    JsonNode a = predictText("a puzzle game for children with colourful levels");
    assertTrue(KINDS.contains(a.get("label").asText()), a.toString());
    assertTrue(a.get("model").asText().startsWith("kinds-"), a.toString());
    assertEquals("1", a.get("version").asText(), a.toString());

    // the node measured each version on the hold-out part of the rows it keeps
    JsonNode models = Json.MAPPER.readTree(admin("GET", "/admin/models", null).body());
    int measured = 0;
    for (JsonNode v : models.path("versions")) {
      if (v.path("name").asText().startsWith("kinds-")) {
        double claimed = v.get("holdout_accuracy").asDouble();
        double onNode = v.get("holdout_accuracy_measured").asDouble();
        assertEquals(claimed, onNode, 0.02, "measured on the node as trained: " + v);
        measured++;
      }
    }
    assertEquals(3, measured, models.toString());

    // again: the endpoint is there, so the new versions are shadows and version 1 answers
    String second = deploy(csv, 0);
    assertTrue(second.contains("as a shadow"), second);
    JsonNode after = Json.MAPPER.readTree(admin("GET", "/admin/endpoints/kinds", null).body());
    int shadows = 0;
    for (JsonNode m : after.get("models")) {
      if (m.get("model").asText().endsWith("@2")) {
        assertEquals("shadow", m.get("role").asText(), after.toString());
        shadows++;
      }
    }
    assertEquals(3, shadows, after.toString());
    assertEquals("1", predictText("an audio mixer with effects").get("version").asText());

    // a version of other labels is refused by an endpoint of the shipped sections
    HttpResponse<String> misfit =
        admin("PUT", "/admin/endpoints/sections/models/kinds-mlp@1", "{\"role\":\"shadow\"}");
    assertEquals(422, misfit.statusCode(), misfit.body());
    assertTrue(misfit.body().contains("says [games, graphics, sound]"), misfit.body());

    // the image endpoint answered throughout
    HttpResponse<String> png = node.post("/predict", "image/png", image);
    assertEquals(200, png.statusCode(), png.body());
  }
}
