package io.rendezvous.node;

import io.rendezvous.actors.edge.Futures;
import io.rendezvous.actors.edge.InvalidInput;
import io.rendezvous.journal.Lateness;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every prediction route shares: admission (at most {@code max-in-flight} requests in the
 * rendezvous; more wait in arrival order, bounded in number and time, 503 beyond), reading a body
 * under the size cap, blocking work on its own dispatcher, and turning failures into JSON errors
 * (4xx for the client's mistakes; 5xx only for the server's, logged with context).
 */
public final class HttpEdge {
  private static final Logger log = LoggerFactory.getLogger(HttpEdge.class);
  private static final Pattern CLIENT_ID = Pattern.compile("[A-Za-z0-9._:@/+=-]+");

  private final HttpSettings settings;
  private final Materializer materializer;
  private final Executor blocking;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicLong bodyBytes = new AtomicLong();

  /** How much a request over the target latency takes off the limit: TCP-like, gentle. */
  private static final double LIMIT_DECREASE = 0.1;

  /**
   * A request waiting for admission: {@code start} runs it (its answer goes where its caller
   * waits), {@code refuse} tells that caller it was refused.
   */
  private record Waiting(Runnable start, Consumer<Busy> refuse, long sinceNanos) {}

  /**
   * Refused for load (the queue full, waited too long, too many body bytes held): 503 with
   * Retry-After over HTTP, RESOURCE_EXHAUSTED over gRPC. Its message says which limit and why.
   */
  public static final class Busy extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Busy(String message) {
      // no stack trace: a refusal under load is frequent and says all it has to say
      super(message, null, false, false);
    }
  }

  private final ConcurrentLinkedQueue<Waiting> waiting = new ConcurrentLinkedQueue<>();
  private final AtomicInteger queued = new AtomicInteger();

  /** Calls of {@link #admitWaiting} not yet served by the one thread draining the queue. */
  private final AtomicInteger draining = new AtomicInteger();

  /** How long admitted requests waited for their slot (0 for those that found one free). */
  private final Lateness queueWait = new Lateness();

  private final ConcurrencyLimit limit;

  public HttpEdge(ActorSystem<?> system, HttpSettings settings) {
    this.settings = settings;
    this.limit =
        new ConcurrencyLimit(
            settings.minInFlight(),
            settings.initialInFlight(),
            settings.maxInFlight(),
            settings.inFlightTargetLatency().toNanos(),
            LIMIT_DECREASE);
    this.materializer = Materializer.matFromSystem(system);
    this.blocking =
        system
            .dispatchers()
            .lookup(DispatcherSelector.fromConfig("rendezvous-blocking-dispatcher"));
  }

  public HttpSettings settings() {
    return settings;
  }

  public Materializer materializer() {
    return materializer;
  }

  public int inFlight() {
    return inFlight.get();
  }

  /** Requests let into the rendezvous at once now (the adaptive limit). */
  public int limit() {
    return limit.current();
  }

  /** Requests waiting for admission now. */
  public int queued() {
    return queued.get();
  }

  /** Time admitted requests waited for a slot. */
  public Lateness queueWait() {
    return queueWait;
  }

  /**
   * Bytes of request bodies reserved by admitted requests (see {@link #admit(String, RequestEntity,
   * Supplier)}).
   */
  public long bodyBytesInFlight() {
    return bodyBytes.get();
  }

  /**
   * As {@link #admit(String, Supplier)} for a request with a body: once admitted, it also reserves
   * the body's declared length (max-body when it declares none) from {@code
   * max-body-bytes-in-flight} until its answer; beyond that budget it gets 503 with Retry-After and
   * its body is discarded unread.
   */
  public CompletionStage<HttpResponse> admit(
      String what, RequestEntity entity, Supplier<CompletionStage<HttpResponse>> handler) {
    long declared =
        entity.getContentLengthOption().isPresent()
            ? Math.min(entity.getContentLengthOption().getAsLong(), settings.maxBody())
            : settings.maxBody();
    return admitted(declared, () -> entity.discardBytes(materializer), handler)
        .exceptionally(e -> toResponse(what, e));
  }

  /**
   * Runs {@code handler} when a slot is free, at once or after the requests that came before it;
   * maps every failure to a JSON error response. A request that finds the queue full, or waits
   * longer than {@code max-queue-wait}, gets 503 with Retry-After.
   */
  public CompletionStage<HttpResponse> admit(
      String what, Supplier<CompletionStage<HttpResponse>> handler) {
    return admitted(handler).exceptionally(e -> toResponse(what, e));
  }

  /**
   * The admission every transport shares ({@link #admit(String, Supplier)} is HTTP's): {@code
   * handler}'s answer when a slot is free, at once or after the requests that came before it;
   * failed with {@link Busy} when the queue is full or the wait passes {@code max-queue-wait}.
   * Failures of the handler are passed on as they are.
   */
  public <T> CompletionStage<T> admitted(Supplier<CompletionStage<T>> handler) {
    // when others wait already, this one goes behind them, not past them
    if (waiting.isEmpty()) {
      if (inFlight.incrementAndGet() <= limit.current()) {
        queueWait.record(0);
        return run(handler);
      }
      inFlight.decrementAndGet();
    }
    if (queued.incrementAndGet() > settings.maxQueued()) {
      queued.decrementAndGet();
      return CompletableFuture.failedFuture(
          busy(
              REFUSED_QUEUE_FULL,
              "node is at its limit of "
                  + limit.current()
                  + " requests in flight and "
                  + settings.maxQueued()
                  + " waiting; retry later"));
    }
    CompletableFuture<T> answer = new CompletableFuture<>();
    waiting.add(
        new Waiting(
            () ->
                run(handler)
                    .whenComplete(
                        (r, e) -> {
                          if (e != null) {
                            answer.completeExceptionally(e);
                          } else {
                            answer.complete(r);
                          }
                        }),
            answer::completeExceptionally,
            System.nanoTime()));
    admitWaiting();
    return answer;
  }

  /**
   * As {@link #admitted(Supplier)}, reserving {@code bytes} of {@code max-body-bytes-in-flight}
   * from admission to answer (a request body held in memory meanwhile); beyond that budget it fails
   * with {@link Busy}, after {@code onRefused} (which drops a body not read yet).
   */
  public <T> CompletionStage<T> admitted(
      long bytes, Runnable onRefused, Supplier<CompletionStage<T>> handler) {
    return admitted(
        () -> {
          long now = bodyBytes.addAndGet(bytes);
          if (now > settings.maxBodyBytesInFlight()) {
            bodyBytes.addAndGet(-bytes);
            onRefused.run();
            return CompletableFuture.failedFuture(overBodyBudget(now, bytes));
          }
          CompletionStage<T> answer;
          try {
            answer = handler.get();
          } catch (RuntimeException e) {
            bodyBytes.addAndGet(-bytes);
            throw e;
          }
          return answer.whenComplete((r, e) -> bodyBytes.addAndGet(-bytes));
        });
  }

  /**
   * As {@link #admitted(Supplier)} for a request whose body is already in memory (a gRPC message):
   * its {@code bytes} are reserved from {@code max-body-bytes-in-flight} before it waits for a
   * slot, and given back with its answer; beyond that budget it fails with {@link Busy} at once.
   */
  public <T> CompletionStage<T> admittedHolding(long bytes, Supplier<CompletionStage<T>> handler) {
    long now = bodyBytes.addAndGet(bytes);
    if (now > settings.maxBodyBytesInFlight()) {
      bodyBytes.addAndGet(-bytes);
      return CompletableFuture.failedFuture(overBodyBudget(now, bytes));
    }
    return admitted(handler).whenComplete((r, e) -> bodyBytes.addAndGet(-bytes));
  }

  /**
   * Starts waiting requests while slots are free. Called after a request joins the queue and after
   * each one finishes, so none waits while a slot is free.
   */
  private void admitWaiting() {
    // one thread drains at a time; a call meanwhile (a request finishing at once inside the loop,
    // or
    // on another thread) makes it go round again instead of recursing or being lost
    if (draining.getAndIncrement() != 0) {
      return;
    }
    int missed = 1;
    do {
      drainWaiting();
      missed = draining.addAndGet(-missed);
    } while (missed != 0);
  }

  private void drainWaiting() {
    while (!waiting.isEmpty()) {
      if (inFlight.incrementAndGet() > limit.current()) {
        inFlight.decrementAndGet();
        return;
      }
      Waiting w = waiting.poll();
      if (w == null) {
        inFlight.decrementAndGet();
        return;
      }
      queued.decrementAndGet();
      long waitedNanos = System.nanoTime() - w.sinceNanos();
      if (waitedNanos > settings.maxQueueWait().toNanos()) {
        inFlight.decrementAndGet();
        w.refuse()
            .accept(
                busy(
                    REFUSED_QUEUE_WAIT,
                    "waited "
                        + waitedNanos / 1_000_000
                        + " ms for one of the node's "
                        + limit.current()
                        + " request slots (max-queue-wait "
                        + settings.maxQueueWait().toMillis()
                        + " ms); retry later"));
        continue;
      }
      queueWait.record(waitedNanos / 1_000);
      w.start().run();
    }
  }

  /**
   * Runs an admitted request; its slot is freed, and the next waiting request let in, at its end.
   */
  private <T> CompletionStage<T> run(Supplier<CompletionStage<T>> handler) {
    long admitted = System.nanoTime();
    CompletionStage<T> response;
    try {
      response = handler.get();
    } catch (RuntimeException | Error e) {
      // an Error too (an OutOfMemoryError decoding a body): thrown out of here it would leave the
      // queue's drainer marked busy, and no waiting request would ever be let in again
      response = CompletableFuture.failedFuture(e);
    }
    return response.whenComplete(
        (r, e) -> {
          long now = System.nanoTime();
          limit.completed(now - admitted, now);
          inFlight.decrementAndGet();
          admitWaiting();
        });
  }

  /** Refusal reasons, as the metrics name them. */
  static final String REFUSED_QUEUE_FULL = "queue-full";

  static final String REFUSED_QUEUE_WAIT = "queue-wait";
  static final String REFUSED_BODY_BYTES = "body-bytes";

  private final Map<String, LongAdder> refusals =
      Map.of(
          REFUSED_QUEUE_FULL, new LongAdder(),
          REFUSED_QUEUE_WAIT, new LongAdder(),
          REFUSED_BODY_BYTES, new LongAdder());

  /** Requests the edge refused (503 with Retry-After) since start, by reason. */
  public Map<String, Long> refusals() {
    Map<String, Long> out = new java.util.TreeMap<>();
    refusals.forEach((reason, n) -> out.put(reason, n.sum()));
    return out;
  }

  /** The refusal of a body of {@code bytes} that brought the node's total to {@code now}. */
  private Busy overBodyBudget(long now, long bytes) {
    return busy(
        REFUSED_BODY_BYTES,
        "node holds "
            + (now - bytes)
            + " bytes of request bodies, and this one's "
            + bytes
            + " would pass its limit of "
            + settings.maxBodyBytesInFlight()
            + " (max-body-bytes-in-flight); retry later");
  }

  private Busy busy(String reason, String why) {
    refusals.get(reason).increment();
    return new Busy(why);
  }

  /** The whole body, refused with 413 beyond the cap (checked on the declared length first). */
  public CompletionStage<byte[]> body(RequestEntity entity) {
    long cap = settings.maxBody();
    if (entity.getContentLengthOption().isPresent()
        && entity.getContentLengthOption().getAsLong() > cap) {
      // read and drop the body first (the parser's max-content-length bounds it, and so does the
      // body timeout): a response sent while the client is still writing makes Pekko close the
      // connection, and the client may then see a reset instead of the 413
      BadRequest refusal = tooLarge(entity.getContentLengthOption().getAsLong());
      return Futures.here(entity.discardBytes(materializer).completionStage())
          .completeOnTimeout(
              Done.getInstance(), settings.bodyTimeout().toMillis(), TimeUnit.MILLISECONDS)
          .handle(
              (drained, error) -> {
                throw new CompletionException(refusal);
              });
    }
    return Futures.here(entity.toStrict(settings.bodyTimeout().toMillis(), cap, materializer))
        .thenApply(
            strict -> {
              ByteString data = strict.getData();
              return data.toArray();
            });
  }

  /** Runs blocking work (image decoding) off the HTTP threads. */
  public <T> CompletionStage<T> blocking(ThrowingSupplier<T> work) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return work.get();
          } catch (BadRequest | InvalidInput e) {
            throw new CompletionException(e);
          }
        },
        blocking);
  }

  /**
   * Runs short CPU-bound work (parsing a capped JSON body) where it is: a hop to another dispatcher
   * would cost more than the work.
   */
  public static <T> CompletionStage<T> inline(ThrowingSupplier<T> work) {
    try {
      return CompletableFuture.completedFuture(work.get());
    } catch (BadRequest | InvalidInput e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Like a Supplier, but may refuse the input. */
  @FunctionalInterface
  public interface ThrowingSupplier<T> {
    T get() throws BadRequest, InvalidInput;
  }

  /** The client's own id: absent, or checked for length and characters. */
  public String clientId(Optional<String> header, String bodyId) throws BadRequest {
    String id = bodyId != null ? bodyId : header.orElse(null);
    if (id == null) {
      return null;
    }
    if (id.isEmpty()
        || id.length() > settings.maxClientIdLength()
        || !CLIENT_ID.matcher(id).matches()) {
      throw new BadRequest(
          400,
          "client request id must be 1.."
              + settings.maxClientIdLength()
              + " characters of A-Z a-z 0-9 . _ : @ / + = -");
    }
    return id;
  }

  private BadRequest tooLarge(long size) {
    return new BadRequest(
        413, "body of " + size + " bytes is over the limit of " + settings.maxBody() + " bytes");
  }

  private HttpResponse toResponse(String what, Throwable e) {
    Throwable cause = e;
    while ((cause instanceof CompletionException
            || cause instanceof java.util.concurrent.ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof Busy busy) {
      return HttpJson.error(503, busy.getMessage()).addHeader(RetryAfter.create(1L));
    }
    if (cause instanceof InvalidInput invalid) {
      return HttpJson.error(statusOf(invalid.kind()), invalid.getMessage());
    }
    if (cause instanceof BadRequest bad) {
      return HttpJson.error(bad.status(), bad.getMessage());
    }
    if (cause instanceof org.apache.pekko.http.scaladsl.model.EntityStreamException
        || cause instanceof org.apache.pekko.stream.StreamTcpException) {
      return HttpJson.error(400, "request body could not be read: " + cause.getMessage());
    }
    if (cause instanceof EntityStreamSizeException size) {
      return HttpJson.error(413, "body is over the limit of " + settings.maxBody() + " bytes");
    }
    if (cause instanceof java.util.concurrent.TimeoutException) {
      return HttpJson.error(
          408, "body was not received within " + settings.bodyTimeout().toMillis() + " ms");
    }
    return HttpJson.internalError(log, what, cause);
  }

  /** The HTTP status for an input refused by the decoder every edge shares. */
  static int statusOf(InvalidInput.Kind kind) {
    return switch (kind) {
      case MALFORMED -> 400;
      case TOO_LARGE -> 413;
      case UNSUPPORTED -> 415;
    };
  }

  /** A failed stage carrying a BadRequest. */
  public static <T> CompletionStage<T> reject(BadRequest e) {
    return CompletableFuture.failedFuture(e);
  }
}
