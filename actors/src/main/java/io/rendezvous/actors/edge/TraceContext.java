package io.rendezvous.actors.edge;

import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * W3C Trace Context ({@code traceparent}) for a request: the caller's trace continued with a span
 * of this node's, or a new trace when the caller sent none (or one that is malformed, which the
 * spec says to ignore). The header value goes into the request's journal records, back to the
 * client in the reply and on in Kafka headers, so one request can be followed across nodes and
 * topics.
 */
public final class TraceContext {
  public static final String HEADER = "traceparent";

  /** version 00: {@code 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>}. */
  private static final Pattern TRACEPARENT =
      Pattern.compile("([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?");

  private static final String INVALID_TRACE = "0".repeat(32);
  private static final String INVALID_SPAN = "0".repeat(16);

  private TraceContext() {}

  /**
   * The traceparent of this node's span of a request that came with {@code incoming} (null or
   * malformed: a new trace, not sampled).
   */
  public static String continueOrStart(String incoming) {
    if (incoming != null) {
      java.util.regex.Matcher m = TRACEPARENT.matcher(incoming.trim());
      // version ff is invalid; a later version may add fields after the four known ones
      if (m.matches()
          && !"ff".equals(m.group(1))
          && ("00".equals(m.group(1)) ? m.group(5) == null : true)
          && !INVALID_TRACE.equals(m.group(2))
          && !INVALID_SPAN.equals(m.group(3))) {
        return "00-" + m.group(2) + "-" + randomHex(8) + "-" + m.group(4);
      }
    }
    return "00-" + randomHex(16) + "-" + randomHex(8) + "-00";
  }

  /** The trace id of a traceparent this class made. */
  public static String traceId(String traceparent) {
    return traceparent.substring(3, 35);
  }

  private static String randomHex(int bytes) {
    // ids, not secrets: the per-thread generator is enough and costs no lock
    byte[] b = new byte[bytes];
    java.util.concurrent.ThreadLocalRandom.current().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }
}
