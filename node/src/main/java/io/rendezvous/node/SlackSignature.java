package io.rendezvous.node;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Slack's request signing (v0): {@code X-Slack-Signature} is {@code v0=} and the hex HMAC-SHA256,
 * keyed with the app's signing secret, of {@code v0:<X-Slack-Request-Timestamp>:<raw body>}. The
 * body's bytes are checked as they came, before any form parsing; the comparison takes the same
 * time wherever the signatures differ; a timestamp further than {@code maxAge} from the clock is
 * refused, so a captured request cannot be replayed later.
 */
final class SlackSignature {
  private final byte[] secret;
  private final Duration maxAge;
  private final Clock clock;

  SlackSignature(String secret, Duration maxAge, Clock clock) {
    this.secret = secret.getBytes(StandardCharsets.UTF_8);
    this.maxAge = maxAge;
    this.clock = clock;
  }

  /** Null when the request is Slack's; otherwise why it is refused. */
  String problem(Optional<String> timestamp, Optional<String> signature, byte[] body) {
    if (timestamp.isEmpty() || signature.isEmpty()) {
      return "a Slack request carries X-Slack-Request-Timestamp and X-Slack-Signature";
    }
    long seconds;
    try {
      seconds = Long.parseLong(timestamp.get().trim());
    } catch (NumberFormatException e) {
      return "X-Slack-Request-Timestamp is not a number of seconds";
    }
    long now = clock.instant().getEpochSecond();
    if (Math.abs(now - seconds) > maxAge.toSeconds()) {
      return "X-Slack-Request-Timestamp is more than "
          + maxAge.toMinutes()
          + " minutes from this server's clock (a replay, or a clock to fix)";
    }
    byte[] expected = ("v0=" + sign(timestamp.get().trim(), body)).getBytes(StandardCharsets.UTF_8);
    byte[] given = signature.get().trim().getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(expected, given)
        ? null
        : "X-Slack-Signature does not match the body (wrong signing secret, or the body changed)";
  }

  /** The hex HMAC-SHA256 of {@code v0:timestamp:body}. */
  String sign(String timestamp, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      mac.update(("v0:" + timestamp + ":").getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(mac.doFinal(body));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("every JVM has HmacSHA256", e);
    }
  }
}
