package io.rendezvous.grpc.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.grpc.v2.GRPCInferenceServiceGrpc;
import io.rendezvous.grpc.v2.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import io.rendezvous.grpc.v2.GrpcPredictV2.InferTensorContents;
import io.rendezvous.grpc.v2.GrpcPredictV2.ModelInferRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.ModelInferResponse;
import io.rendezvous.grpc.v2.GrpcPredictV2.ModelMetadataRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.ModelMetadataResponse;
import io.rendezvous.grpc.v2.GrpcPredictV2.ModelReadyRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.RepositoryIndexRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.RepositoryIndexResponse;
import io.rendezvous.grpc.v2.GrpcPredictV2.RepositoryModelLoadRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.RepositoryModelUnloadRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.ServerLiveRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.ServerMetadataRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.ServerMetadataResponse;
import io.rendezvous.grpc.v2.GrpcPredictV2.ServerReadyRequest;
import io.rendezvous.journal.JournalRecord;
import io.rendezvous.node.TestNode;
import io.rendezvous.workers.data.FashionMnist;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node's {@code inference.GRPCInferenceService} as a grpc-java client sees it (stubs from
 * protoc-gen-grpc-java, Netty transport): every method, typed and raw contents, requested outputs,
 * answers byte-exact against REST's, and the status codes of bad input, unknown models and tokens.
 */
class GrpcServiceTest {
  @TempDir static Path dir;
  static TestNode node;
  static ManagedChannel channel;
  static GRPCInferenceServiceBlockingStub stub;
  static final HttpClient http = HttpClient.newHttpClient();
  static final List<FashionMnist.Sample> SAMPLES = FashionMnist.load().holdout().subList(0, 3);
  static final String ADMIN = "grpc-admin-4f1e";
  static final String M2_TOKEN = "m2-token-9a0c";

  @BeforeAll
  static void start() throws Exception {
    node =
        TestNode.start(
            dir,
            "rendezvous.auth.admin = \""
                + ADMIN
                + "\"\n"
                + "rendezvous.auth.tokens.m2 = [\""
                + M2_TOKEN
                + "\"]\n");
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", node.node.grpcPort()).usePlaintext().build();
    stub =
        GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    node.close();
  }

  static GRPCInferenceServiceBlockingStub stub() {
    return GRPCInferenceServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  static ModelInferRequest.InferInputTensor.Builder imageInput(int n) {
    return ModelInferRequest.InferInputTensor.newBuilder()
        .setName("input")
        .setDatatype("FP32")
        .addShape(n)
        .addShape(784);
  }

  static ModelInferRequest typed(String model, List<FashionMnist.Sample> samples) {
    InferTensorContents.Builder c = InferTensorContents.newBuilder();
    for (FashionMnist.Sample s : samples) {
      for (float f : s.scaled()) {
        c.addFp32Contents(f);
      }
    }
    return ModelInferRequest.newBuilder()
        .setModelName(model)
        .addInputs(imageInput(samples.size()).setContents(c))
        .build();
  }

  static ModelInferRequest raw(String model, List<FashionMnist.Sample> samples) {
    ByteBuffer b =
        ByteBuffer.allocate(samples.size() * 784 * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (FashionMnist.Sample s : samples) {
      for (float f : s.scaled()) {
        b.putFloat(f);
      }
    }
    return ModelInferRequest.newBuilder()
        .setModelName(model)
        .addInputs(imageInput(samples.size()))
        .addRawInputContents(ByteString.copyFrom(b.array()))
        .build();
  }

  static float[] rawFloats(ByteString bytes) {
    float[] out = new float[bytes.size() / Float.BYTES];
    bytes.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  static List<String> rawTexts(ByteString bytes) {
    ByteBuffer b = bytes.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    List<String> out = new ArrayList<>();
    while (b.hasRemaining()) {
      byte[] s = new byte[b.getInt()];
      b.get(s);
      out.add(new String(s, StandardCharsets.UTF_8));
    }
    return out;
  }

  static Status.Code codeOf(Runnable call) {
    return assertThrows(StatusRuntimeException.class, call::run).getStatus().getCode();
  }

  static StatusRuntimeException failureOf(Runnable call) {
    return assertThrows(StatusRuntimeException.class, call::run);
  }

  static JsonNode restInfer(String model, String json) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(
                    URI.create(node.uri("/v2/models/" + model + "/infer").toString()))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body());
  }

  static float[] journaledInput(String requestId) {
    return node.journal().stream()
        .filter(r -> r instanceof JournalRecord.Input && r.requestId().equals(requestId))
        .map(r -> ((JournalRecord.Input) r).tensor().asFloats())
        .findFirst()
        .orElseThrow(() -> new AssertionError("no input journaled for " + requestId));
  }

  @Test
  void serverAndModelMethods() {
    assertTrue(stub().serverLive(ServerLiveRequest.getDefaultInstance()).getLive());
    assertTrue(stub().serverReady(ServerReadyRequest.getDefaultInstance()).getReady());
    ServerMetadataResponse meta = stub().serverMetadata(ServerMetadataRequest.getDefaultInstance());
    assertEquals("rendezvous", meta.getName());
    assertTrue(meta.getExtensionsList().contains("binary_tensor_data"), meta.toString());
    assertTrue(meta.getExtensionsList().contains("model_repository"), meta.toString());

    assertTrue(
        stub().modelReady(ModelReadyRequest.newBuilder().setName("rendezvous").build()).getReady());
    assertTrue(stub().modelReady(ModelReadyRequest.newBuilder().setName("m3").build()).getReady());
    assertEquals(
        Status.Code.NOT_FOUND,
        codeOf(() -> stub().modelReady(ModelReadyRequest.newBuilder().setName("nope").build())));

    ModelMetadataResponse m3 =
        stub().modelMetadata(ModelMetadataRequest.newBuilder().setName("m3").build());
    assertEquals("m3", m3.getName());
    assertEquals("tensorflow_savedmodel", m3.getPlatform());
    assertEquals("input", m3.getInputs(0).getName());
    assertEquals("FP32", m3.getInputs(0).getDatatype());
    assertEquals(List.of(-1L, 784L), m3.getInputs(0).getShapeList());
    assertEquals("probabilities", m3.getOutputs(0).getName());
    assertEquals(List.of(-1L, 10L), m3.getOutputs(0).getShapeList());
    ModelMetadataResponse rv =
        stub().modelMetadata(ModelMetadataRequest.newBuilder().setName("rendezvous").build());
    assertEquals("rendezvous", rv.getPlatform());
    ModelMetadataResponse text =
        stub().modelMetadata(ModelMetadataRequest.newBuilder().setName("sections-mlp").build());
    assertEquals("BYTES", text.getInputs(0).getDatatype());
    assertEquals(
        Status.Code.NOT_FOUND,
        codeOf(
            () -> stub().modelMetadata(ModelMetadataRequest.newBuilder().setName("nope").build())));
    assertEquals(
        Status.Code.NOT_FOUND,
        codeOf(
            () ->
                stub()
                    .modelMetadata(
                        ModelMetadataRequest.newBuilder()
                            .setName("m3")
                            .setVersion("999")
                            .build())));
  }

  @Test
  void typedAndRawInputsAreExactlyTheRestOnes() throws Exception {
    StringBuilder data = new StringBuilder();
    for (FashionMnist.Sample s : SAMPLES.subList(0, 1)) {
      for (float f : s.scaled()) {
        data.append(data.length() == 0 ? "" : ",").append(Float.toString(f));
      }
    }
    JsonNode rest =
        restInfer(
            "m3",
            "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":["
                + data
                + "]}]}");
    JsonNode restProbs = rest.get("outputs").get(0).get("data");
    float[] expected = new float[restProbs.size()];
    for (int i = 0; i < expected.length; i++) {
      expected[i] = restProbs.get(i).floatValue();
    }
    String expectedLabel = rest.get("outputs").get(1).get("data").get(0).asText();

    // typed in, typed out
    ModelInferResponse typed = stub().modelInfer(typed("m3", SAMPLES.subList(0, 1)));
    assertEquals("m3", typed.getModelName());
    assertFalse(typed.getModelVersion().isEmpty());
    assertEquals(0, typed.getRawOutputContentsCount());
    assertEquals("probabilities", typed.getOutputs(0).getName());
    assertEquals(List.of(1L, 10L), typed.getOutputs(0).getShapeList());
    float[] got = new float[10];
    for (int i = 0; i < got.length; i++) {
      got[i] = typed.getOutputs(0).getContents().getFp32Contents(i);
    }
    assertArrayEquals(expected, got, "typed contents byte-exact against REST's JSON");
    assertEquals(
        expectedLabel, typed.getOutputs(1).getContents().getBytesContents(0).toStringUtf8());

    // raw in, raw out
    ModelInferResponse raw = stub().modelInfer(raw("m3", SAMPLES.subList(0, 1)));
    assertEquals(2, raw.getRawOutputContentsCount());
    assertFalse(raw.getOutputs(0).hasContents());
    assertArrayEquals(expected, rawFloats(raw.getRawOutputContents(0)), "raw outputs byte-exact");
    assertEquals(List.of(expectedLabel), rawTexts(raw.getRawOutputContents(1)));

    // three images through the rendezvous: the journal holds the very floats sent, either way
    ModelInferResponse three = stub().modelInfer(raw("rendezvous", SAMPLES));
    String[] ids = three.getParametersOrThrow("request_ids").getStringParam().split(",");
    assertEquals(3, ids.length);
    assertEquals(List.of(3L, 10L), three.getOutputs(0).getShapeList());
    assertEquals(3, rawTexts(three.getRawOutputContents(1)).size());
    for (int i = 0; i < SAMPLES.size(); i++) {
      assertArrayEquals(SAMPLES.get(i).scaled(), journaledInput(ids[i]));
    }
    ModelInferResponse threeTyped = stub().modelInfer(typed("rendezvous", SAMPLES));
    String[] typedIds = threeTyped.getParametersOrThrow("request_ids").getStringParam().split(",");
    for (int i = 0; i < SAMPLES.size(); i++) {
      assertArrayEquals(journaledInput(ids[i]), journaledInput(typedIds[i]));
    }
  }

  @Test
  void requestedOutputsAndClientIds() {
    ModelInferRequest onlyLabel =
        raw("m3", SAMPLES.subList(0, 2)).toBuilder()
            .setId("client-7")
            .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("label"))
            .build();
    ModelInferResponse r = stub().modelInfer(onlyLabel);
    assertEquals("client-7", r.getId());
    assertEquals(1, r.getOutputsCount());
    assertEquals("label", r.getOutputs(0).getName());
    assertEquals(1, r.getRawOutputContentsCount());
    assertEquals(2, rawTexts(r.getRawOutputContents(0)).size());

    StatusRuntimeException unknown =
        failureOf(
            () ->
                stub()
                    .modelInfer(
                        raw("m3", SAMPLES.subList(0, 1)).toBuilder()
                            .addOutputs(
                                ModelInferRequest.InferRequestedOutputTensor.newBuilder()
                                    .setName("logits"))
                            .build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, unknown.getStatus().getCode());
    assertTrue(unknown.getStatus().getDescription().contains("logits"), unknown.toString());
  }

  @Test
  void textsTypedAndRaw() {
    String[] texts = {"the team won the cup final", "stocks fell as markets opened"};
    InferTensorContents.Builder c = InferTensorContents.newBuilder();
    ByteBuffer raw = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
    for (String t : texts) {
      c.addBytesContents(ByteString.copyFromUtf8(t));
      byte[] utf8 = t.getBytes(StandardCharsets.UTF_8);
      raw.putInt(utf8.length).put(utf8);
    }
    raw.flip();
    ModelInferRequest.InferInputTensor.Builder input =
        ModelInferRequest.InferInputTensor.newBuilder()
            .setName("text")
            .setDatatype("BYTES")
            .addShape(texts.length);
    ModelInferResponse typed =
        stub()
            .modelInfer(
                ModelInferRequest.newBuilder()
                    .setModelName("sections-mlp")
                    .addInputs(input.clone().setContents(c))
                    .build());
    ModelInferResponse fromRaw =
        stub()
            .modelInfer(
                ModelInferRequest.newBuilder()
                    .setModelName("sections-mlp")
                    .addInputs(input)
                    .addRawInputContents(ByteString.copyFrom(raw))
                    .build());
    List<String> typedLabels = new ArrayList<>();
    typed
        .getOutputs(1)
        .getContents()
        .getBytesContentsList()
        .forEach(b -> typedLabels.add(b.toStringUtf8()));
    assertEquals(2, typedLabels.size());
    assertEquals(typedLabels, rawTexts(fromRaw.getRawOutputContents(1)));
  }

  /** Calls ModelInfer with {@code request}: refused with {@code code}, saying {@code says}. */
  static void refused(ModelInferRequest request, Status.Code code, String says) {
    StatusRuntimeException e = failureOf(() -> stub().modelInfer(request));
    assertEquals(code, e.getStatus().getCode(), e.toString());
    assertTrue(e.getStatus().getDescription().contains(says), e.toString());
  }

  @Test
  void badInputIsInvalidArgumentNamingWhatIsWrong() {
    ModelInferRequest one = raw("m3", SAMPLES.subList(0, 1));
    Status.Code invalid = Status.Code.INVALID_ARGUMENT;
    refused(
        one.toBuilder().setInputs(0, imageInput(1).setDatatype("INT32")).build(), invalid, "FP32");
    refused(one.toBuilder().setInputs(0, imageInput(2)).build(), invalid, "raw_input_contents[0]");
    refused(
        one.toBuilder().setInputs(0, imageInput(1).setName("pixels")).build(),
        invalid,
        "\"input\"");
    refused(
        ModelInferRequest.newBuilder()
            .setModelName("m3")
            .addInputs(
                imageInput(1)
                    .setDatatype("FP64")
                    .setContents(InferTensorContents.newBuilder().addFp32Contents(1f)))
            .build(),
        invalid,
        "fp64_contents");
    InferTensorContents.Builder nan = InferTensorContents.newBuilder();
    for (int i = 0; i < 784; i++) {
      nan.addFp32Contents(i == 5 ? Float.NaN : 0f);
    }
    refused(
        ModelInferRequest.newBuilder()
            .setModelName("m3")
            .addInputs(imageInput(1).setContents(nan))
            .build(),
        invalid,
        "finite");
    refused(ModelInferRequest.newBuilder().setModelName("m3").build(), invalid, "exactly one");
    refused(one.toBuilder().setId("bad id with spaces").build(), invalid, "client request id");
    refused(raw("nope", SAMPLES.subList(0, 1)), Status.Code.NOT_FOUND, "nope");
    // over rendezvous.http.max-body (1 MiB), as REST's 413: gRPC's size limits say so
    refused(
        one.toBuilder().setRawInputContents(0, ByteString.copyFrom(new byte[1_100_000])).build(),
        Status.Code.RESOURCE_EXHAUSTED,
        "max-body");
  }

  @Test
  void tokensAsOverRest() {
    assertEquals(
        Status.Code.UNAUTHENTICATED,
        codeOf(() -> stub().modelInfer(raw("m2", SAMPLES.subList(0, 1)))));
    Metadata withToken = new Metadata();
    withToken.put(
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + M2_TOKEN);
    ModelInferResponse ok =
        stub()
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(withToken))
            .modelInfer(raw("m2", SAMPLES.subList(0, 1)));
    assertEquals("m2", ok.getModelName());

    assertEquals(
        Status.Code.UNAUTHENTICATED,
        codeOf(() -> stub().repositoryIndex(RepositoryIndexRequest.getDefaultInstance())));
    Metadata admin = new Metadata();
    admin.put(
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + ADMIN);
    GRPCInferenceServiceBlockingStub asAdmin =
        stub().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(admin));
    RepositoryIndexResponse index =
        asAdmin.repositoryIndex(RepositoryIndexRequest.newBuilder().setReady(true).build());
    assertTrue(
        index.getModelsList().stream()
            .anyMatch(m -> m.getName().equals("m3") && m.getState().equals("READY")),
        index.toString());
    assertTrue(
        asAdmin
            .repositoryModelLoad(RepositoryModelLoadRequest.newBuilder().setModelName("m3").build())
            .getIsLoaded());
    // KServe's message has the model in field 1, which is Triton's repository_name
    assertEquals(
        "m3",
        asAdmin
            .repositoryModelLoad(
                RepositoryModelLoadRequest.newBuilder().setRepositoryName("m3").build())
            .getModelName());
    assertEquals(
        Status.Code.NOT_FOUND,
        codeOf(
            () ->
                asAdmin.repositoryModelLoad(
                    RepositoryModelLoadRequest.newBuilder().setModelName("absent").build())));
    // m3 is in the rendezvous endpoint: taken out of that first, as over REST (409)
    StatusRuntimeException inUse =
        failureOf(
            () ->
                asAdmin.repositoryModelUnload(
                    RepositoryModelUnloadRequest.newBuilder().setModelName("m3").build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, inUse.getStatus().getCode());
    assertTrue(inUse.getStatus().getDescription().contains("rendezvous"), inUse.toString());
  }

  @Test
  void callsAreCountedByMethodEndpointAndCode() throws Exception {
    stub().modelInfer(raw("m1", SAMPLES.subList(0, 1)));
    codeOf(() -> stub().modelInfer(raw("no-such-model", SAMPLES.subList(0, 1))));
    HttpResponse<String> metrics =
        http.send(
            HttpRequest.newBuilder(node.uri("/metrics")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, metrics.statusCode());
    String text = metrics.body();
    assertTrue(
        text.contains(
            "rendezvous_grpc_calls_total{code=\"OK\",endpoint=\"m1\",method=\"ModelInfer\"}"),
        text);
    // a name not served is not a label of its own
    assertTrue(
        text.contains(
            "rendezvous_grpc_calls_total{code=\"NOT_FOUND\",endpoint=\"other\","
                + "method=\"ModelInfer\"}"),
        text);
    assertTrue(text.contains("rendezvous_grpc_call_duration_seconds_bucket"), text);
  }

  @Test
  void reflectionListsTheServiceAsGrpcurlAsksForIt() throws Exception {
    java.util.concurrent.CompletableFuture<List<String>> services =
        new java.util.concurrent.CompletableFuture<>();
    io.grpc.stub.StreamObserver<io.grpc.reflection.v1alpha.ServerReflectionRequest> requests =
        io.grpc.reflection.v1alpha.ServerReflectionGrpc.newStub(channel)
            .withDeadlineAfter(30, TimeUnit.SECONDS)
            .serverReflectionInfo(
                new io.grpc.stub.StreamObserver<>() {
                  @Override
                  public void onNext(io.grpc.reflection.v1alpha.ServerReflectionResponse r) {
                    List<String> names = new ArrayList<>();
                    r.getListServicesResponse()
                        .getServiceList()
                        .forEach(x -> names.add(x.getName()));
                    services.complete(names);
                  }

                  @Override
                  public void onError(Throwable t) {
                    services.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {}
                });
    requests.onNext(
        io.grpc.reflection.v1alpha.ServerReflectionRequest.newBuilder()
            .setListServices("")
            .build());
    List<String> names = services.get(30, TimeUnit.SECONDS);
    requests.onCompleted();
    assertTrue(names.contains("inference.GRPCInferenceService"), names.toString());
  }
}
