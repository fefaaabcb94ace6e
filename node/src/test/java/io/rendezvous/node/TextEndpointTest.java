package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalJson;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.model.TensorData;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The text endpoint on a real node over HTTP: texts in {@code /predict} are answered by the
 * sections models, the journal keeps each text exactly as sent (and journal-dump shows it), and bad
 * text inputs get a 400 that says what is wrong.
 */
class TextEndpointTest {
  @TempDir static Path dir;
  static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start(dir, "");
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  static HttpResponse<String> predict(String endpoint, String body) throws Exception {
    return node.post(
        "/predict?endpoint=" + endpoint + "&detail=all",
        "application/json",
        body.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void textsAreAnsweredAndJournaledAsSent() throws Exception {
    String unicode = "Éditeur de texte für große Dateien, 日本語 aware";
    HttpResponse<String> r =
        predict(
            "sections",
            "{\"instances\": [\"utility to resize and convert images\", \"" + unicode + "\"]}");
    assertEquals(200, r.statusCode(), r.body());
    JsonNode predictions = Json.MAPPER.readTree(r.body()).get("predictions");
    assertEquals(2, predictions.size());
    List<String> sections =
        List.of(
            "admin",
            "database",
            "editors",
            "electronics",
            "fonts",
            "games",
            "graphics",
            "mail",
            "math",
            "net",
            "science",
            "sound",
            "text",
            "video",
            "web");
    for (JsonNode p : predictions) {
      assertTrue(sections.contains(p.get("label").asText()), p.toString());
      assertTrue(p.get("model").asText().startsWith("sections-"), p.toString());
      assertEquals(3, p.get("scores").size(), "all three text models scored: " + p);
    }
    String id = predictions.get(1).get("request_id").asText();
    JournalRecord.Input in =
        node.journal().stream()
            .filter(x -> x instanceof JournalRecord.Input && x.requestId().equals(id))
            .map(x -> (JournalRecord.Input) x)
            .findFirst()
            .orElseThrow();
    assertEquals(TensorData.TEXT, in.tensor().dtype());
    assertEquals(List.of(unicode), in.tensor().texts(), "the text exactly as sent");
    assertTrue(JournalJson.toJson(in).contains("\"texts\":[\"" + unicode + "\"]"));
  }

  /** The Open Inference Protocol's BYTES tensor, as a KServe or Triton client writes it in JSON. */
  @Test
  void openInferenceProtocolBytesTensors() throws Exception {
    String body =
        "{\"id\": \"c-1\", \"inputs\": [{\"name\": \"text\", \"shape\": [2],"
            + " \"datatype\": \"BYTES\", \"data\": [\"IMAP and POP3 mail server\","
            + " \"chess engine with a graphical board\"]}]}";
    for (String model : List.of("sections", "sections-mlp")) {
      HttpResponse<String> r =
          node.post(
              "/v2/models/" + model + "/infer",
              "application/json",
              body.getBytes(StandardCharsets.UTF_8));
      assertEquals(200, r.statusCode(), r.body());
      JsonNode out = Json.MAPPER.readTree(r.body());
      assertEquals("c-1", out.get("id").asText());
      assertEquals(2, out.get("outputs").get(1).get("data").size(), r.body());
    }
    JsonNode meta = Json.MAPPER.readTree(node.get("/v2/models/sections").body());
    assertEquals("BYTES", meta.get("inputs").get(0).get("datatype").asText(), meta.toString());
    HttpResponse<String> numbers =
        node.post(
            "/v2/models/sections/infer",
            "application/json",
            ("{\"inputs\": [{\"name\": \"text\", \"shape\": [1], \"datatype\": \"BYTES\","
                    + " \"data\": [0.5]}]}")
                .getBytes(StandardCharsets.UTF_8));
    assertRefused(numbers, "takes text");
    HttpResponse<String> fp32 =
        node.post(
            "/v2/models/sections/infer",
            "application/json",
            ("{\"inputs\": [{\"name\": \"text\", \"shape\": [1], \"datatype\": \"FP32\","
                    + " \"data\": [\"x\"]}]}")
                .getBytes(StandardCharsets.UTF_8));
    assertRefused(fp32, "takes BYTES");
  }

  @Test
  void badTextInputsAreRefusedClearly() throws Exception {
    assertRefused(predict("sections", "{\"instances\": [[0.1, 0.2]]}"), "takes text");
    assertRefused(predict("sections", "{\"instances\": [\"  \"]}"), "is empty");
    assertRefused(
        predict("sections", "{\"instances\": [\"" + "a".repeat(1001) + "\"]}"),
        "1001 characters; at most 1000");
    assertRefused(predict("rendezvous", "{\"instances\": [\"a shirt\"]}"), "takes numbers");
    byte[] badUtf8 = {
      '{',
      '"',
      'i',
      'n',
      's',
      't',
      'a',
      'n',
      'c',
      'e',
      's',
      '"',
      ':',
      '[',
      '"',
      (byte) 0xC3,
      (byte) 0x28,
      '"',
      ']',
      '}'
    };
    HttpResponse<String> r = node.post("/predict?endpoint=sections", "application/json", badUtf8);
    assertEquals(400, r.statusCode(), r.body());
    assertTrue(Json.MAPPER.readTree(r.body()).has("error"), r.body());
  }

  private static void assertRefused(HttpResponse<String> r, String why) throws Exception {
    assertEquals(400, r.statusCode(), r.body());
    String error = Json.MAPPER.readTree(r.body()).get("error").asText();
    assertTrue(error.contains(why), error);
  }
}
