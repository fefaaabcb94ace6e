package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.workers.data.FashionMnist;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Open Inference Protocol's binary tensor data extension (Triton's) on a real node: FP32 and
 * BYTES inputs as raw bytes after a JSON header reach the models as exactly the tensors the same
 * request in JSON gives (the journal's bits) and get its answers; outputs come back binary when
 * asked (per output or for all), byte-exact against the JSON answer; only the outputs asked for are
 * returned; a body that does not add up is a 400 saying why.
 */
class OipBinaryTest {
  @TempDir static Path dir;
  static TestNode node;
  static final HttpClient http = HttpClient.newHttpClient();
  static final List<FashionMnist.Sample> SAMPLES = FashionMnist.load().holdout().subList(0, 3);

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start(dir, "");
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  static HttpResponse<byte[]> post(String path, String contentType, Integer jsonLength, byte[] body)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(node.uri(path))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", contentType)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (jsonLength != null) {
      b.header("Inference-Header-Content-Length", jsonLength.toString());
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  /** A JSON header and the binary data after it. */
  static byte[] concat(String json, byte[] binary) {
    byte[] head = json.getBytes(StandardCharsets.UTF_8);
    byte[] out = Arrays.copyOf(head, head.length + binary.length);
    System.arraycopy(binary, 0, out, head.length, binary.length);
    return out;
  }

  static byte[] floats(List<FashionMnist.Sample> samples) {
    ByteBuffer b =
        ByteBuffer.allocate(samples.size() * FashionMnist.PIXELS * Float.BYTES)
            .order(ByteOrder.LITTLE_ENDIAN);
    for (FashionMnist.Sample s : samples) {
      for (float f : s.scaled()) {
        b.putFloat(f);
      }
    }
    return b.array();
  }

  static byte[] texts(String... texts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (String t : texts) {
      byte[] utf8 = t.getBytes(StandardCharsets.UTF_8);
      out.writeBytes(
          ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(utf8.length).array());
      out.writeBytes(utf8);
    }
    return out.toByteArray();
  }

  /** The same images in JSON, every float written so it reads back exactly. */
  static String jsonImages(List<FashionMnist.Sample> samples, String extra) {
    StringBuilder data = new StringBuilder();
    for (FashionMnist.Sample s : samples) {
      for (float f : s.scaled()) {
        data.append(data.length() == 0 ? "" : ",").append(Float.toString(f));
      }
    }
    return "{\"inputs\":[{\"name\":\"input\",\"shape\":["
        + samples.size()
        + ",784],\"datatype\":\"FP32\",\"data\":["
        + data
        + "]}]"
        + extra
        + "}";
  }

  static float[] journaledInput(String requestId) {
    return node.journal().stream()
        .filter(r -> r instanceof JournalRecord.Input && r.requestId().equals(requestId))
        .map(r -> ((JournalRecord.Input) r).tensor().asFloats())
        .findFirst()
        .orElseThrow(() -> new AssertionError("no input journaled for " + requestId));
  }

  static float[] jsonProbabilities(JsonNode answer) {
    JsonNode data = answer.get("outputs").get(0).get("data");
    float[] out = new float[data.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = data.get(i).floatValue();
    }
    return out;
  }

  @Test
  void binaryFp32InputsAndOutputsAreExactlyTheJsonOnes() throws Exception {
    HttpResponse<byte[]> asJson =
        post(
            "/v2/models/m3/infer",
            "application/json",
            null,
            jsonImages(SAMPLES, "").getBytes(StandardCharsets.UTF_8));
    assertEquals(200, asJson.statusCode(), new String(asJson.body(), StandardCharsets.UTF_8));
    JsonNode reference = Json.MAPPER.readTree(asJson.body());
    float[] expected = jsonProbabilities(reference);

    String header =
        "{\"inputs\":[{\"name\":\"input\",\"shape\":[3,784],\"datatype\":\"FP32\","
            + "\"parameters\":{\"binary_data_size\":"
            + 3 * 784 * 4
            + "}}]}";
    byte[] body = concat(header, floats(SAMPLES));
    HttpResponse<byte[]> binIn =
        post("/v2/models/m3/infer", "application/octet-stream", header.length(), body);
    assertEquals(200, binIn.statusCode(), new String(binIn.body(), StandardCharsets.UTF_8));
    JsonNode binAnswer = Json.MAPPER.readTree(binIn.body());
    assertEquals(reference.get("outputs").get(1), binAnswer.get("outputs").get(1), "same labels");
    // the very tensors the models scored, as the journal keeps them: the same bits either way
    JsonNode jsonIds = reference.get("parameters").get("request_ids");
    JsonNode binIds = binAnswer.get("parameters").get("request_ids");
    for (int i = 0; i < SAMPLES.size(); i++) {
      assertArrayEquals(
          journaledInput(jsonIds.get(i).asText()), journaledInput(binIds.get(i).asText()));
      assertArrayEquals(SAMPLES.get(i).scaled(), journaledInput(binIds.get(i).asText()));
    }

    // one image (scored alone either way, so the same floats come out), every output binary:
    // the JSON header says each one's size, the bytes follow in order
    HttpResponse<byte[]> one =
        post(
            "/v2/models/m3/infer",
            "application/json",
            null,
            jsonImages(SAMPLES.subList(0, 1), "").getBytes(StandardCharsets.UTF_8));
    reference = Json.MAPPER.readTree(one.body());
    expected = jsonProbabilities(reference);
    String oneHeader =
        "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\","
            + "\"parameters\":{\"binary_data_size\":3136}}]}";
    String allBinary =
        oneHeader.substring(0, oneHeader.length() - 1)
            + ",\"parameters\":{\"binary_data_output\":true}}";
    HttpResponse<byte[]> binOut =
        post(
            "/v2/models/m3/infer",
            "application/octet-stream",
            allBinary.length(),
            concat(allBinary, floats(SAMPLES.subList(0, 1))));
    assertEquals(200, binOut.statusCode());
    int jsonLength =
        Integer.parseInt(
            binOut.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
    JsonNode head = Json.MAPPER.readTree(Arrays.copyOf(binOut.body(), jsonLength));
    JsonNode probs = head.get("outputs").get(0);
    JsonNode label = head.get("outputs").get(1);
    assertTrue(!probs.has("data") && !label.has("data"), head.toString());
    int probBytes = probs.get("parameters").get("binary_data_size").asInt();
    assertEquals(expected.length * 4, probBytes);
    ByteBuffer rest =
        ByteBuffer.wrap(binOut.body(), jsonLength, binOut.body().length - jsonLength)
            .order(ByteOrder.LITTLE_ENDIAN);
    float[] got = new float[expected.length];
    rest.asFloatBuffer().get(got);
    assertArrayEquals(expected, got, "byte-exact against the JSON answer");
    rest.position(rest.position() + probBytes);
    List<String> labels = new ArrayList<>();
    while (rest.hasRemaining()) {
      byte[] utf8 = new byte[rest.getInt()];
      rest.get(utf8);
      labels.add(new String(utf8, StandardCharsets.UTF_8));
    }
    List<String> jsonLabels = new ArrayList<>();
    reference.get("outputs").get(1).get("data").forEach(l -> jsonLabels.add(l.asText()));
    assertEquals(jsonLabels, labels);
    assertEquals(
        label.get("parameters").get("binary_data_size").asInt(),
        binOut.body().length - jsonLength - probBytes);
  }

  @Test
  void onlyTheOutputsAskedForComeBackEachAsAsked() throws Exception {
    // JSON in, one output binary and the other not asked for
    String json =
        jsonImages(
            SAMPLES.subList(0, 1),
            ",\"outputs\":[{\"name\":\"probabilities\",\"parameters\":{\"binary_data\":true}}]");
    HttpResponse<byte[]> r =
        post(
            "/v2/models/m3/infer", "application/json", null, json.getBytes(StandardCharsets.UTF_8));
    assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
    int jsonLength =
        Integer.parseInt(r.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
    JsonNode head = Json.MAPPER.readTree(Arrays.copyOf(r.body(), jsonLength));
    assertEquals(1, head.get("outputs").size(), head.toString());
    assertEquals("probabilities", head.get("outputs").get(0).get("name").asText());
    assertEquals(10 * 4, r.body().length - jsonLength);

    // the label only, in JSON
    String labelOnly = jsonImages(SAMPLES.subList(0, 1), ",\"outputs\":[{\"name\":\"label\"}]");
    JsonNode a =
        Json.MAPPER.readTree(
            post(
                    "/v2/models/m3/infer",
                    "application/json",
                    null,
                    labelOnly.getBytes(StandardCharsets.UTF_8))
                .body());
    assertEquals(1, a.get("outputs").size(), a.toString());
    assertEquals("label", a.get("outputs").get(0).get("name").asText());
    assertEquals(1, a.get("outputs").get(0).get("data").size());

    String unknown = jsonImages(SAMPLES.subList(0, 1), ",\"outputs\":[{\"name\":\"logits\"}]");
    HttpResponse<byte[]> bad =
        post(
            "/v2/models/m3/infer",
            "application/json",
            null,
            unknown.getBytes(StandardCharsets.UTF_8));
    assertEquals(400, bad.statusCode());
    assertTrue(
        new String(bad.body(), StandardCharsets.UTF_8)
            .contains("output \\\"logits\\\" is not one of [probabilities, label]"),
        new String(bad.body(), StandardCharsets.UTF_8));
  }

  @Test
  void binaryBytesTensorsCarryTexts() throws Exception {
    String[] texts = {"IMAP and POP3 mail server", "Éditeur de texte für große Dateien"};
    ObjectNode json = Json.object();
    ObjectNode in = json.putArray("inputs").addObject();
    in.put("name", "text").put("datatype", "BYTES").putArray("shape").add(2);
    in.putArray("data").add(texts[0]).add(texts[1]);
    HttpResponse<byte[]> asJson =
        post(
            "/v2/models/sections-mlp/infer",
            "application/json",
            null,
            json.toString().getBytes(StandardCharsets.UTF_8));
    assertEquals(200, asJson.statusCode(), new String(asJson.body(), StandardCharsets.UTF_8));

    byte[] binary = texts(texts);
    String header =
        "{\"inputs\":[{\"name\":\"text\",\"shape\":[2],\"datatype\":\"BYTES\","
            + "\"parameters\":{\"binary_data_size\":"
            + binary.length
            + "}}]}";
    HttpResponse<byte[]> binIn =
        post(
            "/v2/models/sections-mlp/infer",
            "application/octet-stream",
            header.getBytes(StandardCharsets.UTF_8).length,
            concat(header, binary));
    assertEquals(200, binIn.statusCode(), new String(binIn.body(), StandardCharsets.UTF_8));
    // (two instances may be scored together or apart, as the workers are free: the same to 1e-5)
    assertArrayEquals(
        jsonProbabilities(Json.MAPPER.readTree(asJson.body())),
        jsonProbabilities(Json.MAPPER.readTree(binIn.body())),
        1e-5f);
    JsonNode ids = Json.MAPPER.readTree(binIn.body()).get("parameters").get("request_ids");
    for (int i = 0; i < texts.length; i++) {
      String id = ids.get(i).asText();
      assertEquals(
          List.of(texts[i]),
          node.journal().stream()
              .filter(r -> r instanceof JournalRecord.Input && r.requestId().equals(id))
              .map(r -> ((JournalRecord.Input) r).tensor().texts())
              .findFirst()
              .orElseThrow(),
          "the text exactly as sent");
    }
    assertEquals(
        Json.MAPPER.readTree(asJson.body()).get("outputs").get(1).get("data"),
        Json.MAPPER.readTree(binIn.body()).get("outputs").get(1).get("data"));
  }

  /**
   * FP64 and FP16 tensors (JSON or binary) are converted to the float32 the models take; a datatype
   * with no float meaning is refused naming the ones taken.
   */
  @Test
  void fp64AndFp16AreConvertedOtherDatatypesRefused() throws Exception {
    FashionMnist.Sample s = SAMPLES.get(0);
    float[] x = s.scaled();
    // FP64 binary: the doubles of the float32 pixels, so the conversion is exact
    ByteBuffer doubles = ByteBuffer.allocate(784 * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : x) {
      doubles.putDouble(f);
    }
    String fp64 =
        "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP64\","
            + "\"parameters\":{\"binary_data_size\":6272}}]}";
    HttpResponse<byte[]> r =
        post(
            "/v2/models/m3/infer",
            "application/octet-stream",
            fp64.length(),
            concat(fp64, doubles.array()));
    assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
    String id = Json.MAPPER.readTree(r.body()).get("parameters").get("request_ids").get(0).asText();
    assertArrayEquals(x, journaledInput(id));

    // FP64 in JSON: numbers are numbers
    String json = jsonImages(List.of(s), "").replace("\"FP32\"", "\"FP64\"");
    r =
        post(
            "/v2/models/m3/infer", "application/json", null, json.getBytes(StandardCharsets.UTF_8));
    assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));

    // FP16 binary: halves of values a half holds exactly, subnormal and negative included
    short[] halves = {0x0000, 0x3800, 0x3C00, 0x3400, (short) 0xC000, 0x0001};
    float[] want = {0f, 0.5f, 1f, 0.25f, -2f, 0x1p-24f};
    ByteBuffer h = ByteBuffer.allocate(784 * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 784; i++) {
      h.putShort(halves[i % halves.length]);
    }
    String fp16 =
        "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP16\","
            + "\"parameters\":{\"binary_data_size\":1568}}]}";
    r =
        post(
            "/v2/models/m3/infer",
            "application/octet-stream",
            fp16.length(),
            concat(fp16, h.array()));
    assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
    float[] got =
        journaledInput(
            Json.MAPPER.readTree(r.body()).get("parameters").get("request_ids").get(0).asText());
    for (int i = 0; i < 784; i++) {
      assertEquals(want[i % want.length], got[i], "half " + i);
    }

    String int32 = jsonImages(List.of(s), "").replace("\"FP32\"", "\"INT32\"");
    assertRefused(
        post(
            "/v2/models/m3/infer",
            "application/json",
            null,
            int32.getBytes(StandardCharsets.UTF_8)),
        400,
        "datatype INT32 is not supported; \"input\" takes FP32 (FP64 and FP16 are converted to it)");
  }

  @Test
  void bodiesThatDoNotAddUpAreRefusedSayingWhy() throws Exception {
    String fp32 =
        "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\","
            + "\"parameters\":{\"binary_data_size\":3136}}]}";
    byte[] one = floats(SAMPLES.subList(0, 1));
    assertRefused(
        post(
            "/v2/models/m3/infer",
            "application/octet-stream",
            fp32.length(),
            concat(fp32, Arrays.copyOf(one, 3000))),
        400,
        "but 3000 bytes follow the JSON header");
    assertRefused(
        post("/v2/models/m3/infer", "application/octet-stream", 99_999, concat(fp32, one)),
        400,
        "Inference-Header-Content-Length is 99999 but the body has");
    assertRefused(
        post("/v2/models/m3/infer", "application/octet-stream", -4, concat(fp32, one)),
        400,
        "must be the JSON header's length");
    assertRefused(
        post("/v2/models/m3/infer", "application/json", null, concat(fp32, new byte[0])),
        400,
        "no Inference-Header-Content-Length header");
    assertRefused(
        post("/v2/models/m3/infer", "application/octet-stream", null, one),
        415,
        "Inference-Header-Content-Length");
    String plain = jsonImages(SAMPLES.subList(0, 1), "");
    assertRefused(
        post(
            "/v2/models/m3/infer",
            "application/octet-stream",
            plain.length(),
            concat(plain, new byte[] {1, 2, 3, 4})),
        400,
        "no input gives \\\"binary_data_size\\\"");
    String wrongShape =
        "{\"inputs\":[{\"name\":\"input\",\"shape\":[2,784],\"datatype\":\"FP32\","
            + "\"parameters\":{\"binary_data_size\":3136}}]}";
    assertRefused(
        post(
            "/v2/models/m3/infer",
            "application/octet-stream",
            wrongShape.length(),
            concat(wrongShape, one)),
        400,
        "of FP32 needs 6272");

    byte[] nan = Arrays.copyOf(one, one.length);
    ByteBuffer.wrap(nan).order(ByteOrder.LITTLE_ENDIAN).putFloat(4 * 7, Float.NaN);
    assertRefused(
        post("/v2/models/m3/infer", "application/octet-stream", fp32.length(), concat(fp32, nan)),
        400,
        "not a finite float32 (instance 0, element 7: NaN)");

    byte[] badUtf8 = {2, 0, 0, 0, (byte) 0xC3, (byte) 0x28};
    String text =
        "{\"inputs\":[{\"name\":\"text\",\"shape\":[1],\"datatype\":\"BYTES\","
            + "\"parameters\":{\"binary_data_size\":6}}]}";
    assertRefused(
        post(
            "/v2/models/sections-mlp/infer",
            "application/octet-stream",
            text.length(),
            concat(text, badUtf8)),
        400,
        "BYTES element 0 is not valid UTF-8");
    byte[] cut = {9, 0, 0, 0, 'a', 'b'};
    assertRefused(
        post(
            "/v2/models/sections-mlp/infer",
            "application/octet-stream",
            text.length(),
            concat(text, cut)),
        400,
        "BYTES element 0 says 9 bytes but 2 remain");
  }

  static void assertRefused(HttpResponse<byte[]> r, int status, String says) throws Exception {
    String body = new String(r.body(), StandardCharsets.UTF_8);
    assertEquals(status, r.statusCode(), body);
    assertTrue(
        Json.MAPPER.readTree(body).get("error").asText().contains(says.replace("\\\"", "\"")),
        body);
  }
}
