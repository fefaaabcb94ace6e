package io.rendezvous.actors.edge;

import io.rendezvous.model.TensorData;
import io.rendezvous.model.TensorSpec;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Images (PNG, JPEG: what ImageIO reads) as the grayscale square an endpoint takes, with their size
 * checked from the header before the pixels are decoded.
 */
final class ImageDecoder {
  private final InputLimits limits;

  ImageDecoder(InputLimits limits) {
    this.limits = limits;
  }

  /**
   * An image (any size ImageIO reads) as one grayscale instance, scaled to the endpoint's square
   * and to 0..1. Dimensions are read from the header and capped before the pixels are decoded.
   */
  TensorData image(byte[] body, TensorSpec spec) throws InvalidInput {
    int side = (int) Math.round(Math.sqrt(spec.elementsPerInstance()));
    if (side * side != spec.elementsPerInstance()) {
      throw InvalidInput.unsupported("this endpoint's input is not a square image; send JSON");
    }
    if (body.length == 0) {
      throw InvalidInput.malformed("body is empty");
    }
    BufferedImage image;
    try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(body))) {
      Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
      if (readers == null || !readers.hasNext()) {
        throw InvalidInput.malformed("body is not an image ImageIO can read (PNG or JPEG)");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        int w = reader.getWidth(0);
        int h = reader.getHeight(0);
        if (w < 1
            || h < 1
            || w > limits.maxImageSide()
            || h > limits.maxImageSide()
            || (long) w * h > limits.maxImagePixels()) {
          throw InvalidInput.tooLarge(
              "image is "
                  + w
                  + "x"
                  + h
                  + "; the limit is "
                  + limits.maxImageSide()
                  + " per side and "
                  + limits.maxImagePixels()
                  + " pixels");
        }
        image = reader.read(0);
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      throw InvalidInput.malformed("image cannot be decoded: " + e.getMessage());
    }
    BufferedImage gray = new BufferedImage(side, side, BufferedImage.TYPE_BYTE_GRAY);
    Graphics2D g = gray.createGraphics();
    try {
      g.setRenderingHint(
          RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
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

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
