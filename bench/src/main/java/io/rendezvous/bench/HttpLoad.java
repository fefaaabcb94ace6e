package io.rendezvous.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * The harness's load generator: HTTP/1.1 keep-alive, in the closed model over blocking sockets, one
 * connection per client thread, in the open model over non-blocking ones on one thread ({@link
 * OpenLoad}). It shares the machine with the server, so it is kept cheap: a request is one prepared
 * header and a body written at once, a response is read by its Content-Length. Only 200s whose body
 * has the expected shape count as answered; everything else is counted by status.
 */
public final class HttpLoad {
  private HttpLoad() {}

  /**
   * Answered requests per second of {@code clients} closed-model clients posting JSON bodies to a
   * path.
   */
  public static double closedRate(
      int port, String path, List<byte[]> bodies, int clients, Duration length)
      throws InterruptedException {
    Target t = new Target(path, "127.0.0.1", port, path, "application/json", bodies, "{");
    return closed(t, clients, length, Duration.ofSeconds(10)).answeredPerSecond();
  }

  /** What one run sends: the same bodies in turn, to one path of one server. */
  record Target(
      String name,
      String host,
      int port,
      String path,
      String contentType,
      List<byte[]> bodies,
      String bodyMarker,
      String extraHeaders) {
    Target(
        String name,
        String host,
        int port,
        String path,
        String contentType,
        List<byte[]> bodies,
        String bodyMarker) {
      this(name, host, port, path, contentType, bodies, bodyMarker, "");
    }

    /**
     * A request's head up to the value of Content-Length, the same for every body; {@code
     * extraHeaders}: whole header lines, each ending in CRLF.
     */
    String headUpToLength() {
      return "POST "
          + path
          + " HTTP/1.1\r\nHost: "
          + host
          + ":"
          + port
          + "\r\nContent-Type: "
          + contentType
          + "\r\n"
          + extraHeaders
          + "Content-Length: ";
    }
  }

  /**
   * A run's outcome: its tally, how long it lasted and the CPU time this process used meanwhile
   * (server and load generator together: a cost per request that a slower or faster machine phase
   * moves less than it moves the rate).
   */
  record Outcome(Tally tally, double seconds, long sent, double cpuSeconds, long jitMillis) {
    double answeredPerSecond() {
      return tally.answered / seconds;
    }

    /** Share of the sent requests answered 200 within the SLA, in percent. */
    double withinSlaPercent() {
      return 100.0 * tally.withinSla / Math.max(1, sent);
    }

    /** Process CPU microseconds per answered request (NaN when nothing was answered). */
    double cpuMicrosPerAnswer() {
      return tally.answered == 0 ? Double.NaN : cpuSeconds * 1e6 / tally.answered;
    }

    double percentileMillis(double p) {
      return tally.latency.getTotalCount() == 0
          ? Double.NaN
          : tally.latency.getValueAtPercentile(p) / 1000.0;
    }

    /** How late requests were written to their connections, at percentile {@code p}, in ms. */
    double sendLagMillis(double p) {
      return tally.sendLag.getTotalCount() == 0
          ? Double.NaN
          : tally.sendLag.getValueAtPercentile(p) / 1000.0;
    }
  }

  /**
   * Closed model: {@code clients} connections, each sending its next request when the last is
   * answered.
   */
  static Outcome closed(Target target, int clients, Duration length, Duration sla)
      throws InterruptedException {
    if (GrpcClient.CONTENT_TYPE.equals(target.contentType())) {
      return GrpcClient.closed(target, clients, length, sla);
    }
    List<Client> connections = connectAll(target, clients);
    long end = System.nanoTime() + length.toNanos();
    List<Tally> tallies = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    long slaMicros = sla.toNanos() / 1000;
    AtomicLong sent = new AtomicLong();
    long cpuStart = processCpuNanos();
    long jitStart = jitMillis();
    long start = System.nanoTime();
    Histogram latencies = Tally.sharedMicros();
    Histogram lags = Tally.sharedMicros();
    for (int c = 0; c < clients; c++) {
      Tally tally = new Tally(latencies, lags);
      tallies.add(tally);
      int offset = c * 7919;
      Client connection = connections.get(c);
      threads.add(
          start(
              "bench-client-" + c,
              () -> {
                try (Client conn = connection) {
                  int i = offset;
                  while (System.nanoTime() < end) {
                    long t0 = System.nanoTime();
                    sent.incrementAndGet();
                    conn.exchange(
                        target.bodies().get(Math.floorMod(i++, target.bodies().size())),
                        tally,
                        t0,
                        slaMicros);
                  }
                }
              }));
    }
    for (Thread t : threads) {
      t.join(length.toMillis() + 60_000);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    return new Outcome(
        merge(tallies), seconds, sent.get(), cpuSecondsSince(cpuStart), jitMillis() - jitStart);
  }

  /**
   * Open model: requests at {@code rate} per second on a fixed schedule, whatever the server does,
   * up to {@code connections} in flight at once ({@link OpenLoad}).
   */
  static Outcome open(Target target, double rate, Duration length, int connections, Duration sla) {
    return OpenLoad.run(target, rate, length, connections, sla);
  }

  /**
   * Time the JIT compilers have spent so far. A run during which they worked much was partly
   * measuring the interpreter: on 2 busy cores a method deoptimized under load can wait tens of
   * seconds for C2.
   */
  static long jitMillis() {
    java.lang.management.CompilationMXBean jit =
        java.lang.management.ManagementFactory.getCompilationMXBean();
    return jit != null && jit.isCompilationTimeMonitoringSupported()
        ? jit.getTotalCompilationTime()
        : 0;
  }

  /**
   * Process CPU seconds since {@code startNanos}; NaN where the JVM cannot tell (printed as such,
   * not 0).
   */
  static double cpuSecondsSince(long startNanos) {
    long now = processCpuNanos();
    return startNanos < 0 || now < 0 ? Double.NaN : (now - startNanos) / 1e9;
  }

  /** CPU time of this whole process so far; -1 where the JVM does not tell. */
  static long processCpuNanos() {
    return java.lang.management.ManagementFactory.getOperatingSystemMXBean()
            instanceof com.sun.management.OperatingSystemMXBean os
        ? os.getProcessCpuTime()
        : -1;
  }

  /**
   * Opens the connections one after another before the clock starts, as keep-alive clients would
   * have them: a burst of simultaneous connects can overflow the server's accept backlog, and a
   * dropped SYN is retried by TCP only after a second, which would be measured as a one-second
   * request.
   */
  private static List<Client> connectAll(Target target, int n) {
    List<Client> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Client c = new Connection(target);
      try {
        c.connect();
      } catch (IOException e) {
        c.close(); // the first exchange tries again, and counts the failure if it fails again
      }
      out.add(c);
    }
    return out;
  }

  private static Thread start(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  static Tally merge(List<Tally> tallies) {
    Tally all =
        tallies.isEmpty()
            ? new Tally(Tally.sharedMicros(), Tally.sharedMicros())
            : new Tally(tallies.get(0).latency, tallies.get(0).sendLag);
    tallies.forEach(all::add);
    return all;
  }

  /** One client of a run: sends a request, waits for its answer, records the outcome. */
  interface Client extends Closeable {
    /** Sends one request and records its outcome; latency counts from {@code dueNanos}. */
    void exchange(byte[] body, Tally tally, long dueNanos, long slaMicros);

    /** Connects before the clock starts (a first exchange would do it otherwise). */
    void connect() throws IOException;

    @Override
    void close();
  }

  /** One keep-alive connection; reconnects after an error or a {@code Connection: close}. */
  static final class Connection implements Client {
    private final Target target;
    private final byte[] headerStart;
    private Socket socket;
    private OutputStream out;
    private InputStream in;

    Connection(Target target) {
      this.target = target;
      this.headerStart = target.headUpToLength().getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public void exchange(byte[] body, Tally tally, long dueNanos, long slaMicros) {
      try {
        if (socket == null) {
          connect();
        }
        long lagMicros = Math.max(0, (System.nanoTime() - dueNanos) / 1000);
        tally.recordLag(lagMicros);
        out.write(headerStart);
        out.write((body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
        Response r = read();
        tally.record(
            r.status,
            r.body,
            target.bodyMarker(),
            (System.nanoTime() - dueNanos) / 1000,
            lagMicros,
            slaMicros);
        if (r.close) {
          close();
        }
      } catch (IOException e) {
        tally.failed("io: " + e.getClass().getSimpleName(), null);
        close();
      }
    }

    @Override
    public void connect() throws IOException {
      socket = new Socket();
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(30_000);
      socket.connect(new InetSocketAddress(target.host(), target.port()), 5_000);
      out = new BufferedOutputStream(socket.getOutputStream(), 16 * 1024);
      in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
    }

    private record Response(int status, byte[] body, boolean close) {}

    private Response read() throws IOException {
      String statusLine = line();
      ResponseHead head = new ResponseHead(statusLine);
      for (String h = line(); !h.isEmpty(); h = line()) {
        head.header(h);
      }
      int length = head.contentLength();
      byte[] body = in.readNBytes(length);
      if (body.length < length) {
        throw new EOFException("response body cut short");
      }
      return new Response(head.status, body, head.close);
    }

    private String line() throws IOException {
      StringBuilder sb = new StringBuilder(64);
      for (int b = in.read(); b != '\n'; b = in.read()) {
        if (b < 0) {
          throw new EOFException("connection closed by the server");
        }
        if (b != '\r') {
          sb.append((char) b);
        }
      }
      return sb.toString();
    }

    @Override
    public void close() {
      if (socket != null) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // closing after an error: nothing left to do
        }
        socket = null;
      }
    }
  }

  /** A response's status line and the headers these routes may send, read one line at a time. */
  static final class ResponseHead {
    final int status;
    private int length = -1;
    boolean close;

    ResponseHead(String statusLine) throws IOException {
      if (statusLine.length() < 12 || !statusLine.startsWith("HTTP/1.")) {
        throw new IOException("bad status line: " + statusLine);
      }
      status = Integer.parseInt(statusLine.substring(9, 12));
    }

    void header(String h) throws IOException {
      int colon = h.indexOf(':');
      if (colon < 0) {
        return;
      }
      String name = h.substring(0, colon).trim();
      String value = h.substring(colon + 1).trim();
      if (name.equalsIgnoreCase("Content-Length")) {
        length = Integer.parseInt(value);
      } else if (name.equalsIgnoreCase("Connection") && value.equalsIgnoreCase("close")) {
        close = true;
      } else if (name.equalsIgnoreCase("Transfer-Encoding")) {
        throw new IOException("chunked responses are not expected from these routes");
      }
    }

    int contentLength() throws IOException {
      if (length < 0) {
        throw new IOException("response without Content-Length");
      }
      return length;
    }
  }

  static boolean contains(byte[] body, String marker) {
    byte[] m = marker.getBytes(StandardCharsets.US_ASCII);
    return indexOf(body, m, 0) >= 0;
  }

  private static final byte[] STAGE = "\"stage\":".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] MODEL = "\"model\":\"".getBytes(StandardCharsets.US_ASCII);

  /** "stage N (model)" of the first prediction in a /predict body, or null. */
  static String stageOf(byte[] body) {
    int s = indexOf(body, STAGE, 0);
    int m = indexOf(body, MODEL, 0);
    if (s < 0 || m < 0) {
      return null;
    }
    int at = s + STAGE.length;
    int stage = 0;
    while (at < body.length && body[at] >= '0' && body[at] <= '9') {
      stage = stage * 10 + (body[at++] - '0');
    }
    int from = m + MODEL.length;
    int to = from;
    while (to < body.length && body[to] != '"') {
      to++;
    }
    return "stage "
        + stage
        + " ("
        + new String(body, from, to - from, StandardCharsets.US_ASCII)
        + ")";
  }

  private static int indexOf(byte[] hay, byte[] needle, int from) {
    outer:
    for (int i = from; i <= hay.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
