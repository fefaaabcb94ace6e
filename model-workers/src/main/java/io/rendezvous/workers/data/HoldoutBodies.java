package io.rendezvous.workers.data;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/**
 * Hold-out images as the bodies clients send (JSON instances, PNG files): for the benchmark and
 * tests.
 */
public final class HoldoutBodies {
  private HoldoutBodies() {}

  public static String json(FashionMnist.Sample s) {
    return values(new StringBuilder("{\"instances\":[["), s).append("]]}").toString();
  }

  /**
   * A /predict body as Python's {@code json.dumps} writes the pixels / 255 as float64: up to 17
   * significant digits, zeros as {@code 0.0}. What real clients send (numpy, pandas, plain Python).
   */
  public static String pythonJson(FashionMnist.Sample s) {
    return pythonFloats(new StringBuilder("{\"instances\": [["), s).append("]]}").toString();
  }

  /** An Open Inference Protocol v2 request for one instance. */
  public static String oip(FashionMnist.Sample s) {
    StringBuilder b =
        new StringBuilder("{\"inputs\":[{\"name\":\"input\",\"shape\":[1,")
            .append(FashionMnist.PIXELS)
            .append("],\"datatype\":\"FP32\",\"data\":[");
    return values(b, s).append("]}]}").toString();
  }

  /**
   * The same as Python's {@code json.dumps} writes it (float64 pixels / 255: up to 17 significant
   * digits): what tritonclient's JSON path and plain Python clients send.
   */
  public static String pythonOip(FashionMnist.Sample s) {
    StringBuilder b =
        new StringBuilder("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, ")
            .append(FashionMnist.PIXELS)
            .append("], \"datatype\": \"FP32\", \"data\": [");
    return pythonFloats(b, s).append("]}]}").toString();
  }

  /** The pixels / 255 as float64, as Python's {@code json.dumps} writes them. */
  private static StringBuilder pythonFloats(StringBuilder b, FashionMnist.Sample s) {
    byte[] pixels = s.pixels();
    for (int i = 0; i < pixels.length; i++) {
      if (i > 0) {
        b.append(", ");
      }
      b.append(Double.toString((pixels[i] & 0xFF) / 255.0));
    }
    return b;
  }

  /**
   * The JSON header of the binary tensor data extension's request for one instance: the same for
   * every sample, {@link #oipBinary} follows it.
   */
  public static final String OIP_BINARY_HEADER =
      "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,"
          + FashionMnist.PIXELS
          + "],\"datatype\":\"FP32\",\"parameters\":{\"binary_data_size\":"
          + FashionMnist.PIXELS * Float.BYTES
          + "}}]}";

  /** A binary-extension request body: {@link #OIP_BINARY_HEADER}, then the floats little-endian. */
  public static byte[] oipBinary(FashionMnist.Sample s) {
    byte[] head = OIP_BINARY_HEADER.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    java.nio.ByteBuffer b =
        java.nio.ByteBuffer.allocate(head.length + FashionMnist.PIXELS * Float.BYTES)
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.put(head);
    for (float f : s.scaled()) {
      b.putFloat(f);
    }
    return b.array();
  }

  /** The sample's scaled pixels, comma-separated. */
  private static StringBuilder values(StringBuilder b, FashionMnist.Sample s) {
    float[] x = s.scaled();
    for (int i = 0; i < x.length; i++) {
      if (i > 0) {
        b.append(',');
      }
      b.append(x[i]);
    }
    return b;
  }

  public static byte[] png(FashionMnist.Sample s) {
    BufferedImage img =
        new BufferedImage(
            FashionMnist.IMAGE_SIZE, FashionMnist.IMAGE_SIZE, BufferedImage.TYPE_BYTE_GRAY);
    byte[] raster = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
    System.arraycopy(s.pixels(), 0, raster, 0, raster.length);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(img, "png", out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
