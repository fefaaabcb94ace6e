package io.rendezvous.bench;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.rendezvous.grpc.v2.GrpcPredictV2.ModelInferRequest;
import io.rendezvous.workers.data.FashionMnist;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * The harness's gRPC load (grpc-java over Netty): in the closed model like the HTTP clients, each
 * client sending its next {@code ModelInfer} call when the last is answered, all over one channel
 * (one HTTP/2 connection, a stream per call) as a gRPC application has it. Calls go out already
 * serialized (as the HTTP clients send bodies already written) and each answer is counted when it
 * holds the outputs ({@link Tally#record}). A client is a chain of asynchronous calls, each sent
 * from its predecessor's completion on the channel's event loop: a thread per client, parked for
 * every call and woken by the event loop, would cost the shared cores a handoff per call that the
 * HTTP clients, woken by the kernel, do not pay.
 */
final class GrpcClient {
  private GrpcClient() {}

  /** What marks a target as gRPC: the protocol's content type. */
  static final String CONTENT_TYPE = "application/grpc";

  static final String MODEL_INFER = "inference.GRPCInferenceService/ModelInfer";

  /** Bytes in, bytes out: the client spends nothing on messages beyond what it must send. */
  private static final MethodDescriptor.Marshaller<byte[]> BYTES =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };

  /** A target calling ModelInfer of {@code model} on a node's gRPC port, raw contents. */
  static HttpLoad.Target target(
      String name, int port, String model, List<FashionMnist.Sample> samples) {
    return new HttpLoad.Target(
        name,
        "127.0.0.1",
        port,
        MODEL_INFER,
        CONTENT_TYPE,
        samples.stream().map(s -> rawRequest(model, s)).toList(),
        "probabilities");
  }

  /** One image as Triton's clients send it: the tensor's bytes in raw_input_contents. */
  static byte[] rawRequest(String model, FashionMnist.Sample s) {
    ByteBuffer b =
        ByteBuffer.allocate(FashionMnist.PIXELS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : s.scaled()) {
      b.putFloat(f);
    }
    b.flip();
    return ModelInferRequest.newBuilder()
        .setModelName(model)
        .addInputs(
            ModelInferRequest.InferInputTensor.newBuilder()
                .setName("input")
                .setDatatype("FP32")
                .addShape(1)
                .addShape(FashionMnist.PIXELS))
        .addRawInputContents(com.google.protobuf.ByteString.copyFrom(b))
        .build()
        .toByteArray();
  }

  /** {@code clients} clients for {@code length}, as {@link HttpLoad#closed} for HTTP. */
  static HttpLoad.Outcome closed(HttpLoad.Target target, int clients, Duration length, Duration sla)
      throws InterruptedException {
    MethodDescriptor<byte[], byte[]> method =
        MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(target.path())
            .setRequestMarshaller(BYTES)
            .setResponseMarshaller(BYTES)
            .build();
    ManagedChannel channel =
        NettyChannelBuilder.forAddress(target.host(), target.port())
            .usePlaintext()
            .directExecutor()
            .build();
    try {
      // connected before the clock starts, as the HTTP clients are
      channel.getState(true);
      long connectBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (channel.getState(false) != io.grpc.ConnectivityState.READY
          && System.nanoTime() < connectBy) {
        Thread.sleep(5);
      }
      long slaMicros = sla.toNanos() / 1000;
      AtomicLong sent = new AtomicLong();
      Histogram latencies = Tally.sharedMicros();
      Histogram lags = Tally.sharedMicros();
      CountDownLatch finished = new CountDownLatch(clients);
      List<Tally> tallies = new ArrayList<>();
      long cpuStart = HttpLoad.processCpuNanos();
      long jitStart = HttpLoad.jitMillis();
      long start = System.nanoTime();
      long end = start + length.toNanos();
      List<Chain> chains = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        Tally tally = new Tally(latencies, lags);
        tallies.add(tally);
        chains.add(
            new Chain(channel, method, target, tally, c * 7919, end, slaMicros, sent, finished));
      }
      chains.forEach(Chain::next);
      finished.await(length.toMillis() + 60_000, TimeUnit.MILLISECONDS);
      double seconds = (System.nanoTime() - start) / 1e9;
      return new HttpLoad.Outcome(
          HttpLoad.merge(tallies),
          seconds,
          sent.get(),
          HttpLoad.cpuSecondsSince(cpuStart),
          HttpLoad.jitMillis() - jitStart);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /**
   * One client: its calls one after another, each sent when the last completes. Its tally is
   * touched by one call at a time, so by one thread at a time.
   */
  private static final class Chain implements StreamObserver<byte[]> {
    private final ManagedChannel channel;
    private final MethodDescriptor<byte[], byte[]> method;
    private final HttpLoad.Target target;
    private final Tally tally;
    private final long end;
    private final long slaMicros;
    private final AtomicLong sent;
    private final CountDownLatch finished;
    private int i;
    private long t0;
    private byte[] answer;

    Chain(
        ManagedChannel channel,
        MethodDescriptor<byte[], byte[]> method,
        HttpLoad.Target target,
        Tally tally,
        int offset,
        long end,
        long slaMicros,
        AtomicLong sent,
        CountDownLatch finished) {
      this.channel = channel;
      this.method = method;
      this.target = target;
      this.tally = tally;
      this.i = offset;
      this.end = end;
      this.slaMicros = slaMicros;
      this.sent = sent;
      this.finished = finished;
    }

    void next() {
      t0 = System.nanoTime();
      if (t0 >= end) {
        finished.countDown();
        return;
      }
      sent.incrementAndGet();
      tally.recordLag(0);
      answer = null;
      List<byte[]> bodies = target.bodies();
      // no deadline of its own, as the HTTP clients have none: the node answers by its SLA
      ClientCalls.asyncUnaryCall(
          channel.newCall(method, CallOptions.DEFAULT),
          bodies.get(Math.floorMod(i++, bodies.size())),
          this);
    }

    @Override
    public void onNext(byte[] value) {
      answer = value;
    }

    @Override
    public void onError(Throwable t) {
      Status s = Status.fromThrowable(t);
      tally.failed(
          "grpc " + s.getCode(),
          s.getDescription() == null ? null : s.getDescription().getBytes(StandardCharsets.UTF_8));
      // off this stack: a call failing as it is made (a channel gone) would otherwise recurse
      java.util.concurrent.CompletableFuture.runAsync(this::next);
    }

    @Override
    public void onCompleted() {
      tally.record(
          answer == null ? 0 : 200,
          answer == null ? new byte[0] : answer,
          target.bodyMarker(),
          (System.nanoTime() - t0) / 1000,
          0,
          slaMicros);
      next();
    }
  }
}
