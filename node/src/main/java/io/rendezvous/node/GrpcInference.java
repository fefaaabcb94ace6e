package io.rendezvous.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.Endpoints;
import io.rendezvous.actors.Reply;
import io.rendezvous.actors.edge.InputDecoder;
import io.rendezvous.actors.edge.InvalidInput;
import io.rendezvous.actors.edge.RendezvousClient;
import io.rendezvous.actors.edge.ReplyRenderer;
import io.rendezvous.grpc.v2.GRPCInferenceServicePowerApi;
import io.rendezvous.grpc.v2.GrpcPredictV2.InferParameter;
import io.rendezvous.grpc.v2.GrpcPredictV2.InferTensorContents;
import io.rendezvous.grpc.v2.GrpcPredictV2.ModelInferRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.ModelInferResponse;
import io.rendezvous.grpc.v2.GrpcPredictV2.ModelMetadataRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.ModelMetadataResponse;
import io.rendezvous.grpc.v2.GrpcPredictV2.ModelReadyRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.ModelReadyResponse;
import io.rendezvous.grpc.v2.GrpcPredictV2.RepositoryIndexRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.RepositoryIndexResponse;
import io.rendezvous.grpc.v2.GrpcPredictV2.RepositoryModelLoadRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.RepositoryModelLoadResponse;
import io.rendezvous.grpc.v2.GrpcPredictV2.RepositoryModelUnloadRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.RepositoryModelUnloadResponse;
import io.rendezvous.grpc.v2.GrpcPredictV2.ServerLiveRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.ServerLiveResponse;
import io.rendezvous.grpc.v2.GrpcPredictV2.ServerMetadataRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.ServerMetadataResponse;
import io.rendezvous.grpc.v2.GrpcPredictV2.ServerReadyRequest;
import io.rendezvous.grpc.v2.GrpcPredictV2.ServerReadyResponse;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.ModelRef;
import io.rendezvous.model.TensorSpec;
import io.rendezvous.workers.WorkerDirectory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Open Inference Protocol over gRPC ({@code inference.GRPCInferenceService}): the same
 * endpoints, admission, schedule, journal and request ids as REST ({@link InferenceRoutes}), the
 * same tokens (an {@code authorization: Bearer ...} metadata entry), and errors as status codes
 * with messages: INVALID_ARGUMENT for bad input, NOT_FOUND for an unknown model, RESOURCE_EXHAUSTED
 * when the node refuses work for load, UNAVAILABLE when the models cannot answer now,
 * DEADLINE_EXCEEDED when no answer came within the SLA or the client's own deadline (which, when
 * shorter than the SLA, decides the request: {@link EndpointSettings#within}).
 *
 * <p>An answer's outputs come as the request's inputs came: typed {@code contents} for typed
 * contents, {@code raw_output_contents} for {@code raw_input_contents}.
 */
final class GrpcInference implements GRPCInferenceServicePowerApi {
  private static final Logger log = LoggerFactory.getLogger(GrpcInference.class);

  /** The source journaled with every gRPC request's input. */
  static final String SOURCE = "oip-grpc";

  private final HttpEdge edge;
  private final InputDecoder decoder;
  private final RendezvousClient client;
  private final Endpoints endpoints;
  private final Map<String, ModelMetadata> models;
  private final BearerAuth auth;
  private final WorkerDirectory directory;
  private final Readiness readiness;
  private final String version;
  private final AdminRoutes admin;
  private final GrpcSettings settings;
  private final NodeMetrics metrics;

  GrpcInference(
      HttpEdge edge,
      InputDecoder decoder,
      RendezvousClient client,
      Endpoints endpoints,
      Map<String, ModelMetadata> models,
      BearerAuth auth,
      WorkerDirectory directory,
      Readiness readiness,
      String version,
      AdminRoutes admin,
      GrpcSettings settings,
      NodeMetrics metrics) {
    this.settings = settings;
    this.metrics = metrics;
    this.edge = edge;
    this.decoder = decoder;
    this.client = client;
    this.endpoints = endpoints;
    this.models = models;
    this.auth = auth;
    this.directory = directory;
    this.readiness = readiness;
    this.version = version;
    this.admin = admin;
  }

  private CompletionStage<ServerLiveResponse> serverLiveCall(
      ServerLiveRequest in, Metadata metadata) {
    return done(ServerLiveResponse.newBuilder().setLive(true).build());
  }

  private CompletionStage<ServerReadyResponse> serverReadyCall(
      ServerReadyRequest in, Metadata metadata) {
    return done(ServerReadyResponse.newBuilder().setReady(readiness.ready()).build());
  }

  private CompletionStage<ServerMetadataResponse> serverMetadataCall(
      ServerMetadataRequest in, Metadata metadata) {
    return done(
        ServerMetadataResponse.newBuilder()
            .setName("rendezvous")
            .setVersion(version)
            .addAllExtensions(HealthRoutes.EXTENSIONS)
            .build());
  }

  private CompletionStage<ModelReadyResponse> modelReadyCall(
      ModelReadyRequest in, Metadata metadata) {
    try {
      EndpointSettings ep = endpoint(in.getName(), in.getVersion());
      boolean ready =
          ep.schedule().stream()
              .map(EndpointSettings.Stage::model)
              .allMatch(directory.available()::contains);
      return done(ModelReadyResponse.newBuilder().setReady(ready).build());
    } catch (GrpcServiceException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private CompletionStage<ModelMetadataResponse> modelMetadataCall(
      ModelMetadataRequest in, Metadata metadata) {
    EndpointSettings ep;
    try {
      ep = endpoint(in.getName(), in.getVersion());
    } catch (GrpcServiceException e) {
      return CompletableFuture.failedFuture(e);
    }
    boolean versioned = !in.getVersion().isEmpty();
    ModelMetadata model = versioned ? null : models.get(ep.name());
    ModelMetadataResponse.Builder out = ModelMetadataResponse.newBuilder().setName(in.getName());
    if (versioned) {
      out.addVersions(in.getVersion()).setPlatform("tensorflow_savedmodel");
    } else if (model != null) {
      out.addVersions(model.version()).setPlatform("tensorflow_savedmodel");
    } else {
      out.setPlatform("rendezvous");
    }
    TensorSpec input = ep.input();
    out.addInputs(
        ModelMetadataResponse.TensorMetadata.newBuilder()
            .setName(input.name())
            .setDatatype(InferenceRoutes.datatypeOf(input))
            .addAllShape(input.shape()));
    out.addOutputs(
        ModelMetadataResponse.TensorMetadata.newBuilder()
            .setName(OipOutputs.NAMES.get(0))
            .setDatatype("FP32")
            .addShape(-1)
            .addShape(ep.labels().size()));
    out.addOutputs(
        ModelMetadataResponse.TensorMetadata.newBuilder()
            .setName(OipOutputs.NAMES.get(1))
            .setDatatype("BYTES")
            .addShape(-1));
    return done(out.build());
  }

  private CompletionStage<ModelInferResponse> modelInferCall(
      ModelInferRequest in, Metadata metadata) {
    long receivedNanos = System.nanoTime();
    EndpointSettings ep;
    Duration deadline;
    int size = in.getSerializedSize();
    try {
      // tokens first, as over REST: who may not call a model learns nothing of what is served
      String name = in.getModelName();
      JsonAnswer refused =
          auth.refusal(
              in.getModelVersion().isEmpty() ? name : name + "@" + in.getModelVersion(),
              metadata.getText("authorization"));
      if (refused != null) {
        throw failure(refused.status(), refused.error());
      }
      ep = endpoint(name, in.getModelVersion());
      if (size > edge.settings().maxBody()) {
        // REST's 413; gRPC's own size limits say RESOURCE_EXHAUSTED
        throw new GrpcServiceException(
            Status.RESOURCE_EXHAUSTED.withDescription(
                "message of "
                    + size
                    + " bytes is over the limit of "
                    + edge.settings().maxBody()
                    + " bytes (rendezvous.http.max-body)"));
      }
      deadline = deadline(metadata.getText("grpc-timeout"), ep, settings.deadlineAllowance());
    } catch (GrpcServiceException e) {
      return CompletableFuture.failedFuture(e);
    }
    EndpointSettings endpoint = ep;
    // the message is in memory already: its bytes count from before it waits for a slot
    return edge.<ModelInferResponse>admittedHolding(
            size,
            () -> {
              InputDecoder.InferRequest req;
              try {
                req = decode(in, endpoint.input());
              } catch (InvalidInput e) {
                return CompletableFuture.failedFuture(
                    failure(HttpEdge.statusOf(e.kind()), e.getMessage()));
              } catch (BadRequest e) {
                return CompletableFuture.failedFuture(failure(e.status(), e.getMessage()));
              }
              // what is left of the client's deadline, less the way back to it
              Duration left =
                  deadline == null
                      ? null
                      : deadline
                          .minusNanos(System.nanoTime() - receivedNanos)
                          .minus(settings.deadlineAllowance());
              if (left != null && left.compareTo(endpoint.shortestDeadline()) < 0) {
                return CompletableFuture.failedFuture(
                    failure(
                        504,
                        "the call's deadline leaves "
                            + Math.max(0, left.plus(settings.deadlineAllowance()).toMillis())
                            + " ms; an answer needs at least "
                            + endpoint
                                .shortestDeadline()
                                .plus(settings.deadlineAllowance())
                                .toMillis()
                            + " ms (the journal margin and rendezvous.grpc.deadline-allowance)"));
              }
              return client
                  .predict(endpoint, req.instances(), req.clientId(), SOURCE, null, null, left)
                  .thenApply(replies -> response(endpoint, req, in, replies));
            })
        .exceptionally(e -> rethrow(e, in.getModelName()));
  }

  @Override
  public CompletionStage<ServerLiveResponse> serverLive(ServerLiveRequest in, Metadata metadata) {
    return measured("ServerLive", "", System.nanoTime(), () -> serverLiveCall(in, metadata));
  }

  @Override
  public CompletionStage<ServerReadyResponse> serverReady(
      ServerReadyRequest in, Metadata metadata) {
    return measured("ServerReady", "", System.nanoTime(), () -> serverReadyCall(in, metadata));
  }

  @Override
  public CompletionStage<ServerMetadataResponse> serverMetadata(
      ServerMetadataRequest in, Metadata metadata) {
    return measured(
        "ServerMetadata", "", System.nanoTime(), () -> serverMetadataCall(in, metadata));
  }

  @Override
  public CompletionStage<ModelReadyResponse> modelReady(ModelReadyRequest in, Metadata metadata) {
    return measured(
        "ModelReady", in.getName(), System.nanoTime(), () -> modelReadyCall(in, metadata));
  }

  @Override
  public CompletionStage<ModelMetadataResponse> modelMetadata(
      ModelMetadataRequest in, Metadata metadata) {
    return measured(
        "ModelMetadata", in.getName(), System.nanoTime(), () -> modelMetadataCall(in, metadata));
  }

  @Override
  public CompletionStage<ModelInferResponse> modelInfer(ModelInferRequest in, Metadata metadata) {
    return measured(
        "ModelInfer", in.getModelName(), System.nanoTime(), () -> modelInferCall(in, metadata));
  }

  @Override
  public CompletionStage<RepositoryIndexResponse> repositoryIndex(
      RepositoryIndexRequest in, Metadata metadata) {
    return measured(
        "RepositoryIndex", "", System.nanoTime(), () -> repositoryIndexCall(in, metadata));
  }

  @Override
  public CompletionStage<RepositoryModelLoadResponse> repositoryModelLoad(
      RepositoryModelLoadRequest in, Metadata metadata) {
    return measured(
        "RepositoryModelLoad",
        in.getModelName(),
        System.nanoTime(),
        () -> repositoryModelLoadCall(in, metadata));
  }

  @Override
  public CompletionStage<RepositoryModelUnloadResponse> repositoryModelUnload(
      RepositoryModelUnloadRequest in, Metadata metadata) {
    return measured(
        "RepositoryModelUnload",
        in.getModelName(),
        System.nanoTime(),
        () -> repositoryModelUnloadCall(in, metadata));
  }

  /** A call counted and timed by method, endpoint and status code ({@code /metrics}). */
  private <T> CompletionStage<T> measured(
      String method, String endpoint, long startNanos, Supplier<CompletionStage<T>> call) {
    CompletionStage<T> answer;
    try {
      answer = call.get();
    } catch (RuntimeException e) {
      answer = CompletableFuture.failedFuture(e);
    }
    return answer.whenComplete(
        (r, e) ->
            metrics.grpcCall(
                method,
                endpoint,
                e == null ? "OK" : codeOf(e).name(),
                System.nanoTime() - startNanos));
  }

  private static Status.Code codeOf(Throwable e) {
    Throwable cause = e;
    while (cause instanceof CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause instanceof GrpcServiceException g ? g.status().getCode() : Status.Code.INTERNAL;
  }

  /** The endpoint a call names: a model or rendezvous, or ({@code version} set) one version. */
  private EndpointSettings endpoint(String name, String version) {
    if (name.isEmpty()) {
      throw failure(400, "a model name is required");
    }
    String key = version.isEmpty() ? name : ModelRef.of(name, version);
    EndpointSettings ep = endpoints.get(key);
    // a version is served where a pool of it is listed (a name@version resolves either way)
    if (ep == null || (!version.isEmpty() && !directory.available().contains(key))) {
      throw failure(
          404,
          version.isEmpty()
              ? "no model or endpoint '" + name + "'; known: " + endpoints.names()
              : "no version " + version + " of '" + name + "' is served");
    }
    return ep;
  }

  /**
   * The client's deadline (the {@code grpc-timeout} it sent) when, less the {@code allowance} for
   * the answer's way back, it is shorter than the endpoint's SLA; else null: a longer one changes
   * nothing, the SLA answers first.
   */
  static Duration deadline(Optional<String> grpcTimeout, EndpointSettings ep, Duration allowance) {
    if (grpcTimeout.isEmpty()) {
      return null;
    }
    Duration d = parseTimeout(grpcTimeout.get());
    if (d == null) {
      throw failure(400, "grpc-timeout '" + grpcTimeout.get() + "' is not a gRPC timeout");
    }
    return d.minus(allowance).compareTo(ep.sla()) < 0 ? d : null;
  }

  /** {@code grpc-timeout}: up to 8 digits and a unit (H, M, S, m, u, n); null if not that. */
  static Duration parseTimeout(String value) {
    String v = value.trim();
    if (v.length() < 2 || v.length() > 9) {
      return null;
    }
    long amount;
    try {
      amount = Long.parseLong(v.substring(0, v.length() - 1));
    } catch (NumberFormatException e) {
      return null;
    }
    if (amount < 0) {
      return null;
    }
    return switch (v.charAt(v.length() - 1)) {
      case 'H' -> Duration.ofHours(amount);
      case 'M' -> Duration.ofMinutes(amount);
      case 'S' -> Duration.ofSeconds(amount);
      case 'm' -> Duration.ofMillis(amount);
      case 'u' -> Duration.ofNanos(amount * 1_000);
      case 'n' -> Duration.ofNanos(amount);
      default -> null;
    };
  }

  /** The request's one input as the decoder every transport shares takes it. */
  private InputDecoder.InferRequest decode(ModelInferRequest in, TensorSpec spec)
      throws InvalidInput, BadRequest {
    if (in.getInputsCount() != 1) {
      throw InvalidInput.malformed(
          "inputs must hold exactly one tensor named \""
              + spec.name()
              + "\"; this request has "
              + in.getInputsCount());
    }
    ModelInferRequest.InferInputTensor input = in.getInputs(0);
    long[] shape = new long[input.getShapeCount()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = input.getShape(i);
    }
    InputDecoder.Values values;
    if (in.getRawInputContentsCount() > 0) {
      if (in.getRawInputContentsCount() != in.getInputsCount()) {
        throw InvalidInput.malformed(
            "raw_input_contents has "
                + in.getRawInputContentsCount()
                + " entries for "
                + in.getInputsCount()
                + " input; one per input");
      }
      if (input.hasContents()) {
        throw InvalidInput.malformed(
            "input \""
                + input.getName()
                + "\" has contents and raw_input_contents too; give its data once");
      }
      values =
          new InputDecoder.Values.Raw(
              in.getRawInputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN),
              "raw_input_contents[0]");
    } else {
      values = typed(input);
    }
    List<InputDecoder.OutputRequest> outputs = new ArrayList<>(in.getOutputsCount());
    for (ModelInferRequest.InferRequestedOutputTensor o : in.getOutputsList()) {
      if (!OipOutputs.NAMES.contains(o.getName())) {
        throw InvalidInput.malformed(
            "output \"" + o.getName() + "\" is not one of " + OipOutputs.NAMES);
      }
      outputs.add(new InputDecoder.OutputRequest(o.getName(), null));
    }
    String id = in.getId().isEmpty() ? null : edge.clientId(Optional.empty(), in.getId());
    return decoder.inferTensor(
        new InputDecoder.Tensor(input.getName(), input.getDatatype(), shape, values),
        id,
        outputs,
        in.getRawInputContentsCount() > 0,
        spec);
  }

  /**
   * Typed contents in the field of the input's datatype (FP32 in fp32_contents, FP64 in
   * fp64_contents, BYTES in bytes_contents); null for another datatype, which the decoder refuses
   * naming the ones taken.
   */
  private static InputDecoder.Values typed(ModelInferRequest.InferInputTensor input)
      throws InvalidInput {
    InferTensorContents c = input.getContents();
    String where = "input \"" + input.getName() + "\" (" + input.getDatatype() + ")";
    switch (input.getDatatype()) {
      case "FP32" -> {
        onlyIn(c, c.getFp32ContentsCount(), "fp32_contents", where);
        float[] v = new float[c.getFp32ContentsCount()];
        for (int i = 0; i < v.length; i++) {
          v[i] = finite(c.getFp32Contents(i), i);
        }
        return new InputDecoder.Values.Numbers(v, v.length);
      }
      case "FP64" -> {
        onlyIn(c, c.getFp64ContentsCount(), "fp64_contents", where);
        float[] v = new float[c.getFp64ContentsCount()];
        for (int i = 0; i < v.length; i++) {
          v[i] = finite((float) c.getFp64Contents(i), i);
        }
        return new InputDecoder.Values.Numbers(v, v.length);
      }
      case "BYTES" -> {
        onlyIn(c, c.getBytesContentsCount(), "bytes_contents", where);
        List<String> texts = new ArrayList<>(c.getBytesContentsCount());
        for (int i = 0; i < c.getBytesContentsCount(); i++) {
          texts.add(InputDecoder.bytesElement(c.getBytesContents(i).asReadOnlyByteBuffer(), i));
        }
        return new InputDecoder.Values.Texts(texts);
      }
      case "FP16" ->
          throw InvalidInput.malformed(
              where + ": FP16 has no typed contents field; send it in raw_input_contents");
      default -> {
        return null;
      }
    }
  }

  /** Refuses contents given in another field than {@code field}, the one of the datatype. */
  private static void onlyIn(InferTensorContents c, int inField, String field, String where)
      throws InvalidInput {
    int all =
        c.getBoolContentsCount()
            + c.getIntContentsCount()
            + c.getInt64ContentsCount()
            + c.getUintContentsCount()
            + c.getUint64ContentsCount()
            + c.getFp32ContentsCount()
            + c.getFp64ContentsCount()
            + c.getBytesContentsCount();
    if (all != inField) {
      throw InvalidInput.malformed(where + ": its elements go in contents." + field);
    }
  }

  private static float finite(float f, int i) throws InvalidInput {
    if (!Float.isFinite(f)) {
      throw InvalidInput.malformed(
          "contents hold a value that is not a finite float32 (element " + i + ": " + f + ")");
    }
    return f;
  }

  /** The answer as OIP's response, or the first unanswered instance's error as a status. */
  private static ModelInferResponse response(
      EndpointSettings ep,
      InputDecoder.InferRequest req,
      ModelInferRequest in,
      List<Reply> replies) {
    int status = ReplyRenderer.status(replies);
    if (status != 200) {
      StringBuilder ids = new StringBuilder();
      for (Reply r : replies) {
        ids.append(ids.length() == 0 ? "" : ",").append(r.requestId());
      }
      throw failure(status, ReplyRenderer.firstError(replies) + " (request ids " + ids + ")");
    }
    Reply.Prediction first = (Reply.Prediction) replies.get(0);
    ModelInferResponse.Builder out =
        ModelInferResponse.newBuilder()
            .setModelName(in.getModelName())
            .setId(req.clientId() != null ? req.clientId() : first.requestId());
    if (ep.models().size() == 1) {
      out.setModelVersion(first.version());
    }
    int labels = ep.labels().size();
    boolean raw = req.binaryOutputs();
    if (OipOutputs.wanted(req, OipOutputs.NAMES.get(0))) {
      ModelInferResponse.InferOutputTensor.Builder probs =
          ModelInferResponse.InferOutputTensor.newBuilder()
              .setName(OipOutputs.NAMES.get(0))
              .setDatatype("FP32")
              .addShape(replies.size())
              .addShape(labels);
      if (raw) {
        ByteBuffer b =
            ByteBuffer.allocate(replies.size() * labels * Float.BYTES)
                .order(ByteOrder.LITTLE_ENDIAN);
        for (Reply r : replies) {
          for (float p : ((Reply.Prediction) r).probabilities()) {
            b.putFloat(p);
          }
        }
        out.addRawOutputContents(ByteString.copyFrom(b.array()));
      } else {
        InferTensorContents.Builder c = InferTensorContents.newBuilder();
        for (Reply r : replies) {
          for (float p : ((Reply.Prediction) r).probabilities()) {
            c.addFp32Contents(p);
          }
        }
        probs.setContents(c);
      }
      out.addOutputs(probs);
    }
    if (OipOutputs.wanted(req, OipOutputs.NAMES.get(1))) {
      ModelInferResponse.InferOutputTensor.Builder label =
          ModelInferResponse.InferOutputTensor.newBuilder()
              .setName(OipOutputs.NAMES.get(1))
              .setDatatype("BYTES")
              .addShape(replies.size());
      if (raw) {
        List<String> answered = new ArrayList<>(replies.size());
        replies.forEach(r -> answered.add(((Reply.Prediction) r).label()));
        out.addRawOutputContents(ByteString.copyFrom(OipOutputs.lengthPrefixed(answered)));
      } else {
        InferTensorContents.Builder c = InferTensorContents.newBuilder();
        for (Reply r : replies) {
          c.addBytesContents(ByteString.copyFromUtf8(((Reply.Prediction) r).label()));
        }
        label.setContents(c);
      }
      out.addOutputs(label);
    }
    // which request, model, stage and version answered each instance, as REST's parameters say
    // them: one comma-separated string each (a parameter is a scalar here)
    StringBuilder ids = new StringBuilder();
    StringBuilder chosen = new StringBuilder();
    StringBuilder stages = new StringBuilder();
    StringBuilder versions = new StringBuilder();
    for (Reply r : replies) {
      Reply.Prediction p = (Reply.Prediction) r;
      String sep = ids.length() == 0 ? "" : ",";
      ids.append(sep).append(p.requestId());
      chosen.append(sep).append(p.model());
      stages.append(sep).append(p.stage());
      versions.append(sep).append(p.version());
    }
    out.putParameters("request_ids", text(ids));
    out.putParameters("models", text(chosen));
    out.putParameters("stages", text(stages));
    out.putParameters("versions", text(versions));
    return out.build();
  }

  private static InferParameter text(CharSequence s) {
    return InferParameter.newBuilder().setStringParam(s.toString()).build();
  }

  private CompletionStage<RepositoryIndexResponse> repositoryIndexCall(
      RepositoryIndexRequest in, Metadata metadata) {
    return repository(
        metadata,
        r -> r.index(in.getReady()),
        body -> {
          RepositoryIndexResponse.Builder out = RepositoryIndexResponse.newBuilder();
          for (JsonNode m : body) {
            out.addModels(
                RepositoryIndexResponse.ModelIndex.newBuilder()
                    .setName(m.path("name").asText())
                    .setVersion(m.path("version").asText())
                    .setState(m.path("state").asText())
                    .setReason(m.path("reason").asText()));
          }
          return out.build();
        });
  }

  private CompletionStage<RepositoryModelLoadResponse> repositoryModelLoadCall(
      RepositoryModelLoadRequest in, Metadata metadata) {
    return repository(
        metadata,
        r -> r.load(modelOf(in.getModelName(), in.getRepositoryName()), null),
        body ->
            RepositoryModelLoadResponse.newBuilder()
                .setModelName(modelOf(in.getModelName(), in.getRepositoryName()))
                .setIsLoaded(true)
                .build());
  }

  private CompletionStage<RepositoryModelUnloadResponse> repositoryModelUnloadCall(
      RepositoryModelUnloadRequest in, Metadata metadata) {
    return repository(
        metadata,
        r -> r.unload(modelOf(in.getModelName(), in.getRepositoryName())),
        body ->
            RepositoryModelUnloadResponse.newBuilder()
                .setModelName(modelOf(in.getModelName(), in.getRepositoryName()))
                .setIsUnloaded(true)
                .build());
  }

  /**
   * The model a load or unload names. Triton's message has the model in field 2 ({@code
   * model_name}, after {@code repository_name}); KServe's has it in field 1, which reads here as
   * {@code repository_name}: with no {@code model_name}, that is the model (this server has one
   * repository).
   */
  static String modelOf(String modelName, String repositoryName) {
    return modelName.isEmpty() ? repositoryName : modelName;
  }

  /**
   * A repository call, behind the admin tokens as over REST: {@code call}'s answer shaped by {@code
   * shape} when it succeeded, else its error as a status.
   */
  private <T> CompletionStage<T> repository(
      Metadata metadata,
      java.util.function.Function<RepositoryRoutes, CompletionStage<JsonAnswer>> call,
      java.util.function.Function<JsonNode, T> shape) {
    AdminRoutes a = admin;
    JsonAnswer refused = auth.adminRefusal(metadata.getText("authorization"), a.loopbackOnly());
    if (refused != null) {
      return CompletableFuture.failedFuture(failure(refused.status(), refused.error()));
    }
    return call.apply(a.repository())
        .thenApply(
            answer -> {
              if (!answer.ok()) {
                throw failure(answer.status(), answer.error());
              }
              return shape.apply(answer.body());
            })
        .exceptionally(e -> rethrow(e, "a repository call"));
  }

  /** A failure passed on as a status: one of ours as it is, anything else INTERNAL (logged). */
  private static <T> T rethrow(Throwable e, String model) {
    Throwable cause = e;
    while (cause instanceof CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof GrpcServiceException g) {
      throw g;
    }
    if (cause instanceof HttpEdge.Busy busy) {
      throw new GrpcServiceException(Status.RESOURCE_EXHAUSTED.withDescription(busy.getMessage()));
    }
    JsonAnswer internal = JsonAnswer.internalError(log, "gRPC ModelInfer of " + model, cause);
    throw new GrpcServiceException(Status.INTERNAL.withDescription(internal.error()));
  }

  /** The gRPC status for an HTTP-style one, with its message. */
  static GrpcServiceException failure(int httpStatus, String message) {
    Status status =
        switch (httpStatus) {
          case 400, 413, 415, 422 -> Status.INVALID_ARGUMENT;
          case 401 -> Status.UNAUTHENTICATED;
          case 403 -> Status.PERMISSION_DENIED;
          case 404 -> Status.NOT_FOUND;
          case 409 -> Status.FAILED_PRECONDITION;
          case 429 -> Status.RESOURCE_EXHAUSTED;
          case 503 -> Status.UNAVAILABLE;
          case 504 -> Status.DEADLINE_EXCEEDED;
          default -> Status.INTERNAL;
        };
    return new GrpcServiceException(status.withDescription(message));
  }

  private static <T> CompletionStage<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }
}
