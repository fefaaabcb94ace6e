package io.rendezvous.actors;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.rendezvous.actors.schedule.DecisionPolicies;
import io.rendezvous.actors.schedule.DecisionPolicy;
import io.rendezvous.model.TensorSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A named rendezvous endpoint ({@code rendezvous.endpoints.<name>}): the models every request is
 * given to, their input, the deadline schedule, the policy that decides the answer and the SLA.
 * Validated at start: a schedule that cannot work is a start-up error, not a surprise under load.
 */
public record EndpointSettings(
    String name,
    List<String> models,
    TensorSpec input,
    List<Stage> schedule,
    DecisionPolicy policy,
    Duration sla,
    Duration journalMargin,
    Duration linger,
    List<String> labels,
    Duration deliveryGrace) {

  /**
   * One stage: from {@code after} (measured from receipt of the request) {@code model} may answer.
   */
  public record Stage(String model, Duration after) {}

  /** Without a delivery grace: an answer the journal has not confirmed by the SLA is a 503. */
  public EndpointSettings(
      String name,
      List<String> models,
      TensorSpec input,
      List<Stage> schedule,
      DecisionPolicy policy,
      Duration sla,
      Duration journalMargin,
      Duration linger,
      List<String> labels) {
    this(name, models, input, schedule, policy, sla, journalMargin, linger, labels, Duration.ZERO);
  }

  public EndpointSettings {
    if (deliveryGrace.isNegative()) {
      throw new IllegalArgumentException(
          "rendezvous.endpoints." + name + ": delivery-grace must not be negative");
    }
    models = List.copyOf(models);
    schedule = List.copyOf(schedule);
    labels = List.copyOf(labels);
    validate(name, models, schedule, sla, journalMargin, linger);
    if (policy == null) {
      throw new IllegalArgumentException("rendezvous.endpoints." + name + ": policy must be set");
    }
  }

  private static void validate(
      String name,
      List<String> models,
      List<Stage> schedule,
      Duration sla,
      Duration margin,
      Duration linger) {
    String where = "rendezvous.endpoints." + name + ": ";
    if (models.isEmpty()) {
      throw new IllegalArgumentException(where + "models must not be empty");
    }
    if (new HashSet<>(models).size() != models.size()) {
      throw new IllegalArgumentException(where + "models lists a model twice: " + models);
    }
    if (schedule.isEmpty()) {
      throw new IllegalArgumentException(where + "schedule must not be empty");
    }
    Set<String> seen = new HashSet<>();
    Duration previous = Duration.ZERO;
    for (Stage s : schedule) {
      if (!models.contains(s.model())) {
        throw new IllegalArgumentException(
            where + "schedule names " + s.model() + ", which is not in models " + models);
      }
      if (!seen.add(s.model())) {
        throw new IllegalArgumentException(where + "schedule names " + s.model() + " twice");
      }
      if (s.after().isNegative() || s.after().compareTo(previous) < 0) {
        throw new IllegalArgumentException(
            where
                + "schedule offsets must be >= 0 and must not decrease ("
                + s.model()
                + " after "
                + s.after().toMillis()
                + "ms)");
      }
      previous = s.after();
    }
    if (margin.isNegative() || sla.compareTo(margin) <= 0) {
      throw new IllegalArgumentException(
          where
              + "sla ("
              + sla.toMillis()
              + "ms) must exceed journal-margin ("
              + margin.toMillis()
              + "ms)");
    }
    if (previous.compareTo(sla.minus(margin)) >= 0) {
      throw new IllegalArgumentException(
          where
              + "the last stage opens at "
              + previous.toMillis()
              + "ms, not before sla - journal-margin");
    }
    if (linger.isNegative()) {
      throw new IllegalArgumentException(where + "linger must not be negative");
    }
  }

  /** The moment a 504 is decided: the SLA less the time allowed for journaling the answer. */
  public Duration decisionDeadline() {
    return sla.minus(journalMargin);
  }

  /**
   * Until when after receipt a score of {@code model} can still decide the answer, for its pool to
   * put requests in time first: until a later stage opens (the first with a greater offset), the
   * last stages until the decision deadline; a model outside the schedule never decides (zero). A
   * priority, not a cut-off: a late score still decides if no later model has answered by then, and
   * is still scored.
   */
  public Duration decisiveUntil(String model) {
    int k = stageOf(model);
    if (k < 0) {
      return Duration.ZERO;
    }
    Duration own = schedule.get(k).after();
    for (int later = k + 1; later < schedule.size(); later++) {
      if (schedule.get(later).after().compareTo(own) > 0) {
        return schedule.get(later).after();
      }
    }
    return decisionDeadline();
  }

  public int stageOf(String model) {
    for (int i = 0; i < schedule.size(); i++) {
      if (schedule.get(i).model().equals(model)) {
        return i;
      }
    }
    return -1;
  }

  public EndpointSettings withLabels(List<String> l) {
    return new EndpointSettings(
        name, models, input, schedule, policy, sla, journalMargin, linger, l, deliveryGrace);
  }

  public EndpointSettings withSchedule(List<Stage> s, Duration newSla) {
    return new EndpointSettings(
        name, models, input, s, policy, newSla, journalMargin, linger, labels, deliveryGrace);
  }

  public EndpointSettings withModels(List<String> m) {
    return new EndpointSettings(
        name, m, input, schedule, policy, sla, journalMargin, linger, labels, deliveryGrace);
  }

  public EndpointSettings withLinger(Duration l) {
    return new EndpointSettings(
        name, models, input, schedule, policy, sla, journalMargin, l, labels, deliveryGrace);
  }

  public EndpointSettings withDeliveryGrace(Duration grace) {
    return new EndpointSettings(
        name, models, input, schedule, policy, sla, journalMargin, linger, labels, grace);
  }

  public static EndpointSettings fromConfig(String name, Config c) {
    try {
      List<Stage> schedule = new ArrayList<>();
      for (Config s : c.getConfigList("schedule")) {
        schedule.add(
            new Stage(
                s.getString("model"), s.hasPath("after") ? s.getDuration("after") : Duration.ZERO));
      }
      Config in = c.getConfig("input");
      TensorSpec input =
          new TensorSpec(in.getString("name"), in.getString("dtype"), in.getLongList("shape"));
      String policyName = c.getString("policy");
      DecisionPolicy policy =
          DecisionPolicies.find(policyName)
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "rendezvous.endpoints."
                              + name
                              + ": policy '"
                              + policyName
                              + "' is not one of "
                              + DecisionPolicies.names()));
      return new EndpointSettings(
          name,
          c.getStringList("models"),
          input,
          schedule,
          policy,
          c.getDuration("sla"),
          c.getDuration("journal-margin"),
          c.getDuration("linger"),
          List.of(),
          c.getDuration("delivery-grace"));
    } catch (ConfigException e) {
      throw new IllegalArgumentException("rendezvous.endpoints." + name + ": " + e.getMessage(), e);
    }
  }

  /** Every endpoint under {@code rendezvous.endpoints}, by name. */
  public static Map<String, EndpointSettings> allFromConfig(Config root) {
    Config endpoints = root.getConfig("rendezvous.endpoints");
    Map<String, EndpointSettings> out = new LinkedHashMap<>();
    for (String name : endpoints.root().keySet().stream().sorted().toList()) {
      out.put(name, fromConfig(name, endpoints.getConfig("\"" + name + "\"")));
    }
    return Map.copyOf(out);
  }
}
