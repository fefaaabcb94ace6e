package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.model.ModelStore;
import io.rendezvous.workers.data.FashionMnist;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model version's life on one node over the admin API, as an operator drives it: uploaded, scored
 * as a shadow and never chosen, promoted while the version it replaces becomes the canary (the next
 * request is answered by it), compared with that canary, a policy switched, the old version taken
 * out and retired; a version failing its check never reaches an endpoint and the node stays ready;
 * archives that would escape the store are refused.
 */
class ModelLifecycleTest {
  @TempDir static Path dir;
  static TestNode node;
  static ModelStore built;
  static final HttpClient http = HttpClient.newHttpClient();
  static final String ADMIN = "lifecycle-admin-77c1";
  static final List<FashionMnist.Sample> SAMPLES = FashionMnist.load().holdout().subList(0, 40);

  @BeforeAll
  static void start() throws Exception {
    built = new ModelStore(Path.of(System.getProperty("rendezvous.model-store.dir")));
    ModelStore store = new ModelStore(dir.resolve("store"));
    for (String m : List.of("m1", "m2", "m3")) {
      ModelVersionsTest.copy(built.resolve(m, "1"), store.versionDir(m, "1"), "1");
    }
    ModelVersionsTest.copyTextModels(built, store);
    // m1's own SavedModel as version 2 fails the floor below (its hold-out accuracy is under it)
    ModelVersionsTest.copy(built.resolve("m1", "1"), store.versionDir("m1", "2"), "2");
    node =
        TestNode.start(
            dir.resolve("data"),
            "rendezvous.model-defaults.store = \""
                + store.root().toString().replace("\\", "/")
                + "\"\n"
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

  @Test
  void aVersionGoesFromUploadToShadowToLiveWhileTheOldOneIsTheCanaryThenRetires() throws Exception {
    // uploaded: the next version of m3 in the store (its SavedModel is m3's own, so the canary
    // comparison below must find them agreeing)
    JsonNode up = json(upload("m3", tarGz(built.resolve("m3", "1"), "m3-v1/", null)), 201);
    assertEquals("2", up.get("version").asText());

    // a shadow: loaded and checked first, scored, never chosen
    long before = endpoint().get("generation").asLong();
    JsonNode shadow =
        json(admin("PUT", "/admin/endpoints/rendezvous/models/m3@2", "{\"role\":\"shadow\"}"), 200);
    assertEquals(before + 1, shadow.get("generation").asLong());
    assertEquals("shadow", role(shadow, "m3@2"));
    assertEquals("live", role(shadow, "m3@1"), "the version served under the name, named exactly");
    for (FashionMnist.Sample s : SAMPLES.subList(0, 10)) {
      JsonNode a = predict(s);
      assertEquals("1", a.get("version").asText(), "a shadow answered: " + a);
    }
    assertTrue(
        journalScores("2").stream().allMatch(r -> "shadow".equals(r.role())),
        "the shadow's scores are journaled as such");
    assertFalse(journalScores("2").isEmpty());

    // promoted: the very next request is answered by the new version; the old one is the canary
    JsonNode promoted =
        json(admin("POST", "/admin/endpoints/rendezvous/promote", "{\"model\":\"m3@2\"}"), 200);
    assertEquals("live", role(promoted, "m3@2"));
    assertEquals("canary", role(promoted, "m3@1"));
    long promotedIn = promoted.get("generation").asLong();
    JsonNode next = predict(SAMPLES.get(10));
    assertEquals("m3", next.get("model").asText());
    assertEquals("2", next.get("version").asText(), next.toString());
    for (FashionMnist.Sample s : SAMPLES.subList(11, 30)) {
      assertEquals(200, predictResponse(s).statusCode());
    }
    JournalRecord.Answer last = lastAnswer();
    assertEquals(promotedIn, last.generation(), "the answer says which table served it");
    assertTrue(
        node.journal().stream()
            .anyMatch(
                x ->
                    x instanceof JournalRecord.Lifecycle l
                        && l.generation() == promotedIn
                        && l.detail().contains("m3@2 live")
                        && l.detail().contains("m3@1 canary")),
        "the journal says what that generation was");
    assertEquals("deadline-priority", last.policy());

    // the canary, compared with the live answers: the same SavedModel agrees on every label
    JsonNode comparison = endpoint().get("canary_comparison").get(0);
    assertEquals("m3@1", comparison.get("canary").asText());
    assertTrue(comparison.get("compared").asInt() >= 10, comparison.toString());
    assertEquals(1.0, comparison.get("agreement").asDouble(), 1e-9, comparison.toString());
    assertEquals(0.0, comparison.get("psi").asDouble(), 1e-6, comparison.toString());

    // a policy switched at run time decides the next request
    json(
        admin("PUT", "/admin/endpoints/rendezvous/policy", "{\"policy\":\"ensemble-average\"}"),
        200);
    JsonNode ensemble = predict(SAMPLES.get(30));
    assertEquals("ensemble", ensemble.get("model").asText(), ensemble.toString());
    assertEquals("ensemble-average", lastAnswer().policy());
    json(
        admin("PUT", "/admin/endpoints/rendezvous/policy", "{\"policy\":\"thompson-sampling\"}"),
        200);
    JsonNode sampled = predict(SAMPLES.get(31));
    assertTrue(
        List.of("m1", "m2", "m3").contains(sampled.get("model").asText()), sampled.toString());
    assertEquals("thompson-sampling", lastAnswer().policy());
    assertEquals(
        400,
        admin("PUT", "/admin/endpoints/rendezvous/policy", "{\"policy\":\"coin-toss\"}")
            .statusCode());
    json(
        admin("PUT", "/admin/endpoints/rendezvous/policy", "{\"policy\":\"deadline-priority\"}"),
        200);

    // retiring: not while an endpoint names it, by version or (the version served under the name)
    // by name; out of both endpoints, then retired
    assertEquals(409, admin("POST", "/admin/models/m3/versions/1/retire", "").statusCode());
    json(admin("DELETE", "/admin/endpoints/rendezvous/models/m3@1", ""), 200);
    JsonNode byName = json(admin("POST", "/admin/models/m3/versions/1/retire", ""), 409);
    assertTrue(byName.get("error").asText().contains("(as m3)"), byName.toString());
    for (JsonNode e : json(admin("GET", "/admin/endpoints", null), 200).get("endpoints")) {
      String name = e.get("name").asText();
      if (role(e, "m3") != null) {
        json(
            admin("PUT", "/admin/endpoints/" + name + "/models/m3@2", "{\"role\":\"shadow\"}"),
            200);
        json(admin("POST", "/admin/endpoints/" + name + "/promote", "{\"model\":\"m3@2\"}"), 200);
        json(admin("DELETE", "/admin/endpoints/" + name + "/models/m3@1", ""), 200);
      }
    }
    assertEquals(
        "retired",
        json(admin("POST", "/admin/models/m3/versions/1/retire", ""), 200).get("state").asText());
    assertEquals(200, predictResponse(SAMPLES.get(31)).statusCode());
    assertEquals(200, get("/v2/health/ready").statusCode());

    // the versioned routes: version 2 serves and is ready, the retired one is not
    assertEquals(200, get("/v2/models/m3/versions/2/ready").statusCode());
    // once the Receptionist's listing without its pool has reached this node
    long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (get("/v2/models/m3/versions/1/ready").statusCode() != 503 && System.nanoTime() < until) {
      Thread.sleep(100);
    }
    assertEquals(503, get("/v2/models/m3/versions/1/ready").statusCode());
    JsonNode m3 =
        json(
            node.post(
                "/v2/models/m3/infer",
                "application/json",
                oipBody(SAMPLES.get(33)).getBytes(StandardCharsets.UTF_8)),
            200);
    assertEquals("2", m3.get("model_version").asText(), m3.toString());
    HttpResponse<String> v2 =
        node.post(
            "/v2/models/m3/versions/2/infer",
            "application/json",
            oipBody(SAMPLES.get(32)).getBytes(StandardCharsets.UTF_8));
    JsonNode v2Body = json(v2, 200);
    assertEquals("2", v2Body.get("model_version").asText(), v2Body.toString());
  }

  @Test
  void aVersionFailingItsCheckNeverReachesAnEndpointAndTheNodeStaysReady() throws Exception {
    long before = endpoint().get("generation").asLong();
    HttpResponse<String> r =
        admin("PUT", "/admin/endpoints/rendezvous/models/m1@2", "{\"role\":\"shadow\"}");
    JsonNode failed = json(r, 422);
    assertTrue(failed.get("error").asText().contains("below"), failed.toString());
    assertTrue(
        node.journal().stream()
            .anyMatch(
                x ->
                    x instanceof JournalRecord.Lifecycle l
                        && "version-failed".equals(l.event())
                        && "m1".equals(l.model())
                        && "2".equals(l.version())
                        && l.detail().contains("below")),
        "the failed check is journaled");
    JsonNode after = endpoint();
    assertEquals(before, after.get("generation").asLong(), "the table did not change");
    assertTrue(
        Stream.of("m1@2").noneMatch(m -> after.toString().contains("\"" + m + "\"")),
        after.toString());
    assertEquals(200, get("/v2/health/ready").statusCode());
    assertEquals(200, predictResponse(SAMPLES.get(0)).statusCode());
    // a version's own pool settings: checked before anything loads
    assertEquals(
        400,
        admin("POST", "/admin/models/m2/versions/1/load", "{\"max_batch_size\": 0}").statusCode());
    assertEquals(
        400, admin("POST", "/admin/models/m2/versions/1/load", "{\"threads\": 4}").statusCode());
  }

  @Test
  void archivesThatWouldLeaveTheStoreAreRefused() throws Exception {
    Path m1 = built.resolve("m1", "1");
    JsonNode climbing = json(upload("m1", tarGz(m1, "", "../../escaped.txt")), 400);
    assertTrue(climbing.get("error").asText().contains(".."), climbing.toString());
    JsonNode link = json(upload("m1", tarGzWithSymlink(m1)), 400);
    assertTrue(link.get("error").asText().contains("link"), link.toString());
    JsonNode notGzip = json(upload("m1", "not an archive".getBytes(StandardCharsets.UTF_8)), 400);
    assertTrue(notGzip.get("error").asText().contains("gzip"), notGzip.toString());
    assertFalse(Files.exists(dir.resolve("store").resolve("escaped.txt")));
    assertFalse(Files.exists(dir.resolve("escaped.txt")));
    assertEquals(
        401,
        http.send(
                HttpRequest.newBuilder(node.uri("/admin/endpoints")).GET().build(),
                HttpResponse.BodyHandlers.ofString())
            .statusCode());
  }

  /** The Open Inference Protocol's repository extension: index, load of a new model, unload. */
  @Test
  void theRepositoryExtensionListsLoadsAndUnloadsModels() throws Exception {
    JsonNode index = json(admin("POST", "/v2/repository/index", "{}"), 200);
    assertTrue(index.isArray(), index.toString());
    assertTrue(
        index.toString().contains("\"name\":\"m2\",\"version\":\"1\",\"state\":\"READY\""),
        index.toString());
    // a model of a new name, uploaded: in the store, not loaded, not served
    json(upload("m9", tarGz(built.resolve("m2", "1"), "", null)), 201);
    assertTrue(
        json(admin("POST", "/v2/repository/index", "{}"), 200)
            .toString()
            .contains("\"name\":\"m9\",\"version\":\"1\",\"state\":\"UNAVAILABLE\""));
    assertFalse(
        json(admin("POST", "/v2/repository/index", "{\"ready\":true}"), 200)
            .toString()
            .contains("m9"));
    assertEquals(404, get("/v2/models/m9/ready").statusCode());
    // loaded: checked, then served under its own name
    JsonNode loaded = json(admin("POST", "/v2/repository/models/m9/load", ""), 200);
    assertEquals("1", loaded.get("version").asText());
    assertEquals(200, get("/v2/models/m9/ready").statusCode());
    JsonNode answer =
        json(
            node.post(
                "/v2/models/m9/infer",
                "application/json",
                oipBody(SAMPLES.get(5)).getBytes(StandardCharsets.UTF_8)),
            200);
    assertEquals("1", answer.get("model_version").asText(), answer.toString());
    // unloaded: its endpoint gone, its version retired
    JsonNode unloaded = json(admin("POST", "/v2/repository/models/m9/unload", ""), 200);
    assertEquals("retired", unloaded.get("retired").get(0).asText(), unloaded.toString());
    assertEquals(404, get("/v2/models/m9/ready").statusCode());
    // a model another endpoint names is not unloaded from under it
    assertEquals(409, admin("POST", "/v2/repository/models/m2/unload", "").statusCode());
    assertEquals(404, admin("POST", "/v2/repository/models/nothing-here/load", "").statusCode());
    assertEquals(
        401,
        http.send(
                HttpRequest.newBuilder(node.uri("/v2/repository/index"))
                    .POST(HttpRequest.BodyPublishers.noBody())
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .statusCode());
  }

  /** The operators' CLI drives the same API: 0 on success, 1 on a refusal. */
  @Test
  void theAdminCliWrapsTheApi() {
    String url = node.uri("").toString();
    java.util.function.Function<String[], Integer> cli =
        args -> new picocli.CommandLine(new AdminCli()).execute(args);
    assertEquals(
        0, cli.apply(new String[] {"--url", url, "--token", ADMIN, "endpoints", "rendezvous"}));
    assertEquals(0, cli.apply(new String[] {"--url", url, "--token", ADMIN, "models"}));
    assertEquals(1, cli.apply(new String[] {"--url", url, "--token", "wrong", "models"}));
    assertEquals(
        1,
        cli.apply(
            new String[] {"--url", url, "--token", ADMIN, "policy", "rendezvous", "coin-toss"}));
    assertEquals(
        0,
        cli.apply(
            new String[] {
              "--url", url, "--token", ADMIN, "policy", "rendezvous", "deadline-priority"
            }));
  }

  // ---- helpers

  static String role(JsonNode endpoint, String member) {
    for (JsonNode m : endpoint.get("models")) {
      if (m.get("model").asText().equals(member)) {
        return m.get("role").asText();
      }
    }
    return null;
  }

  static JsonNode endpoint() throws Exception {
    return json(admin("GET", "/admin/endpoints/rendezvous", null), 200);
  }

  static List<JournalRecord.Score> journalScores(String version) {
    return node.journal().stream()
        .filter(r -> r instanceof JournalRecord.Score s && "m3".equals(s.model()))
        .map(r -> (JournalRecord.Score) r)
        .filter(s -> version.equals(s.version()))
        .collect(Collectors.toList());
  }

  static JournalRecord.Answer lastAnswer() {
    JournalRecord.Answer last = null;
    for (JournalRecord r : node.journal()) {
      if (r instanceof JournalRecord.Answer a && "rendezvous".equals(a.endpoint())) {
        last = a;
      }
    }
    assertNotNull(last);
    return last;
  }

  static String instances(FashionMnist.Sample s) {
    StringBuilder b = new StringBuilder("[");
    float[] x = s.scaled();
    for (int i = 0; i < x.length; i++) {
      b.append(i == 0 ? "" : ",").append(x[i]);
    }
    return b.append(']').toString();
  }

  static String oipBody(FashionMnist.Sample s) {
    return "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":"
        + instances(s)
        + "}]}";
  }

  static HttpResponse<String> predictResponse(FashionMnist.Sample s) throws Exception {
    return node.post(
        "/predict",
        "application/json",
        ("{\"instances\":[" + instances(s) + "]}").getBytes(StandardCharsets.UTF_8));
  }

  /** The one instance's answer. */
  static JsonNode predict(FashionMnist.Sample s) throws Exception {
    return json(predictResponse(s), 200).get("predictions").get(0);
  }

  static HttpResponse<String> get(String path) throws Exception {
    return node.get(path);
  }

  static HttpResponse<String> admin(String method, String path, String body) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(node.uri(path))
            .timeout(Duration.ofSeconds(120))
            .header("Authorization", "Bearer " + ADMIN)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> upload(String model, byte[] archive) throws Exception {
    return http.send(
        HttpRequest.newBuilder(node.uri("/admin/models/" + model + "/versions"))
            .timeout(Duration.ofSeconds(120))
            .header("Authorization", "Bearer " + ADMIN)
            .header("Content-Type", "application/gzip")
            .POST(HttpRequest.BodyPublishers.ofByteArray(archive))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode json(HttpResponse<String> r, int status) throws Exception {
    assertEquals(status, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body());
  }

  /**
   * A version directory as an operator would pack it, each entry under {@code prefix}; {@code
   * extra}, when set, is one more entry by that exact name.
   */
  static byte[] tarGz(Path versionDir, String prefix, String extra) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(bytes))) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      List<Path> files;
      try (Stream<Path> walk = Files.walk(versionDir)) {
        files = new ArrayList<>(walk.filter(Files::isRegularFile).sorted().toList());
      }
      for (Path f : files) {
        TarArchiveEntry e =
            new TarArchiveEntry(f.toFile(), prefix + versionDir.relativize(f).toString());
        tar.putArchiveEntry(e);
        Files.copy(f, tar);
        tar.closeArchiveEntry();
      }
      if (extra != null) {
        byte[] content = "outside".getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(extra);
        e.setSize(content.length);
        tar.putArchiveEntry(e);
        tar.write(content);
        tar.closeArchiveEntry();
      }
    }
    return bytes.toByteArray();
  }

  static byte[] tarGzWithSymlink(Path versionDir) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(bytes))) {
      TarArchiveEntry link = new TarArchiveEntry("variables", TarArchiveEntry.LF_SYMLINK);
      link.setLinkName("/etc");
      tar.putArchiveEntry(link);
      tar.closeArchiveEntry();
      Path meta = versionDir.resolve("rendezvous-model.json");
      TarArchiveEntry e = new TarArchiveEntry(meta.toFile(), "rendezvous-model.json");
      tar.putArchiveEntry(e);
      Files.copy(meta, tar);
      tar.closeArchiveEntry();
    }
    return bytes.toByteArray();
  }
}
