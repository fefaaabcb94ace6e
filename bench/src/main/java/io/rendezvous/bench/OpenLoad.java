package io.rendezvous.bench;

import io.rendezvous.bench.HttpLoad.Outcome;
import io.rendezvous.bench.HttpLoad.Target;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The open-model load generator: requests at a fixed rate on a schedule, whatever the server does,
 * over keep-alive connections that one thread drives through a selector. Latency counts from when a
 * request was due, so a stall shows in full (no coordinated omission); a due request that finds
 * every connection busy waits for one, and that wait counts too (the server was slow).
 *
 * <p>One thread, not one per connection: the generator shares 2 cores with the server it measures,
 * and 256 blocking connections cost the machine two thread wake-ups per request (the due time, then
 * the response) and as many runnable threads for the kernel to share the cores among. Here
 * responses that arrive together are read in one pass, and the thread sleeps only until the next
 * request is due.
 */
final class OpenLoad {
  private OpenLoad() {}

  /** How long after the connections are open the schedule begins. */
  private static final Duration LEAD = Duration.ofMillis(200);

  /**
   * Requests not answered this long after the last was due are given up (counted as not answered).
   */
  private static final Duration DRAIN = Duration.ofSeconds(30);

  /**
   * Below this a wait for the next due request is a park, not a select (whose timeout is in ms).
   */
  private static final long SELECT_GRANULARITY_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  /** A response's first buffer (they are 1-2 KB); it doubles for a longer one. */
  private static final int READ_BUFFER = 8 * 1024;

  /** A reconnect blocks the one thread: not for longer than this. */
  private static final int CONNECT_TIMEOUT_MILLIS = 5_000;

  static Outcome run(Target target, double rate, Duration length, int connections, Duration sla) {
    long total = (long) Math.floor(rate * length.toNanos() / 1e9);
    double intervalNanos = 1e9 / rate;
    long slaMicros = sla.toNanos() / 1000;
    Tally tally = new Tally(Tally.sharedMicros(), Tally.sharedMicros());
    List<ByteBuffer> requests = prepared(target);
    List<Conn> all = new ArrayList<>(connections);
    try (Selector selector = Selector.open()) {
      ArrayDeque<Conn> free = new ArrayDeque<>();
      for (int c = 0; c < connections; c++) {
        Conn conn = new Conn(target, selector);
        all.add(conn);
        free.add(conn);
      }
      long cpuStart = HttpLoad.processCpuNanos();
      long jitStart = HttpLoad.jitMillis();
      long start = System.nanoTime() + LEAD.toNanos();
      long giveUpAt = start + length.toNanos() + DRAIN.toNanos();
      long next = 0;
      int busy = 0;
      while (next < total || busy > 0) {
        long now = System.nanoTime();
        if (now - giveUpAt > 0) {
          break;
        }
        // every request due by now that has a free connection goes out
        while (next < total && !free.isEmpty()) {
          long due = start + (long) (next * intervalNanos);
          if (due - now > 0) {
            break;
          }
          Conn conn = free.poll();
          // due while every connection was busy: the wait for this one is the server's, not the
          // generator's
          long ready = Math.max(due, conn.freedAt);
          conn.send(requests.get((int) (next % requests.size())).duplicate(), due, ready, tally);
          next++;
          if (conn.inFlight) {
            busy++;
          } else {
            free.add(
                conn); // could not even be written: counted as failed, the connection is free again
          }
          now = System.nanoTime();
        }
        long untilDue =
            next < total && !free.isEmpty()
                ? start + (long) (next * intervalNanos) - now
                : Long.MAX_VALUE;
        if (untilDue >= SELECT_GRANULARITY_NANOS) {
          selector.select(
              Math.max(
                  1,
                  Math.min(
                      TimeUnit.NANOSECONDS.toMillis(untilDue),
                      TimeUnit.NANOSECONDS.toMillis(giveUpAt - now) + 1)));
        } else if (selector.selectNow() == 0 && untilDue > 0) {
          LockSupport.parkNanos(untilDue);
        }
        for (Iterator<SelectionKey> it = selector.selectedKeys().iterator(); it.hasNext(); ) {
          SelectionKey key = it.next();
          it.remove();
          Conn conn = (Conn) key.attachment();
          if (conn.onReady(key, tally, target.bodyMarker(), slaMicros)) {
            busy--;
            free.add(conn);
          }
        }
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      if (busy > 0) {
        tally.failures.merge("sent, not answered in time", (long) busy, Long::sum);
      }
      long unsent = total - tally.latency.getTotalCount() - tally.failed();
      if (unsent > 0) {
        tally.failures.merge("not sent in time", unsent, Long::sum);
      }
      return new Outcome(
          tally,
          seconds,
          total,
          HttpLoad.cpuSecondsSince(cpuStart),
          HttpLoad.jitMillis() - jitStart);
    } catch (IOException e) {
      throw new UncheckedIOException("open-model load generator: " + e.getMessage(), e);
    } finally {
      all.forEach(Conn::close);
    }
  }

  /** Each body as a whole request, header included, built once. */
  private static List<ByteBuffer> prepared(Target target) {
    List<ByteBuffer> out = new ArrayList<>(target.bodies().size());
    for (byte[] body : target.bodies()) {
      byte[] head =
          (target.headUpToLength() + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
      ByteBuffer b = ByteBuffer.allocate(head.length + body.length);
      b.put(head).put(body).flip();
      out.add(b.asReadOnlyBuffer());
    }
    return out;
  }

  /**
   * One keep-alive connection with at most one request in flight; reconnects after an error or a
   * close.
   */
  private static final class Conn {
    private final Target target;
    private final Selector selector;
    private SocketChannel channel;
    private SelectionKey key;
    private ByteBuffer in = ByteBuffer.allocate(READ_BUFFER);
    private ByteBuffer out;
    boolean inFlight;
    long freedAt = Long.MIN_VALUE / 2;
    private long dueNanos;
    private long lagMicros;

    Conn(Target target, Selector selector) {
      this.target = target;
      this.selector = selector;
      try {
        connect();
      } catch (IOException | RuntimeException e) {
        close(); // the first send tries again, and counts the failure if it fails again
      }
    }

    /**
     * Connected one after another before the clock starts, as keep-alive clients would be: a burst
     * of simultaneous connects can overflow the server's accept backlog, and TCP retries a dropped
     * SYN only after a second, which would be measured as a one-second request.
     */
    private void connect() throws IOException {
      channel = SocketChannel.open();
      channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
      channel
          .socket()
          .connect(new InetSocketAddress(target.host(), target.port()), CONNECT_TIMEOUT_MILLIS);
      channel.configureBlocking(false);
      key = channel.register(selector, SelectionKey.OP_READ, this);
      in.clear();
    }

    void send(ByteBuffer request, long due, long ready, Tally tally) {
      try {
        if (channel == null) {
          connect();
        }
        lagMicros = Math.max(0, (System.nanoTime() - ready) / 1000);
        tally.recordLag(lagMicros);
        dueNanos = due;
        out = request;
        channel.write(out);
        key.interestOps(
            out.hasRemaining()
                ? SelectionKey.OP_READ | SelectionKey.OP_WRITE
                : SelectionKey.OP_READ);
        inFlight = true;
      } catch (IOException | RuntimeException e) {
        tally.failed("io: " + e.getClass().getSimpleName(), null);
        close();
      }
    }

    /**
     * Writes what is left of the request, reads what has come; true once the response is complete.
     */
    boolean onReady(SelectionKey k, Tally tally, String marker, long slaMicros) {
      try {
        if (k.isValid() && k.isWritable() && out != null && out.hasRemaining()) {
          channel.write(out);
          if (!out.hasRemaining()) {
            k.interestOps(SelectionKey.OP_READ);
          }
        }
        if (!k.isValid() || !k.isReadable()) {
          return false;
        }
        if (!in.hasRemaining()) {
          in = ByteBuffer.allocate(in.capacity() * 2).put(in.flip());
        }
        if (channel.read(in) < 0) {
          throw new IOException("connection closed by the server");
        }
        if (!inFlight) {
          // bytes nobody asked for would be taken for the next request's response
          close();
          return false;
        }
        return complete(tally, marker, slaMicros);
      } catch (IOException | RuntimeException e) {
        if (!inFlight) {
          close();
          return false;
        }
        tally.failed("io: " + e.getClass().getSimpleName(), null);
        close();
        return finish();
      }
    }

    /** Records the response if the buffer holds all of it. */
    private boolean complete(Tally tally, String marker, long slaMicros) throws IOException {
      byte[] buf = in.array();
      int end = in.position();
      int headerEnd = indexOfBlankLine(buf, end);
      if (headerEnd < 0) {
        return false;
      }
      String[] lines = new String(buf, 0, headerEnd, StandardCharsets.US_ASCII).split("\r\n");
      HttpLoad.ResponseHead head = new HttpLoad.ResponseHead(lines[0]);
      for (int l = 1; l < lines.length; l++) {
        head.header(lines[l]);
      }
      int length = head.contentLength();
      boolean close = head.close;
      int status = head.status;
      int bodyStart = headerEnd + 4;
      if (end - bodyStart < length) {
        return false;
      }
      byte[] body = java.util.Arrays.copyOfRange(buf, bodyStart, bodyStart + length);
      tally.record(
          status, body, marker, (System.nanoTime() - dueNanos) / 1000, lagMicros, slaMicros);
      in.clear();
      if (close) {
        close();
      }
      return finish();
    }

    private boolean finish() {
      if (out != null && out.hasRemaining()) {
        // answered before it was all sent (an early error): the rest must not go out as the next
        // request
        close();
      }
      out = null;
      inFlight = false;
      freedAt = System.nanoTime();
      return true;
    }

    private static int indexOfBlankLine(byte[] b, int end) {
      for (int i = 0; i + 3 < end; i++) {
        if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') {
          return i;
        }
      }
      return -1;
    }

    void close() {
      if (key != null) {
        key.cancel();
        key = null;
      }
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException ignored) {
          // closing after an error or at the end: nothing left to do
        }
        channel = null;
      }
    }
  }
}
