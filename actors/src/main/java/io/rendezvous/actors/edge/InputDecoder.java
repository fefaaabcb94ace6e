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
  /**
   * An OIP infer request as read: the client's id, the instances, and what the client asked of the
   * response ({@link OutputRequest}s, empty for every output; {@code binaryOutputs} from the
   * request's {@code binary_data_output} parameter).
   */
  public record InferRequest(
      String clientId,
      List<TensorData> instances,
      List<OutputRequest> outputs,
      boolean binaryOutputs) {
    public InferRequest(String clientId, List<TensorData> instances) {
      this(clientId, instances, List.of(), false);
    }

    public InferRequest withClientId(String id) {
      return new InferRequest(id, instances, outputs, binaryOutputs);
    }
  }

  /**
   * An output the client asked for by name; {@code binary}: its {@code binary_data} parameter (null
   * when not given: the request's {@code binary_data_output} decides).
   */
  public record OutputRequest(String name, Boolean binary) {}

  /**
   * Reads one field's value; false if the field is not one it knows (the value is then skipped).
   */
  @FunctionalInterface
  private interface FieldReader {
    boolean read(String field, JsonToken value, JsonParser p) throws IOException, InvalidInput;
  }

  /** A JSON object body, field by field, with the same errors for every route. */
  private void readObject(byte[] body, FieldReader fields) throws InvalidInput {
    readObject(body, body.length, fields);
  }

  /** The same, of the first {@code length} bytes of {@code body}. */
  private void readObject(byte[] body, int length, FieldReader fields) throws InvalidInput {
    if (length == 0) {
      throw InvalidInput.malformed("body is empty");
    }
    try (JsonParser p = json.getFactory().createParser(body, 0, length)) {
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

    /** The {@code binary_data_size} parameter (the binary extension); -1 when not given. */
    long binarySize = -1;
  }

  /**
   * Read as a token stream, like {@link #instances}; the fields of the tensor may come in any
   * order.
   */
  public InferRequest inferRequest(byte[] body, TensorSpec spec) throws InvalidInput {
    return inferRequest(body, -1, spec);
  }

  /**
   * The same with the binary tensor data extension (Triton's): {@code headerLength} (the request's
   * {@code Inference-Header-Content-Length}; -1 when it has none) is the length of the JSON that
   * starts the body; the input whose parameters give {@code binary_data_size} is that many bytes
   * after it (FP32: little-endian floats; BYTES: each text's UTF-8 after its 4-byte little-endian
   * length).
   */
  public InferRequest inferRequest(byte[] body, int headerLength, TensorSpec spec)
      throws InvalidInput {
    if (headerLength > body.length) {
      throw InvalidInput.malformed(
          "Inference-Header-Content-Length is "
              + headerLength
              + " but the body has "
              + body.length
              + " bytes");
    }
    int jsonLength = headerLength < 0 ? body.length : headerLength;
    int features = (int) spec.elementsPerInstance();
    String[] clientId = {null};
    List<OutputRequest> outputs = new ArrayList<>();
    boolean[] binaryOutputs = {false};
    List<OipInput> inputs = new ArrayList<>();
    boolean[] sawInputs = {false};
    String inputsError =
        "\"inputs\" must be an array with exactly one tensor named \"" + spec.name() + "\"";
    readObject(
        body,
        jsonLength,
        (field, value, p) -> {
          if ("id".equals(field)) {
            if (value != JsonToken.VALUE_STRING) {
              throw InvalidInput.malformed("\"id\" must be a string");
            }
            clientId[0] = p.getText();
            return true;
          }
          if ("parameters".equals(field)) {
            binaryOutputs[0] = readParameters(p, value, "the request's").binaryOutput;
            return true;
          }
          if ("outputs".equals(field)) {
            readOutputs(p, value, outputs);
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
    int binaryLength = body.length - jsonLength;
    if (t.binarySize >= 0 && headerLength < 0) {
      throw InvalidInput.malformed(
          "\"binary_data_size\" is given but the request has no Inference-Header-Content-Length"
              + " header saying where its JSON ends");
    }
    if (t.binarySize < 0 && binaryLength > 0) {
      throw InvalidInput.malformed(
          binaryLength + " bytes follow the JSON header but no input gives \"binary_data_size\"");
    }
    if (t.binarySize >= 0 && t.binarySize != binaryLength) {
      throw InvalidInput.malformed(
          "\"binary_data_size\" is "
              + t.binarySize
              + " but "
              + binaryLength
              + " bytes follow the JSON header");
    }
    if (t.binarySize >= 0 && t.dataIsArray) {
      throw InvalidInput.malformed(
          "input \"" + t.name + "\" gives both \"data\" and \"binary_data_size\"");
    }
    Values values;
    if (t.binarySize >= 0) {
      values =
          new Values.Raw(
              java.nio.ByteBuffer.wrap(body, jsonLength, binaryLength)
                  .slice()
                  .order(java.nio.ByteOrder.LITTLE_ENDIAN),
              "\"binary_data_size\"");
    } else if (!t.dataIsArray) {
      values = null;
    } else if (t.texts != null) {
      values = new Values.Texts(t.texts);
    } else {
      values = new Values.Numbers(t.data.values(), t.data.count);
    }
    long[] shape = null;
    if (t.shapeIsArray) {
      // a dimension that is not a JSON integer reads as 0, which no shape takes
      shape = new long[t.shapeTokens.size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = t.shapeTokens.get(i) == JsonToken.VALUE_NUMBER_INT ? t.shape.get(i) : 0;
      }
    }
    return inferTensor(
        new Tensor(t.name, t.datatype, shape, values),
        clientId[0],
        outputs,
        binaryOutputs[0],
        spec);
  }

  /**
   * One Open Inference Protocol input as read from any transport: its name, datatype, shape (null
   * when the request gave none), and values (null when it gave none).
   */
  public record Tensor(String name, String datatype, long[] shape, Values values) {}

  /**
   * A tensor's elements as a transport carries them: numbers ({@code count} of them, those past the
   * request's cap only counted), raw little-endian bytes in the datatype's layout (the binary
   * extension, gRPC's {@code raw_input_contents}; {@code what} names them in errors), or texts.
   */
  public sealed interface Values {
    record Numbers(float[] values, long count) implements Values {}

    record Raw(java.nio.ByteBuffer bytes, String what) implements Values {}

    record Texts(List<String> texts) implements Values {}
  }

  /**
   * The request of one input {@code t} read by a transport (REST's JSON and binary extension,
   * gRPC): checked against the model's input {@code spec} the same way whichever way it came.
   */
  public InferRequest inferTensor(
      Tensor t,
      String clientId,
      List<OutputRequest> outputs,
      boolean binaryOutputs,
      TensorSpec spec)
      throws InvalidInput {
    if (!spec.name().equals(t.name())) {
      throw InvalidInput.malformed(
          "input is named "
              + (t.name() == null || t.name().isEmpty() ? "nothing" : "\"" + t.name() + "\"")
              + "; this model takes \""
              + spec.name()
              + "\"");
    }
    if (TensorData.TEXT.equals(spec.dtype())) {
      return new InferRequest(clientId, texts(t, spec), outputs, binaryOutputs);
    }
    Integer width = FLOAT_WIDTHS.get(t.datatype());
    if (width == null) {
      throw InvalidInput.malformed(
          "datatype "
              + t.datatype()
              + " is not supported; \""
              + spec.name()
              + "\" takes FP32 (FP64 and FP16 are converted to it)");
    }
    long[] shape = t.shape();
    if (shape == null || shape.length != spec.shape().size()) {
      throw InvalidInput.malformed(
          "\"shape\" must have " + spec.shape().size() + " dimensions like " + spec.shape());
    }
    int features = (int) spec.elementsPerInstance();
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] < 1) {
        throw InvalidInput.malformed("\"shape\" must hold positive integers");
      }
      long want = spec.shape().get(i);
      if (want >= 0 && want != shape[i]) {
        throw InvalidInput.malformed(
            "shape " + TensorData.describe(shape) + " does not fit " + spec.shape());
      }
    }
    checkCount(shape[0]);
    long needed = shape[0] * features;
    if (t.values() instanceof Values.Raw raw) {
      java.nio.ByteBuffer b = raw.bytes().duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
      if (b.remaining() != needed * width) {
        throw InvalidInput.malformed(
            raw.what()
                + " is "
                + b.remaining()
                + " bytes; shape "
                + TensorData.describe(shape)
                + " of "
                + t.datatype()
                + " needs "
                + needed * width);
      }
      List<TensorData> out = new ArrayList<>((int) shape[0]);
      for (int i = 0; i < shape[0]; i++) {
        float[] row = new float[features];
        for (int j = 0; j < features; j++) {
          row[j] =
              switch (width) {
                case 8 -> (float) b.getDouble();
                case 2 -> halfToFloat(b.getShort());
                default -> b.getFloat();
              };
          if (!Float.isFinite(row[j])) {
            throw InvalidInput.malformed(
                "binary data holds a value that is not a finite float32 (instance "
                    + i
                    + ", element "
                    + j
                    + ": "
                    + row[j]
                    + ")");
          }
        }
        out.add(TensorData.float32(new long[] {1, features}, row));
      }
      return new InferRequest(clientId, out, outputs, binaryOutputs);
    }
    if (!(t.values() instanceof Values.Numbers numbers)) {
      throw InvalidInput.malformed("\"data\" must be an array of numbers");
    }
    if (numbers.count() != needed) {
      throw InvalidInput.malformed(
          "\"data\" has "
              + numbers.count()
              + " values; shape "
              + TensorData.describe(shape)
              + " needs "
              + needed);
    }
    float[] values = numbers.values();
    List<TensorData> out = new ArrayList<>((int) shape[0]);
    for (int i = 0; i < shape[0]; i++) {
      out.add(
          TensorData.float32(
              new long[] {1, features},
              Arrays.copyOfRange(values, i * features, (i + 1) * features)));
    }
    return new InferRequest(clientId, out, outputs, binaryOutputs);
  }

  /**
   * The OIP datatypes an FP32 input takes, by their width in the binary extension: JSON numbers are
   * numbers whatever the datatype says, FP64 and FP16 bytes are converted to float32.
   */
  private static final java.util.Map<String, Integer> FLOAT_WIDTHS =
      java.util.Map.of("FP32", 4, "FP64", 8, "FP16", 2);

  /** An IEEE 754 half as a float (Java 17 has no Float.float16ToFloat). */
  static float halfToFloat(short half) {
    int h = half & 0xFFFF;
    int sign = (h & 0x8000) << 16;
    int exponent = (h >>> 10) & 0x1F;
    int mantissa = h & 0x3FF;
    if (exponent == 0x1F) {
      return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
    }
    if (exponent == 0) {
      // zero or subnormal: mantissa x 2^-24
      float value = mantissa * 0x1p-24f;
      return sign == 0 ? value : -value;
    }
    return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }

  /** The parameters the binary extension reads: {@code binary_data_size}, {@code binary_data*}. */
  private static final class Parameters {
    long binarySize = -1;
    boolean binaryOutput;
    Boolean binary;
  }

  private static Parameters readParameters(JsonParser p, JsonToken value, String whose)
      throws IOException, InvalidInput {
    if (value != JsonToken.START_OBJECT) {
      throw InvalidInput.malformed(whose + " \"parameters\" must be an object");
    }
    Parameters out = new Parameters();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      switch (name) {
        case "binary_data_size" -> {
          if (v != JsonToken.VALUE_NUMBER_INT || p.getLongValue() < 0) {
            throw InvalidInput.malformed("\"binary_data_size\" must be a whole number >= 0");
          }
          out.binarySize = p.getLongValue();
        }
        case "binary_data_output" -> out.binaryOutput = bool(p, v, name);
        case "binary_data" -> out.binary = bool(p, v, name);
        default -> p.skipChildren();
      }
    }
    return out;
  }

  private static boolean bool(JsonParser p, JsonToken v, String name) throws InvalidInput {
    if (v != JsonToken.VALUE_TRUE && v != JsonToken.VALUE_FALSE) {
      throw InvalidInput.malformed("\"" + name + "\" must be true or false");
    }
    return v == JsonToken.VALUE_TRUE;
  }

  /** {@code "outputs": [{"name": ..., "parameters": {"binary_data": true}}, ...]}. */
  private static void readOutputs(JsonParser p, JsonToken value, List<OutputRequest> out)
      throws IOException, InvalidInput {
    String shape = "\"outputs\" must be an array of {\"name\": ...} objects";
    if (value != JsonToken.START_ARRAY) {
      throw InvalidInput.malformed(shape);
    }
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
      if (t != JsonToken.START_OBJECT) {
        throw InvalidInput.malformed(shape);
      }
      String name = null;
      Boolean binary = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken v = p.nextToken();
        if ("name".equals(field) && v == JsonToken.VALUE_STRING) {
          name = p.getText();
        } else if ("parameters".equals(field)) {
          binary = readParameters(p, v, "an output's").binary;
        } else {
          p.skipChildren();
        }
      }
      if (name == null) {
        throw InvalidInput.malformed(shape);
      }
      out.add(new OutputRequest(name, binary));
    }
  }

  /** A BYTES tensor's binary data: each text's UTF-8 after its 4-byte little-endian length. */
  private static List<String> binaryTexts(java.nio.ByteBuffer b, int cap) throws InvalidInput {
    List<String> texts = new ArrayList<>();
    while (b.hasRemaining()) {
      if (texts.size() >= cap) {
        throw InvalidInput.tooLarge("more texts than a request may hold (" + cap + ")");
      }
      if (b.remaining() < Integer.BYTES) {
        throw InvalidInput.malformed(
            "BYTES element " + texts.size() + " is cut short: no 4-byte length before its bytes");
      }
      int n = b.getInt();
      if (n < 0 || n > b.remaining()) {
        throw InvalidInput.malformed(
            "BYTES element "
                + texts.size()
                + " says "
                + Integer.toUnsignedString(n)
                + " bytes but "
                + b.remaining()
                + " remain");
      }
      java.nio.ByteBuffer slice = b.slice();
      slice.limit(n);
      texts.add(bytesElement(slice, texts.size()));
      b.position(b.position() + n);
    }
    return texts;
  }

  /**
   * BYTES element {@code index} of a text input as its text: refused unless it is valid UTF-8
   * (every transport's BYTES, the binary extension's and gRPC's).
   */
  public static String bytesElement(java.nio.ByteBuffer bytes, int index) throws InvalidInput {
    try {
      return java.nio.charset.StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
          .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
          .decode(bytes)
          .toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      throw InvalidInput.malformed("BYTES element " + index + " is not valid UTF-8");
    }
  }

  /**
   * One tensor object of "inputs"; the parser is at its START_OBJECT. Numbers past {@code cap} are
   * only counted.
   */
  /**
   * A {@code BYTES} tensor of shape [n] with n strings in {@code data}: one {@code text} tensor per
   * string, each checked like a text instance.
   */
  private List<TensorData> texts(Tensor t, TensorSpec spec) throws InvalidInput {
    if (!"BYTES".equals(t.datatype())) {
      throw InvalidInput.malformed(
          "datatype " + t.datatype() + " is not supported; \"" + spec.name() + "\" takes BYTES");
    }
    if (t.shape() == null || t.shape().length != 1 || t.shape()[0] < 1) {
      throw InvalidInput.malformed("\"shape\" must be [n]: the number of texts");
    }
    long n = t.shape()[0];
    checkCount(n);
    List<String> texts;
    if (t.values() instanceof Values.Raw raw) {
      texts =
          binaryTexts(
              raw.bytes().duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN),
              limits.maxInstances());
    } else if (t.values() instanceof Values.Texts given) {
      texts = given.texts();
    } else {
      throw InvalidInput.malformed("\"data\" must be an array of strings");
    }
    if (texts.size() != n) {
      throw InvalidInput.malformed(
          "\"data\" has " + texts.size() + " strings; shape [" + n + "] needs " + n);
    }
    List<TensorData> out = new ArrayList<>(texts.size());
    for (int i = 0; i < texts.size(); i++) {
      out.add(checkedText(texts.get(i), "text " + i));
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
        case "parameters" -> in.binarySize = readParameters(p, value, "an input's").binarySize;
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
