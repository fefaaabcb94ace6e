package io.rendezvous.actors.edge;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.EndpointSettings;
import io.rendezvous.actors.Reply;
import io.rendezvous.actors.Reply.ModelScore;
import io.rendezvous.actors.Reply.Prediction;
import io.rendezvous.actors.Reply.Rejected;
import io.rendezvous.model.Probabilities;
import java.util.List;

/**
 * The one place where a request's {@link Reply}s become JSON, for every edge: the {@code /predict}
 * body (HTTP, and the ceiling route the bench serves with the same shape), the stream-mode answer
 * (Kafka) and the Open Inference Protocol v2 response. Each answer is rendered the same way
 * everywhere, with on request the /predict-rendezvous view of every model.
 */
public final class ReplyRenderer {
  private ReplyRenderer() {}

  /** 200 when every instance was answered, else the status of the first that was not. */
  public static int status(List<Reply> replies) {
    for (Reply r : replies) {
      if (r instanceof Rejected rej) {
        return rej.status();
      }
    }
    return 200;
  }

  public static String firstError(List<Reply> replies) {
    for (Reply r : replies) {
      if (r instanceof Rejected rej) {
        return rej.error();
      }
    }
    return null;
  }

  /**
   * The {@code /predict} body: every instance's answer, and the first error when one was not
   * answered.
   */
  public static ObjectNode predictBody(
      List<Reply> replies, String clientId, List<String> labels, boolean detail) {
    ObjectNode body = Json.object();
    if (status(replies) != 200) {
      body.put("error", firstError(replies));
    }
    ArrayNode predictions = body.putArray("predictions");
    for (Reply r : replies) {
      predictions.add(render(r, clientId, labels, detail));
    }
    return body;
  }

  /** A stream-mode answer: the request's key, the status, every instance's answer. */
  public static ObjectNode streamBody(String key, List<Reply> replies, List<String> labels) {
    ObjectNode body = Json.object();
    if (key != null) {
      body.put("key", key);
    }
    body.put("status", status(replies));
    ArrayNode predictions = body.putArray("predictions");
    for (Reply r : replies) {
      predictions.add(render(r, key, labels, false));
    }
    return body;
  }

  /**
   * An Open Inference Protocol v2 infer response for {@code endpoint}: the probabilities and labels
   * as outputs, and which request, model, stage and version answered each instance as parameters;
   * or, when an instance was not answered, the error with the request ids.
   */
  public static ObjectNode inferBody(
      EndpointSettings endpoint, String clientId, List<Reply> replies) {
    if (status(replies) != 200) {
      ObjectNode err = Json.object();
      err.put("error", firstError(replies));
      if (clientId != null) {
        err.put("id", clientId);
      }
      ArrayNode ids = err.putArray("request_ids");
      replies.forEach(r -> ids.add(r.requestId()));
      return err;
    }
    ObjectNode o = Json.object();
    o.put("model_name", endpoint.name());
    Prediction first = (Prediction) replies.get(0);
    // a single model has one version; a rendezvous answers each instance from the model it chose
    if (endpoint.models().size() == 1) {
      o.put("model_version", first.version());
    }
    o.put("id", clientId != null ? clientId : first.requestId());
    ArrayNode outputs = o.putArray("outputs");
    ObjectNode probs = outputs.addObject();
    probs.put("name", "probabilities");
    probs.put("datatype", "FP32");
    probs.putArray("shape").add(replies.size()).add(endpoint.labels().size());
    ArrayNode data = probs.putArray("data");
    ObjectNode labels = outputs.addObject();
    labels.put("name", "label");
    labels.put("datatype", "BYTES");
    labels.putArray("shape").add(replies.size());
    ArrayNode labelData = labels.putArray("data");
    ObjectNode params = o.putObject("parameters");
    ArrayNode ids = params.putArray("request_ids");
    ArrayNode chosen = params.putArray("models");
    ArrayNode stages = params.putArray("stages");
    ArrayNode versions = params.putArray("versions");
    for (Reply r : replies) {
      Prediction p = (Prediction) r;
      floats(data, p.probabilities());
      labelData.add(p.label());
      ids.add(p.requestId());
      chosen.add(p.model());
      stages.add(p.stage());
      versions.add(p.version());
    }
    return o;
  }

  public static ObjectNode render(
      Reply reply, String clientId, List<String> labels, boolean detail) {
    ObjectNode o = Json.object();
    o.put("request_id", reply.requestId());
    if (clientId != null) {
      o.put("client_id", clientId);
    }
    if (reply instanceof Rejected r) {
      o.put("status", r.status());
      o.put("error", r.error());
      return o;
    }
    Prediction p = (Prediction) reply;
    o.put("status", 200);
    o.put("endpoint", p.endpoint());
    o.put("model", p.model());
    o.put("version", p.version());
    o.put("stage", p.stage());
    o.put("label", p.label());
    o.put("label_index", p.labelIndex());
    o.put("confidence", p.probabilities()[p.labelIndex()]);
    floats(o.putArray("probabilities"), p.probabilities());
    o.put("decided_ms", p.decidedMicros() / 1000.0);
    if (p.deliveredLateMicros() > 0) {
      // decided in time, but the journal confirmed it after the SLA: delivered anyway, and said so
      o.put("delivered_late_ms", p.deliveredLateMicros() / 1000.0);
    }
    o.put("node", p.node());
    if (detail) {
      detail(o, p, labels);
    }
    return o;
  }

  /** Every model's score that had arrived, the most confident of them, and their average. */
  private static void detail(ObjectNode o, Prediction p, List<String> labels) {
    ArrayNode scores = o.putArray("scores");
    float[] sum = null;
    int counted = 0;
    ModelScore best = null;
    float bestConfidence = -1;
    for (ModelScore s : p.scores()) {
      ObjectNode n = scores.addObject();
      n.put("model", s.model());
      n.put("version", s.version());
      n.put("outcome", s.outcome());
      if (s.arrivalMicros() >= 0) {
        n.put("arrival_ms", s.arrivalMicros() / 1000.0);
      }
      if (s.error() != null) {
        n.put("error", s.error());
      }
      float[] probs = s.probabilities();
      if (probs != null) {
        n.put("label", s.label());
        int top = Probabilities.argmax(probs);
        n.put("confidence", probs[top]);
        n.put("inference_ms", s.inferenceMicros() / 1000.0);
        floats(n.putArray("probabilities"), probs);
        if (probs[top] > bestConfidence) {
          bestConfidence = probs[top];
          best = s;
        }
        if (sum == null) {
          sum = new float[probs.length];
        }
        for (int i = 0; i < probs.length; i++) {
          sum[i] += probs[i];
        }
        counted++;
      }
    }
    if (best != null) {
      ObjectNode h = o.putObject("highest_confidence");
      h.put("model", best.model());
      h.put("label", best.label());
      h.put("confidence", bestConfidence);
      float[] avg = new float[sum.length];
      for (int i = 0; i < sum.length; i++) {
        avg[i] = sum[i] / counted;
      }
      ObjectNode a = o.putObject("average");
      int top = Probabilities.argmax(avg);
      a.put("models", counted);
      a.put("label", top < labels.size() ? labels.get(top) : Integer.toString(top));
      a.put("confidence", avg[top]);
      floats(a.putArray("probabilities"), avg);
    }
  }

  public static void floats(ArrayNode a, float[] values) {
    for (float v : values) {
      a.add(v);
    }
  }
}
