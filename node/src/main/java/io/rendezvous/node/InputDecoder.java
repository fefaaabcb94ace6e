package io.rendezvous.node;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rendezvous.workers.model.TensorData;
import io.rendezvous.workers.model.TensorSpec;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Turns request bodies into the tensors the models see: JSON instances (flat or nested), Open
 * Inference Protocol v2 inputs, or an image converted to the endpoint's grayscale square. Everything
 * wrong with an input is a {@link BadRequest} naming what is wrong; nothing invalid gets through.
 */
public final class InputDecoder {
  private final ObjectMapper json;
  private final HttpSettings http;

  public InputDecoder(ObjectMapper json, HttpSettings http) {
    this.json = json;
    this.http = http;
  }

  /**
   * {@code {"instances": [[...], ...]}}: one tensor of shape [1, features] per instance. Read as a token
   * stream straight into the float arrays: a tree of 784 number nodes per instance cost more than the
   * rest of the request put together (see README, benchmarks).
   */
  public List<TensorData> instances(byte[] body, TensorSpec spec) throws BadRequest {
    if (body.length == 0) {
      throw new BadRequest(400, "body is empty");
    }
    List<TensorData> out = null;
    try (JsonParser p = json.getFactory().createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new BadRequest(400, "body must be a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if ("instances".equals(field)) {
          if (value != JsonToken.START_ARRAY) {
            throw new BadRequest(400, "body must be a JSON object with an \"instances\" array");
          }
          out = readInstances(p, spec);
        } else {
          p.skipChildren();
        }
      }
      if (p.nextToken() != null) {
        throw new BadRequest(400, "body is not valid JSON: content after the top-level object");
      }
    } catch (JsonProcessingException e) {
      throw new BadRequest(400, "body is not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new BadRequest(400, "body cannot be read: " + e.getMessage());
    }
    if (out == null) {
      throw new BadRequest(400, "body must be a JSON object with an \"instances\" array");
    }
    checkCount(out.size());
    return out;
  }

  private List<TensorData> readInstances(JsonParser p, TensorSpec spec) throws IOException, BadRequest {
    int features = (int) spec.elementsPerInstance();
    List<TensorData> out = new ArrayList<>();
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
      int i = out.size();
      // counted while reading, so an oversized request is refused before it is all decoded
      checkCount(i + 1);
      String where = "instance " + i;
      if (t != JsonToken.START_ARRAY) {
        throw new BadRequest(400, where + " must be an array of numbers");
      }
      float[] values = new float[features];
      int n = readNumbers(p, values, 0, where);
      if (n != features) {
        throw new BadRequest(400, where + " has " + n + " values; " + spec.name()
            + " takes " + features + " per instance (flat, or nested like " + describeNested(spec) + ")");
      }
      out.add(TensorData.float32(new long[] {1, features}, values));
    }
    return out;
  }

  /** Numbers up to the end of the array the parser is in (any nesting) into {@code out}; returns the count. */
  private static int readNumbers(JsonParser p, float[] out, int at, String where) throws IOException, BadRequest {
    int n = at;
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
      if (t == JsonToken.START_ARRAY) {
        n = readNumbers(p, out, n, where);
      } else if (t == JsonToken.VALUE_NUMBER_FLOAT || t == JsonToken.VALUE_NUMBER_INT) {
        double d = p.getDoubleValue();
        if (!Double.isFinite(d) || Math.abs(d) > Float.MAX_VALUE) {
          throw new BadRequest(400, where + " holds a value that is not a finite float32: " + p.getText());
        }
        if (n < out.length) {
          out[n] = (float) d;
        }
        n++;
      } else if (t == null) {
        throw new BadRequest(400, "body is not valid JSON: it ends inside " + where);
      } else {
        throw new BadRequest(400, where + " holds a non-number: " + abbreviate(t == JsonToken.START_OBJECT ? "{...}" : p.getText()));
      }
    }
    return n;
  }

  /** Open Inference Protocol v2 request: the client's id (may be null) and one tensor per instance. */
  public record InferRequest(String clientId, List<TensorData> instances) {}

  public InferRequest inferRequest(byte[] body, TensorSpec spec) throws BadRequest {
    JsonNode root = parse(body);
    String clientId = null;
    if (root.has("id")) {
      if (!root.get("id").isTextual()) {
        throw new BadRequest(400, "\"id\" must be a string");
      }
      clientId = root.get("id").asText();
    }
    JsonNode inputs = root.get("inputs");
    if (inputs == null || !inputs.isArray() || inputs.size() != 1) {
      throw new BadRequest(400, "\"inputs\" must be an array with exactly one tensor named \"" + spec.name() + "\"");
    }
    JsonNode t = inputs.get(0);
    String name = t.path("name").asText(null);
    if (!spec.name().equals(name)) {
      throw new BadRequest(400, "input is named " + (name == null ? "nothing" : "\"" + name + "\"")
          + "; this model takes \"" + spec.name() + "\"");
    }
    String datatype = t.path("datatype").asText(null);
    if (!"FP32".equals(datatype)) {
      throw new BadRequest(400, "datatype " + datatype + " is not supported; \"" + spec.name() + "\" takes FP32");
    }
    JsonNode shapeNode = t.get("shape");
    if (shapeNode == null || !shapeNode.isArray() || shapeNode.size() != spec.shape().size()) {
      throw new BadRequest(400, "\"shape\" must have " + spec.shape().size() + " dimensions like " + spec.shape());
    }
    long[] shape = new long[shapeNode.size()];
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = shapeNode.get(i);
      if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 1) {
        throw new BadRequest(400, "\"shape\" must hold positive integers");
      }
      shape[i] = d.asLong();
      long want = spec.shape().get(i);
      if (want >= 0 && want != shape[i]) {
        throw new BadRequest(400, "shape " + TensorData.describe(shape) + " does not fit " + spec.shape());
      }
    }
    checkCount(shape[0]);
    int features = (int) spec.elementsPerInstance();
    float[] values = new float[(int) shape[0] * features];
    JsonNode data = t.get("data");
    if (data == null || !data.isArray()) {
      throw new BadRequest(400, "\"data\" must be an array of numbers");
    }
    int n = flatten(data, values, 0, "data");
    if (n != values.length) {
      throw new BadRequest(400, "\"data\" has " + n + " values; shape " + TensorData.describe(shape) + " needs " + values.length);
    }
    List<TensorData> out = new ArrayList<>((int) shape[0]);
    for (int i = 0; i < shape[0]; i++) {
      float[] one = new float[features];
      System.arraycopy(values, i * features, one, 0, features);
      out.add(TensorData.float32(new long[] {1, features}, one));
    }
    return new InferRequest(clientId, out);
  }

  /**
   * An image (any size ImageIO reads) as one grayscale instance, scaled to the endpoint's square and to
   * 0..1. Dimensions are read from the header and capped before the pixels are decoded.
   */
  public TensorData image(byte[] body, TensorSpec spec) throws BadRequest {
    int side = (int) Math.round(Math.sqrt(spec.elementsPerInstance()));
    if (side * side != spec.elementsPerInstance()) {
      throw new BadRequest(415, "this endpoint's input is not a square image; send JSON");
    }
    if (body.length == 0) {
      throw new BadRequest(400, "body is empty");
    }
    BufferedImage image;
    try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(body))) {
      Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
      if (readers == null || !readers.hasNext()) {
        throw new BadRequest(400, "body is not an image ImageIO can read (PNG or JPEG)");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        int w = reader.getWidth(0);
        int h = reader.getHeight(0);
        if (w < 1 || h < 1 || w > http.maxImageSide() || h > http.maxImageSide()
            || (long) w * h > http.maxImagePixels()) {
          throw new BadRequest(413, "image is " + w + "x" + h + "; the limit is " + http.maxImageSide()
              + " per side and " + http.maxImagePixels() + " pixels");
        }
        image = reader.read(0);
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      throw new BadRequest(400, "image cannot be decoded: " + e.getMessage());
    }
    BufferedImage gray = new BufferedImage(side, side, BufferedImage.TYPE_BYTE_GRAY);
    Graphics2D g = gray.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
      g.drawImage(image, 0, 0, side, side, null);
    } finally {
      g.dispose();
    }
    float[] values = new float[side * side];
    byte[] pixels = ((java.awt.image.DataBufferByte) gray.getRaster().getDataBuffer()).getData();
    for (int i = 0; i < values.length; i++) {
      values[i] = (pixels[i] & 0xFF) / 255f;
    }
    return TensorData.float32(new long[] {1, values.length}, values);
  }

  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private JsonNode parse(byte[] body) throws BadRequest {
    if (body.length == 0) {
      throw new BadRequest(400, "body is empty");
    }
    try {
      JsonNode root = json.readTree(body);
      if (root == null || !root.isObject()) {
        throw new BadRequest(400, "body must be a JSON object");
      }
      return root;
    } catch (JsonProcessingException e) {
      throw new BadRequest(400, "body is not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new BadRequest(400, "body cannot be read: " + e.getMessage());
    }
  }

  private void checkCount(long n) throws BadRequest {
    if (n < 1) {
      throw new BadRequest(400, "no instances in the request");
    }
    if (n > http.maxInstances()) {
      throw new BadRequest(413, n + " instances in one request; the limit is " + http.maxInstances());
    }
  }

  /** Copies the numbers under {@code node} (any nesting) into {@code out}; returns how many there were. */
  private static int flatten(JsonNode node, float[] out, int at, String where) throws BadRequest {
    if (!node.isArray()) {
      throw new BadRequest(400, where + " must be an array of numbers");
    }
    int n = at;
    for (JsonNode v : node) {
      if (v.isArray()) {
        n = flatten(v, out, n, where);
      } else if (v.isNumber()) {
        double d = v.doubleValue();
        if (!Double.isFinite(d) || Math.abs(d) > Float.MAX_VALUE) {
          throw new BadRequest(400, where + " holds a value that is not a finite float32: " + v.asText());
        }
        if (n < out.length) {
          out[n] = (float) d;
        }
        n++;
      } else {
        throw new BadRequest(400, where + " holds a non-number: " + abbreviate(v.toString()));
      }
    }
    return n;
  }

  private static String describeNested(TensorSpec spec) {
    int side = (int) Math.round(Math.sqrt(spec.elementsPerInstance()));
    return side * side == spec.elementsPerInstance() ? side + "x" + side : "[" + spec.elementsPerInstance() + "]";
  }

  private static String abbreviate(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "...";
  }
}
