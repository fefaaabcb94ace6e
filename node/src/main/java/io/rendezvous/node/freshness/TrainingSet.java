package io.rendezvous.node.freshness;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The corrections a training run gets, as the trainer hands them to its child process: one file,
 * each correction's request id, label, whether it is held out, and its input (floats, or a text).
 * The child trains on the others and judges on the held-out ones.
 */
public final class TrainingSet {
  private static final int MAGIC = 0x52445632; // "RDV2"

  private TrainingSet() {}

  public static void write(Path file, List<Correction> corrections) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    try (DataOutputStream out =
        new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file)))) {
      out.writeInt(MAGIC);
      out.writeInt(corrections.size());
      for (Correction c : corrections) {
        out.writeUTF(c.requestId());
        out.writeInt(c.labelIndex());
        out.writeBoolean(c.heldOut());
        byte[] text =
            c.text() == null ? null : c.text().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        out.writeInt(text == null ? -1 : text.length);
        if (text != null) {
          out.write(text);
        }
        out.writeInt(c.input().length);
        for (float v : c.input()) {
          out.writeFloat(v);
        }
      }
    }
  }

  /** One correction as the child reads it: {@code text} null for an image's floats. */
  public record Item(String requestId, int label, boolean heldOut, float[] input, String text) {}

  public static List<Item> read(Path file) throws IOException {
    try (DataInputStream in =
        new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
      if (in.readInt() != MAGIC) {
        throw new IOException(file + " is not a training set");
      }
      int n = in.readInt();
      List<Item> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        String id = in.readUTF();
        int label = in.readInt();
        boolean heldOut = in.readBoolean();
        int textLength = in.readInt();
        String text = null;
        if (textLength >= 0) {
          byte[] bytes = new byte[textLength];
          in.readFully(bytes);
          text = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
        }
        float[] input = new float[in.readInt()];
        for (int j = 0; j < input.length; j++) {
          input[j] = in.readFloat();
        }
        out.add(new Item(id, label, heldOut, input, text));
      }
      return out;
    } catch (EOFException e) {
      throw new IOException(file + " is cut short", e);
    }
  }
}
