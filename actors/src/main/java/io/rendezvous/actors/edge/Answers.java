package io.rendezvous.actors.edge;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.Reply;
import io.rendezvous.actors.Reply.ModelScore;
import io.rendezvous.actors.Reply.Prediction;
import io.rendezvous.actors.Reply.Rejected;
import io.rendezvous.model.Probabilities;
import java.util.List;

/**
 * Rendezvous replies as JSON: the answer, and on request the /predict-rendezvous view of every
 * model.
 */
public final class Answers {
  private Answers() {}

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
