package io.rendezvous.loadtests;

import static io.gatling.javaapi.core.CoreDsl.constantConcurrentUsers;
import static io.gatling.javaapi.core.CoreDsl.constantUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.details;
import static io.gatling.javaapi.core.CoreDsl.rampUsersPerSec;

import io.gatling.javaapi.core.Assertion;
import io.gatling.javaapi.core.ClosedInjectionStep;
import io.gatling.javaapi.core.OpenInjectionStep;
import io.gatling.javaapi.core.PopulationBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import javax.imageio.ImageIO;

/**
 * What every simulation shares: the target (-DbaseUrl, env RENDEZVOUS_BASE_URL), the load shape
 * (-Dinjection=open|ramp|closed, -Drate, -Dusers, -Dseconds), the assertions (-DmaxFailedPercent,
 * -DslaMillis) and request bodies made from the shipped Fashion-MNIST images (JSON and PNG).
 */
final class Load {
  private Load() {}

  static String baseUrl() {
    String env = System.getenv("RENDEZVOUS_BASE_URL");
    return System.getProperty("baseUrl", env != null ? env : "http://127.0.0.1:8080");
  }

  static int intProp(String name, int dflt) {
    return Integer.parseInt(System.getProperty(name, Integer.toString(dflt)));
  }

  /** The configured injection profile applied to {@code scenario}. */
  static PopulationBuilder inject(ScenarioBuilder scenario) {
    int seconds = intProp("seconds", 30);
    switch (System.getProperty("injection", "open")) {
      case "closed" -> {
        ClosedInjectionStep step = constantConcurrentUsers(intProp("users", 16)).during(seconds);
        return scenario.injectClosed(step);
      }
      case "ramp" -> {
        OpenInjectionStep step = rampUsersPerSec(1).to(intProp("rate", 200)).during(seconds);
        return scenario.injectOpen(step);
      }
      default -> {
        OpenInjectionStep step = constantUsersPerSec(intProp("rate", 200)).during(seconds);
        return scenario.injectOpen(step);
      }
    }
  }

  /**
   * Warm-up first (-DwarmupSeconds, default 10, at a tenth of the rate, its requests named "warm-up
   * ..."), then the measured load: a fresh JVM runs cold code and allocates shards on first use.
   */
  static PopulationBuilder withWarmUp(ScenarioBuilder warmUp, ScenarioBuilder measured) {
    int warm = intProp("warmupSeconds", 10);
    PopulationBuilder main = inject(measured);
    if (warm <= 0) {
      return main;
    }
    return warmUp
        .injectOpen(constantUsersPerSec(Math.max(1, intProp("rate", 200) / 10)).during(warm))
        .andThen(main);
  }

  /** On the measured requests only: failed share and p99 against the SLA. */
  static Assertion[] assertions(String... requests) {
    List<Assertion> out = new ArrayList<>();
    for (String r : requests) {
      out.add(
          details(r)
              .failedRequests()
              .percent()
              .lte(Double.parseDouble(System.getProperty("maxFailedPercent", "1.0"))));
      out.add(details(r).responseTime().percentile(99.0).lte(intProp("slaMillis", 50)));
    }
    return out.toArray(new Assertion[0]);
  }

  /**
   * Feeder records with a JSON body, an OIP v2 body, a base64 PNG and the true label, for 500
   * hold-out-like images.
   */
  static List<Map<String, Object>> images() {
    Path dir =
        Path.of(
            System.getProperty(
                "rendezvous.data.dir", "../model-workers/src/main/resources/fashion-mnist"));
    List<Map<String, Object>> out = new ArrayList<>();
    try (DataInputStream images =
            new DataInputStream(gz(dir.resolve("t10k-images-idx3-ubyte.gz")));
        DataInputStream labels =
            new DataInputStream(gz(dir.resolve("t10k-labels-idx1-ubyte.gz")))) {
      images.readInt();
      int count = images.readInt();
      int rows = images.readInt();
      int cols = images.readInt();
      labels.readInt();
      labels.readInt();
      for (int i = 0; i < Math.min(500, count); i++) {
        byte[] px = new byte[rows * cols];
        images.readFully(px);
        int label = labels.readUnsignedByte();
        StringBuilder values = new StringBuilder();
        for (int p = 0; p < px.length; p++) {
          values.append(p == 0 ? "" : ",").append((px[p] & 0xFF) / 255f);
        }
        Map<String, Object> rec = new HashMap<>();
        rec.put("json", "{\"instances\":[[" + values + "]]}");
        rec.put(
            "oip",
            "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,"
                + px.length
                + "],\"datatype\":\"FP32\",\"data\":["
                + values
                + "]}]}");
        rec.put("png", Base64.getEncoder().encodeToString(png(px, rows, cols)));
        rec.put("label", label);
        out.add(rec);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read the Fashion-MNIST files in " + dir.toAbsolutePath(), e);
    }
    return out;
  }

  private static InputStream gz(Path p) throws IOException {
    return new GZIPInputStream(Files.newInputStream(p));
  }

  private static byte[] png(byte[] px, int rows, int cols) throws IOException {
    BufferedImage img = new BufferedImage(cols, rows, BufferedImage.TYPE_BYTE_GRAY);
    System.arraycopy(
        px, 0, ((DataBufferByte) img.getRaster().getDataBuffer()).getData(), 0, px.length);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "png", out);
    return out.toByteArray();
  }
}
