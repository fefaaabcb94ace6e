package io.rendezvous.node;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import org.apache.pekko.http.javadsl.model.HttpRequest;

/**
 * What marks a request on the node's own HTTP port as its warm-up ({@link WarmUp}): a header whose
 * value is a secret of this process, honoured only while the warm-up runs. A marked request is
 * answered as warm-up (ids of its own, journaled as such, kept out of users' topics and figures)
 * and needs no token: the secret is one, never logged, useless once the node is ready.
 */
final class WarmUpMark {
  static final String HEADER = "Rendezvous-Warm-Up";
  private static final int SECRET_BYTES = 16;

  private final String secret;
  private final byte[] secretBytes;
  private volatile boolean open;

  WarmUpMark() {
    byte[] b = new byte[SECRET_BYTES];
    new SecureRandom().nextBytes(b);
    secret = HexFormat.of().formatHex(b);
    secretBytes = secret.getBytes(StandardCharsets.US_ASCII);
  }

  /** The header value the warm-up sends. */
  String secret() {
    return secret;
  }

  /** Honours the mark from now until {@link #close}. */
  void open() {
    open = true;
  }

  void close() {
    open = false;
  }

  /** Whether a request with this header value is the warm-up's (compared in constant time). */
  boolean marks(Optional<String> value) {
    return open
        && value.isPresent()
        && MessageDigest.isEqual(secretBytes, value.get().getBytes(StandardCharsets.US_ASCII));
  }

  /** The same for a whole request (a cheap no once the warm-up is over). */
  boolean marks(HttpRequest request) {
    return open && marks(request.getHeader(HEADER).map(h -> h.value()));
  }
}
