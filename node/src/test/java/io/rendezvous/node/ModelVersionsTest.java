package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.ModelStore;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Versions loaded and retired at run time through the admin API: a version that passes its check is
 * served, one that fails it is reported and never served while the node stays ready.
 */
class ModelVersionsTest {
  @TempDir static Path dir;
  static TestNode node;
  static ModelStore store;
  static final HttpClient http = HttpClient.newHttpClient();
  static final String ADMIN = "versions-admin-5d21";

  @BeforeAll
  static void start() throws Exception {
    ModelStore built = new ModelStore(Path.of(System.getProperty("rendezvous.model-store.dir")));
    store = new ModelStore(dir.resolve("store"));
    for (String m : List.of("m1", "m2", "m3")) {
      copy(built.resolve(m, "1"), store.versionDir(m, "1"), "1");
    }
    copyTextModels(built, store);
    // the same SavedModels as new versions: m2's passes the floor below, m1's does not
    copy(built.resolve("m2", "1"), store.versionDir("m2", "2"), "2");
    copy(built.resolve("m1", "1"), store.versionDir("m1", "2"), "2");
    node =
        TestNode.start(
            dir.resolve("data"),
            "rendezvous.model-defaults.store = \""
                + store.root().toString().replace("\\", "/")
                + "\"\n"
                // the node starts with version 1 of each; the newer ones are loaded by the test
                + "rendezvous.model-defaults.version = \"1\"\n"
                + "rendezvous.lifecycle.min-holdout-accuracy = 0.82\n"
                + "rendezvous.auth.admin = \""
                + ADMIN
                + "\"\n");
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  /** A copy of a version directory as {@code version} (its metadata says so). */
  /**
   * The text endpoint's models (every node serves them too) into {@code store} as version 1: a test
   * store with the image models alone would not start a node.
   */
  static void copyTextModels(ModelStore built, ModelStore store) throws IOException {
    for (String m : List.of("sections-nb", "sections-logreg", "sections-mlp")) {
      copy(built.resolve(m, built.latest(m).orElseThrow()), store.versionDir(m, "1"), "1");
    }
  }

  static void copy(Path from, Path to, String version) throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(from)) {
      files = new ArrayList<>(walk.toList());
    }
    for (Path f : files) {
      Path target = to.resolve(from.relativize(f).toString());
      if (Files.isDirectory(f)) {
        Files.createDirectories(target);
      } else {
        Files.copy(f, target);
      }
    }
    ObjectNode meta =
        (ObjectNode) Json.MAPPER.readTree(to.resolve(ModelMetadata.FILE_NAME).toFile());
    meta.put("version", version);
    Json.MAPPER.writeValue(to.resolve(ModelMetadata.FILE_NAME).toFile(), meta);
  }

  static HttpResponse<String> send(String method, String path, boolean withToken) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(node.uri(path))
            .timeout(Duration.ofSeconds(120))
            .method(method, HttpRequest.BodyPublishers.noBody());
    if (withToken) {
      b.header("Authorization", "Bearer " + ADMIN);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode json(HttpResponse<String> r, int status) throws Exception {
    assertEquals(status, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body());
  }

  static JsonNode version(String name, String v) throws Exception {
    for (JsonNode s : json(send("GET", "/admin/models", true), 200).get("versions")) {
      if (s.get("name").asText().equals(name) && s.get("version").asText().equals(v)) {
        return s;
      }
    }
    return null;
  }

  @Test
  void versionsLoadAfterTheirCheckAndRetire() throws Exception {
    assertEquals(401, send("GET", "/admin/models", false).statusCode());
    JsonNode m3 = version("m3", "1");
    assertEquals("ready", m3.get("state").asText());
    assertTrue(m3.get("loaded_at_start").asBoolean());

    JsonNode loaded = json(send("POST", "/admin/models/m2/versions/2/load", true), 200);
    assertEquals("ready", loaded.get("state").asText(), loaded.toString());
    assertEquals(
        loaded.get("holdout_accuracy").asDouble(),
        loaded.get("holdout_accuracy_measured").asDouble(),
        0.01);
    // loading it again is asking for what is there
    assertEquals(
        "ready",
        json(send("POST", "/admin/models/m2/versions/2/load", true), 200).get("state").asText());

    JsonNode failed = json(send("POST", "/admin/models/m1/versions/2/load", true), 422);
    assertEquals("failed", failed.get("state").asText());
    assertTrue(failed.get("detail").asText().contains("below"), failed.toString());
    JsonNode missing = json(send("POST", "/admin/models/m1/versions/9/load", true), 422);
    assertTrue(missing.get("detail").asText().contains("no version 9"), missing.toString());
    assertTrue(
        json(send("POST", "/admin/models/m1/versions/01/load", true), 400)
            .get("error")
            .asText()
            .contains("not valid"));
    assertTrue(
        json(send("POST", "/admin/models/..%2Fetc/versions/1/load", true), 400)
            .get("error")
            .asText()
            .contains("not valid"));

    // a failed version never took the node down
    assertEquals(200, send("GET", "/v2/health/ready", false).statusCode());
    assertEquals("failed", version("m1", "2").get("state").asText());

    JsonNode retired = json(send("POST", "/admin/models/m2/versions/2/retire", true), 200);
    assertEquals("retired", retired.get("state").asText());
    assertEquals(404, send("POST", "/admin/models/m2/versions/7/retire", true).statusCode());
    assertEquals(200, send("GET", "/v2/health/ready", false).statusCode());
  }
}
