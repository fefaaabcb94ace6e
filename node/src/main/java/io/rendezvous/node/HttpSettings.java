package io.rendezvous.node;

import com.typesafe.config.Config;
import io.rendezvous.actors.edge.InputLimits;
import java.time.Duration;

/** {@code rendezvous.http}, read once. */
public record HttpSettings(
    String host,
    int port,
    int minInFlight,
    int initialInFlight,
    int maxInFlight,
    Duration inFlightTargetLatency,
    int maxQueued,
    Duration maxQueueWait,
    long maxBody,
    long maxBodyBytesInFlight,
    int maxInstances,
    int maxImageSide,
    long maxImagePixels,
    int maxTextChars,
    Duration bodyTimeout,
    int maxClientIdLength,
    Duration drainTimeout) {

  /** The limits on one request's input, for the decoder every edge shares. */
  public InputLimits inputLimits() {
    return new InputLimits(maxInstances, maxImageSide, maxImagePixels, maxTextChars);
  }

  public HttpSettings {
    if (maxBodyBytesInFlight < maxBody) {
      throw new IllegalArgumentException(
          "rendezvous.http.max-body-bytes-in-flight ("
              + maxBodyBytesInFlight
              + ") must be at least max-body ("
              + maxBody
              + "): a body of the largest size must fit");
    }
  }

  public static HttpSettings fromConfig(Config root) {
    Config c = root.getConfig("rendezvous.http");
    return new HttpSettings(
        c.getString("host"),
        c.getInt("port"),
        c.getInt("min-in-flight"),
        c.getInt("initial-in-flight"),
        c.getInt("max-in-flight"),
        c.getDuration("in-flight-target-latency"),
        c.getInt("max-queued"),
        c.getDuration("max-queue-wait"),
        c.getBytes("max-body"),
        c.getBytes("max-body-bytes-in-flight"),
        c.getInt("max-instances"),
        c.getInt("max-image-side"),
        c.getLong("max-image-pixels"),
        c.getInt("max-text-chars"),
        c.getDuration("body-timeout"),
        c.getInt("max-client-id-length"),
        c.getDuration("drain-timeout"));
  }
}
