package io.rendezvous.node;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * What the server fetches or posts to on a user's word (an image URL in a Slack command, Slack's
 * {@code response_url}), kept from becoming a way into the server's own network: http(s) only, a
 * host on the allow-list, every address it resolves to public unless the host is one that may be
 * private ({@code privateHosts}: an image store inside your network), redirects followed by hand
 * with each hop checked the same way, a size cap and a timeout.
 */
final class UrlGuard {
  /** Refused, and why (the message is safe to show the user). */
  static final class Refused extends Exception {
    Refused(String message) {
      super(message);
    }
  }

  record Settings(
      List<String> allowedHosts,
      List<String> privateHosts,
      long maxBytes,
      Duration timeout,
      int maxRedirects) {}

  private final Settings settings;
  private final HttpClient http;

  UrlGuard(Settings settings) {
    this.settings = settings;
    this.http =
        HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(settings.timeout())
            .build();
  }

  /** Throws when {@code uri} may not be reached. Blocking: resolves the host. */
  void check(URI uri) throws Refused {
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new Refused("only http and https URLs are fetched, not '" + uri + "'");
    }
    String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
    if (!listed(settings.allowedHosts(), host)) {
      throw new Refused(
          "host '" + host + "' is not on this server's allow-list " + settings.allowedHosts());
    }
    if (listed(settings.privateHosts(), host)) {
      return;
    }
    InetAddress[] addresses;
    try {
      addresses = InetAddress.getAllByName(host);
    } catch (UnknownHostException e) {
      throw new Refused("host '" + host + "' does not resolve");
    }
    for (InetAddress a : addresses) {
      if (isPrivate(a)) {
        throw new Refused("host '" + host + "' resolves to a private or loopback address; refused");
      }
    }
  }

  private static boolean listed(List<String> hosts, String host) {
    for (String h : hosts) {
      String l = h.toLowerCase(Locale.ROOT);
      // "example.com" and every subdomain of it; ".example.com" subdomains only
      if (host.equals(l) || (l.startsWith(".") ? host.endsWith(l) : host.endsWith("." + l))) {
        return true;
      }
    }
    return false;
  }

  static boolean isPrivate(InetAddress a) {
    if (a.isLoopbackAddress()
        || a.isAnyLocalAddress()
        || a.isLinkLocalAddress()
        || a.isSiteLocalAddress()
        || a.isMulticastAddress()) {
      return true;
    }
    byte[] b = a.getAddress();
    if (b.length == 4) {
      int first = b[0] & 0xFF;
      int second = b[1] & 0xFF;
      // 100.64/10 (carrier-grade NAT), 0/8, 192.0.0/24, 198.18/15 (benchmarks), 240/4
      return (first == 100 && second >= 64 && second < 128)
          || first == 0
          || (first == 192 && second == 0 && (b[2] & 0xFF) == 0)
          || (first == 198 && (second == 18 || second == 19))
          || first >= 240;
    }
    // fc00::/7, unique local IPv6; an IPv4-mapped address is judged as its IPv4 one
    if ((b[0] & 0xFE) == 0xFC) {
      return true;
    }
    boolean mapped = true;
    for (int i = 0; i < 10; i++) {
      mapped &= b[i] == 0;
    }
    if (mapped && (b[10] & 0xFF) == 0xFF && (b[11] & 0xFF) == 0xFF) {
      try {
        return isPrivate(InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]}));
      } catch (UnknownHostException e) {
        return true;
      }
    }
    return false;
  }

  /** The body of {@code url} (GET), each hop checked, at most max-bytes. Blocking. */
  byte[] fetch(String url) throws Refused {
    URI uri;
    try {
      uri = URI.create(url.trim());
    } catch (IllegalArgumentException e) {
      throw new Refused("'" + url + "' is not a URL");
    }
    for (int hop = 0; hop <= settings.maxRedirects(); hop++) {
      check(uri);
      HttpResponse<InputStream> r;
      try {
        r =
            http.send(
                HttpRequest.newBuilder(uri).timeout(settings.timeout()).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
      } catch (IOException e) {
        throw new Refused("could not fetch " + uri + ": " + e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Refused("interrupted while fetching " + uri);
      }
      int status = r.statusCode();
      if (status >= 300 && status < 400 && r.headers().firstValue("Location").isPresent()) {
        close(r);
        uri = uri.resolve(r.headers().firstValue("Location").get());
        continue;
      }
      if (status != 200) {
        close(r);
        throw new Refused(uri + " answered " + status);
      }
      long declared = r.headers().firstValueAsLong("Content-Length").orElse(-1);
      if (declared > settings.maxBytes()) {
        close(r);
        throw new Refused(tooLarge(uri));
      }
      try (InputStream in = r.body()) {
        byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, settings.maxBytes() + 1));
        if (body.length > settings.maxBytes()) {
          throw new Refused(tooLarge(uri));
        }
        return body;
      } catch (IOException e) {
        throw new Refused("could not read " + uri + ": " + e.getMessage());
      }
    }
    throw new Refused("more than " + settings.maxRedirects() + " redirects from " + url);
  }

  /** POSTs {@code json} to {@code url}, checked; the status it answered. Blocking. */
  int postJson(String url, byte[] json) throws Refused {
    URI uri;
    try {
      uri = URI.create(url.trim());
    } catch (IllegalArgumentException e) {
      throw new Refused("'" + url + "' is not a URL");
    }
    check(uri);
    try {
      return http.send(
              HttpRequest.newBuilder(uri)
                  .timeout(settings.timeout())
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofByteArray(json))
                  .build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      throw new Refused("could not post to " + uri + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Refused("interrupted while posting to " + uri);
    }
  }

  private String tooLarge(URI uri) {
    return uri + " is larger than " + settings.maxBytes() + " bytes";
  }

  private static void close(HttpResponse<InputStream> r) {
    try {
      r.body().close();
    } catch (IOException ignored) {
      // nothing to keep from it
    }
  }
}
