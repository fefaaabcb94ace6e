package io.rendezvous.actors.edge;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rendezvous.model.TensorData;
import io.rendezvous.model.TensorSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Turns request bodies into the tensors the models see: JSON instances (flat or nested), Open
 * Inference Protocol v2 inputs, or an image converted to the endpoint's grayscale square.
 * Everything wrong with an input is an {@link InvalidInput} naming what is wrong; nothing invalid
 * gets through.
 */
public final class InputDecoder {
  private final ObjectMapper json;
  private final InputLimits limits;
  private final ImageDecoder images;

  public InputDecoder(ObjectMapper json, InputLimits limits) {
    this.json = json;
    this.limits = limits;
    this.images = new ImageDecoder(limits);
  }

  /**
   * {@code {"instances": [[...], ...]}}: one tensor of shape [1, features] per instance. The plain
   * shape most clients send is read from the bytes ({@link PlainInstances}); anything else by the
   * full parser.
   */
  public List<TensorData> instances(byte[] body, TensorSpec spec) throws InvalidInput {
    if (TensorData.TEXT.equals(spec.dtype())) {
      return instancesByFullParser(body, spec);
    }
    int features = (int) spec.elementsPerInstance();
    List<float[]> plain = PlainInstances.read(body, features, limits.maxInstances());
    if (plain != null) {
      List<TensorData> tensors = new ArrayList<>(plain.size());
      for (float[] values : plain) {
        tensors.add(TensorData.float32(new long[] {1, features}, values));
      }
      return tensors;
    }
    return instancesByFullParser(body, spec);
  }

  /**
   * Any shape {@link #instances} takes, through the general JSON parser, which names what is wrong.
   * Read as a token stream straight into the float arrays: a tree of 784 number nodes per instance
   * cost more than the rest of the request put together.
   */
  List<TensorData> instancesByFullParser(byte[] body, TensorSpec spec) throws InvalidInput {
    List<List<TensorData>> out = new ArrayList<>(1);
    readObject(
        body,
        (field, value, p) -> {
          if (!"instances".equals(field)) {
            return false;
          }
          if (value != JsonToken.START_ARRAY) {
            throw InvalidInput.malformed("body must be a JSON object with an \"instances\" array");
          }
          out.clear();
          out.add(readInstances(p, spec));
          return true;
        });
    if (out.isEmpty()) {
      throw InvalidInput.malformed("body must be a JSON object with an \"instances\" array");
    }
    checkCount(out.get(0).size());
    return out.get(0);
  }

  private List<TensorData> readInstances(JsonParser p, TensorSpec spec)
      throws IOException, InvalidInput {
    if (TensorData.TEXT.equals(spec.dtype())) {
      return readTexts(p);
    }
    int features = (int) spec.elementsPerInstance();
    List<TensorData> out = new ArrayList<>();
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
      int i = out.size();
      // counted while reading, so an oversized request is refused before it is all decoded
      checkCount(i + 1);
      String where = "instance " + i;
      if (t == JsonToken.VALUE_STRING) {
        throw InvalidInput.malformed(
            where + " is text; this endpoint takes numbers (" + features + " per instance)");
      }
      if (t != JsonToken.START_ARRAY) {
        throw InvalidInput.malformed(where + " must be an array of numbers");
      }
      Floats read = new Floats(features, features);
      readNumbers(p, read, where);
      int n = read.count;
      float[] values = read.values();
      if (n != features) {
        throw InvalidInput.malformed(
            where
                + " has "
                + n
                + " values; "
                + spec.name()
                + " takes "
                + features
                + " per instance (flat, or nested like "
                + describeNested(spec)
                + ")");
      }
      out.add(TensorData.float32(new long[] {1, features}, values));
    }
    return out;
  }

  /**
   * {@code ["taxi to conference", ...]}: one {@code text} tensor per instance, the text exactly as
   * sent. Numbers, arrays, empty or blank texts and texts longer than the limit are refused, each
   * saying which instance and why; bytes that are not UTF-8 fail the parser (400).
   */
  private List<TensorData> readTexts(JsonParser p) throws IOException, InvalidInput {
    List<TensorData> out = new ArrayList<>();
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
      int i = out.size();
      checkCount(i + 1);
      String where = "instance " + i;
      if (t == null) {
        throw InvalidInput.malformed("body is not valid JSON: it ends inside " + where);
      }
      if (t == JsonToken.START_ARRAY
          || t == JsonToken.VALUE_NUMBER_INT
          || t == JsonToken.VALUE_NUMBER_FLOAT) {
        throw InvalidInput.malformed(
            where + " holds numbers; this endpoint takes text: a JSON string per instance");
      }
      if (t != JsonToken.VALUE_STRING) {
        throw InvalidInput.malformed(where + " must be a JSON string (the text)");
      }
      out.add(checkedText(p.getText(), where));
    }
    return out;
  }

  /**
   * Numbers read from a request: kept up to {@code cap}, counted beyond it (to say how many there
   * were).
   */
  private static final class Floats {
    private final int cap;
    private float[] values;
    private int count;

    Floats(int initial, int cap) {
      this.cap = cap;
      this.values = new float[Math.min(initial, cap)];
    }

    void add(float v) {
      if (count < cap) {
        if (count == values.length) {
          values = Arrays.copyOf(values, (int) Math.min(cap, Math.max(16L, 2L * values.length)));
        }
        values[count] = v;
      }
      count++;
    }

    float[] values() {
      return count == values.length ? values : Arrays.copyOf(values, Math.min(count, cap));
    }
  }

  /** Numbers up to the end of the array the parser is in (any nesting) into {@code out}. */
  private static void readNumbers(JsonParser p, Floats out, String where)
      throws IOException, InvalidInput {
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
      if (t == JsonToken.START_ARRAY) {
        readNumbers(p, out, where);
      } else if (t == JsonToken.VALUE_NUMBER_FLOAT || t == JsonToken.VALUE_NUMBER_INT) {
        float f = Decimals.parseFloat(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
        if (!Float.isFinite(f)) {
          throw InvalidInput.malformed(
              where + " holds a value that is not a finite float32: " + p.getText());
        }
        out.add(f);
      } else if (t == null) {
        throw InvalidInput.malformed("body is not valid JSON: it ends inside " + where);
      } else {
        throw InvalidInput.malformed(
            where
                + " holds a non-number: "
                + abbreviate(t == JsonToken.START_OBJECT ? "{...}" : p.getText()));
      }
    }
  }

  /**
   * Open Inference Protocol v2 request: the client's id (may be null) and one tensor per instance.
   */
  public record InferRequest(String clientId, List<TensorData> instances) {}

  /**
   * Reads one field's value; false if the field is not one it knows (the value is then skipped).
   */
  @FunctionalInterface
  private interface FieldReader {
    boolean read(String field, JsonToken value, JsonParser p) throws IOException, InvalidInput;
  }

  /** A JSON object body, field by field, with the same errors for every route. */
  private void readObject(byte[] body, FieldReader fields) throws InvalidInput {
    if (body.length == 0) {
      throw InvalidInput.malformed("body is empty");
    }
    try (JsonParser p = json.getFactory().createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw InvalidInput.malformed("body must be a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        if (!fields.read(field, p.nextToken(), p)) {
          p.skipChildren();
        }
      }
      if (p.nextToken() != null) {
        throw InvalidInput.malformed("body is not valid JSON: content after the top-level object");
      }
    } catch (JsonProcessingException e) {
      throw InvalidInput.malformed("body is not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw InvalidInput.malformed("body cannot be read: " + e.getMessage());
    }
  }

  /** The one tensor of an OIP request, as read; checked against the model's input afterwards. */
  private static final class OipInput {
    String name;
    String datatype;
    boolean shapeIsArray;
    List<JsonToken> shapeTokens = new ArrayList<>();
    List<Long> shape = new ArrayList<>();
    boolean dataIsArray;
    Floats data;
    List<String> texts;
  }

  /**
   * Read as a token stream, like {@link #instances}; the fields of the tensor may come in any
   * order.
   */
  public InferRequest inferRequest(byte[] body, TensorSpec spec) throws InvalidInput {
    int features = (int) spec.elementsPerInstance();
    String[] clientId = {null};
    List<OipInput> inputs = new ArrayList<>();
    boolean[] sawInputs = {false};
    String inputsError =
        "\"inputs\" must be an array with exactly one tensor named \"" + spec.name() + "\"";
    readObject(
        body,
        (field, value, p) -> {
          if ("id".equals(field)) {
            if (value != JsonToken.VALUE_STRING) {
              throw InvalidInput.malformed("\"id\" must be a string");
            }
            clientId[0] = p.getText();
            return true;
          }
          if (!"inputs".equals(field)) {
            return false;
          }
          if (value != JsonToken.START_ARRAY) {
            throw InvalidInput.malformed(inputsError);
          }
          sawInputs[0] = true;
          inputs.clear();
          for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (t != JsonToken.START_OBJECT || !inputs.isEmpty()) {
              throw InvalidInput.malformed(inputsError);
            }
            inputs.add(
                readOipInput(
                    p,
                    (long) limits.maxInstances() * features + 1,
                    TensorData.TEXT.equals(spec.dtype())));
          }
          return true;
        });
    if (!sawInputs[0] || inputs.size() != 1) {
      throw InvalidInput.malformed(inputsError);
    }
    OipInput t = inputs.get(0);
    if (!spec.name().equals(t.name)) {
      throw InvalidInput.malformed(
          "input is named "
              + (t.name == null ? "nothing" : "\"" + t.name + "\"")
              + "; this model takes \""
              + spec.name()
              + "\"");
    }
    if (TensorData.TEXT.equals(spec.dtype())) {
      return new InferRequest(clientId[0], texts(t, spec));
    }
    if (!"FP32".equals(t.datatype)) {
      throw InvalidInput.malformed(
          "datatype " + t.datatype + " is not supported; \"" + spec.name() + "\" takes FP32");
    }
    if (!t.shapeIsArray || t.shapeTokens.size() != spec.shape().size()) {
      throw InvalidInput.malformed(
          "\"shape\" must have " + spec.shape().size() + " dimensions like " + spec.shape());
    }
    long[] shape = new long[t.shapeTokens.size()];
    for (int i = 0; i < shape.length; i++) {
      if (t.shapeTokens.get(i) != JsonToken.VALUE_NUMBER_INT || t.shape.get(i) < 1) {
        throw InvalidInput.malformed("\"shape\" must hold positive integers");
      }
      shape[i] = t.shape.get(i);
      long want = spec.shape().get(i);
      if (want >= 0 && want != shape[i]) {
        throw InvalidInput.malformed(
            "shape " + TensorData.describe(shape) + " does not fit " + spec.shape());
      }
    }
    checkCount(shape[0]);
    if (!t.dataIsArray) {
      throw InvalidInput.malformed("\"data\" must be an array of numbers");
    }
    long needed = shape[0] * features;
    if (t.data.count != needed) {
      throw InvalidInput.malformed(
          "\"data\" has "
              + t.data.count
              + " values; shape "
              + TensorData.describe(shape)
              + " needs "
              + needed);
    }
    float[] values = t.data.values();
    List<TensorData> out = new ArrayList<>((int) shape[0]);
    for (int i = 0; i < shape[0]; i++) {
      out.add(
          TensorData.float32(
              new long[] {1, features},
              Arrays.copyOfRange(values, i * features, (i + 1) * features)));
    }
    return new InferRequest(clientId[0], out);
  }

  /**
   * One tensor object of "inputs"; the parser is at its START_OBJECT. Numbers past {@code cap} are
   * only counted.
   */
  /**
   * A {@code BYTES} tensor of shape [n] with n strings in {@code data}: one {@code text} tensor per
   * string, each checked like a text instance.
   */
  private List<TensorData> texts(OipInput t, TensorSpec spec) throws InvalidInput {
    if (!"BYTES".equals(t.datatype)) {
      throw InvalidInput.malformed(
          "datatype " + t.datatype + " is not supported; \"" + spec.name() + "\" takes BYTES");
    }
    if (!t.shapeIsArray
        || t.shapeTokens.size() != 1
        || t.shapeTokens.get(0) != JsonToken.VALUE_NUMBER_INT
        || t.shape.get(0) < 1) {
      throw InvalidInput.malformed("\"shape\" must be [n]: the number of texts");
    }
    long n = t.shape.get(0);
    checkCount(n);
    if (!t.dataIsArray || t.texts == null) {
      throw InvalidInput.malformed("\"data\" must be an array of strings");
    }
    if (t.texts.size() != n) {
      throw InvalidInput.malformed(
          "\"data\" has " + t.texts.size() + " strings; shape [" + n + "] needs " + n);
    }
    List<TensorData> out = new ArrayList<>(t.texts.size());
    for (int i = 0; i < t.texts.size(); i++) {
      out.add(checkedText(t.texts.get(i), "text " + i));
    }
    return out;
  }

  /** One text, refused when blank or longer than the limit. */
  private TensorData checkedText(String text, String where) throws InvalidInput {
    if (text.isBlank()) {
      throw InvalidInput.malformed(where + " is empty; a text to classify is needed");
    }
    int chars = text.codePointCount(0, text.length());
    if (chars > limits.maxTextChars()) {
      throw InvalidInput.malformed(
          where + " has " + chars + " characters; at most " + limits.maxTextChars());
    }
    return TensorData.text(text);
  }

  private static OipInput readOipInput(JsonParser p, long cap, boolean text)
      throws IOException, InvalidInput {
    OipInput in = new OipInput();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      switch (field) {
        case "name" -> in.name = value.isScalarValue() ? p.getText() : skip(p);
        case "datatype" -> in.datatype = value.isScalarValue() ? p.getText() : skip(p);
        case "shape" -> {
          in.shapeIsArray = value == JsonToken.START_ARRAY;
          if (in.shapeIsArray) {
            for (JsonToken d = p.nextToken(); d != JsonToken.END_ARRAY; d = p.nextToken()) {
              in.shapeTokens.add(d);
              in.shape.add(
                  d == JsonToken.VALUE_NUMBER_INT
                          && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER
                      ? p.getLongValue()
                      : 0L);
              p.skipChildren();
            }
          } else {
            p.skipChildren();
          }
        }
        case "data" -> {
          in.dataIsArray = value == JsonToken.START_ARRAY;
          if (in.dataIsArray && text) {
            in.texts = new ArrayList<>();
            for (JsonToken d = p.nextToken(); d != JsonToken.END_ARRAY; d = p.nextToken()) {
              if (d != JsonToken.VALUE_STRING) {
                throw InvalidInput.malformed(
                    "\"data\" holds "
                        + (d == JsonToken.START_ARRAY || d.isNumeric() ? "numbers" : "a non-string")
                        + "; this model takes text: BYTES, a JSON string per text");
              }
              if (in.texts.size() > cap) {
                throw InvalidInput.tooLarge("more texts than a request may hold");
              }
              in.texts.add(p.getText());
            }
          } else if (in.dataIsArray) {
            in.data = new Floats(1024, (int) Math.min(Integer.MAX_VALUE - 8, cap));
            readNumbers(p, in.data, "data");
          } else {
            p.skipChildren();
          }
        }
        default -> p.skipChildren();
      }
    }
    return in;
  }

  private static String skip(JsonParser p) throws IOException {
    p.skipChildren();
    return null;
  }

  /**
   * An image (any size ImageIO reads) as one grayscale instance, scaled to the endpoint's square
   * and to 0..1 ({@link ImageDecoder}).
   */
  public TensorData image(byte[] body, TensorSpec spec) throws InvalidInput {
    return images.image(body, spec);
  }

  public static String sha256(byte[] bytes) {
    return ImageDecoder.sha256(bytes);
  }

  private void checkCount(long n) throws InvalidInput {
    if (n < 1) {
      throw InvalidInput.malformed("no instances in the request");
    }
    if (n > limits.maxInstances()) {
      throw InvalidInput.tooLarge(
          n + " instances in one request; the limit is " + limits.maxInstances());
    }
  }

  private static String describeNested(TensorSpec spec) {
    int side = (int) Math.round(Math.sqrt(spec.elementsPerInstance()));
    return side * side == spec.elementsPerInstance()
        ? side + "x" + side
        : "[" + spec.elementsPerInstance() + "]";
  }

  private static String abbreviate(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "...";
  }
}
