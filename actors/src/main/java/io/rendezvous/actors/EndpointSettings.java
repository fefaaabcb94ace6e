package io.rendezvous.actors;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.rendezvous.actors.schedule.DecisionPolicies;
import io.rendezvous.actors.schedule.DecisionPolicy;
import io.rendezvous.model.ModelRef;
import io.rendezvous.model.TensorSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A named rendezvous endpoint ({@code rendezvous.endpoints.<name>}, or set through the admin API):
 * the models every request is given to, their input, the deadline schedule, the policy that decides
 * the answer and the SLA. Validated whole: a schedule that cannot work is refused, not a surprise
 * under load.
 *
 * <p>Its {@code models} are members as {@link ModelRef} writes them: {@code m3@2} (that version) or
 * {@code m3} (the version a node serves under the name). Each has a role: <b>live</b> when the
 * schedule names it (its score can be the answer), <b>canary</b> when {@code canaries} does (the
 * reference the live answer is compared with), <b>shadow</b> otherwise (scored and journaled, never
 * chosen). {@code generation}: the endpoint table's generation this endpoint was published in (0
 * for one that was not), recorded with every answer.
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
    Duration deliveryGrace,
    List<String> canaries,
    long generation) {

  /** What a member is to the endpoint. */
  public enum Role {
    LIVE,
    SHADOW,
    CANARY;

    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Role parse(String s) {
      for (Role r : values()) {
        if (r.wireName().equals(s)) {
          return r;
        }
      }
      throw new IllegalArgumentException("role '" + s + "' is not one of live, shadow, canary");
    }
  }

  /**
   * One stage: from {@code after} (measured from receipt of the request) {@code model} may answer.
   */
  public record Stage(String model, Duration after) {}

  /** Without canaries, outside any endpoint table. */
  public EndpointSettings(
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
    this(
        name,
        models,
        input,
        schedule,
        policy,
        sla,
        journalMargin,
        linger,
        labels,
        deliveryGrace,
        List.of(),
        0);
  }

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
    canaries = List.copyOf(canaries);
    validate(name, models, schedule, sla, journalMargin, linger);
    validateMembers(name, models, schedule, canaries);
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

  private static void validateMembers(
      String name, List<String> models, List<Stage> schedule, List<String> canaries) {
    String where = "rendezvous.endpoints." + name + ": ";
    Map<String, Boolean> bareByName = new LinkedHashMap<>();
    for (String m : models) {
      ModelRef ref;
      try {
        ref = ModelRef.parse(m);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + "model '" + m + "': " + e.getMessage(), e);
      }
      Boolean before = bareByName.put(ref.name(), !ref.versioned());
      if (before != null && (before || !ref.versioned())) {
        // a score of the version served under the name could not be told from the named one's
        throw new IllegalArgumentException(
            where
                + "model "
                + ref.name()
                + " is named both with and without a version; name every version of it");
      }
    }
    Set<String> live = new HashSet<>();
    schedule.forEach(st -> live.add(st.model()));
    Set<String> seen = new HashSet<>();
    for (String c : canaries) {
      if (!models.contains(c)) {
        throw new IllegalArgumentException(where + "canary " + c + " is not in models " + models);
      }
      if (live.contains(c)) {
        throw new IllegalArgumentException(where + c + " cannot be both live and the canary");
      }
      if (!seen.add(c)) {
        throw new IllegalArgumentException(where + "canaries names " + c + " twice");
      }
    }
  }

  /** What member {@code member} is to this endpoint (null when it is none of its models). */
  public Role role(String member) {
    if (!models.contains(member)) {
      return null;
    }
    if (stageOf(member) >= 0) {
      return Role.LIVE;
    }
    return canaries.contains(member) ? Role.CANARY : Role.SHADOW;
  }

  /** The role of model {@code i} (its index in {@code models}). */
  public Role role(int i) {
    return role(models.get(i));
  }

  /**
   * The index in {@code models} of the member a score of {@code version} of {@code model} belongs
   * to, or -1: the version named exactly, or else the model named without a version.
   */
  public int memberIndex(String model, String version) {
    for (int i = 0; i < models.size(); i++) {
      if (ModelRef.parse(models.get(i)).matches(model, version)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The schedule's deadline: the SLA less the time allowed for journaling the answer. The best
   * answer in by then is taken; no better one is waited for after it.
   */
  public Duration decisionDeadline() {
    return sla.minus(journalMargin);
  }

  /**
   * The moment a 504 is decided: the decision deadline and the delivery grace. When no live model
   * has answered by the decision deadline (their cores taken for a while), the first live score
   * within the grace is the answer, delivered late and counted, rather than none.
   */
  public Duration lastDecisionDeadline() {
    return decisionDeadline().plus(deliveryGrace);
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
        name,
        models,
        input,
        schedule,
        policy,
        sla,
        journalMargin,
        linger,
        l,
        deliveryGrace,
        canaries,
        generation);
  }

  public EndpointSettings withSchedule(List<Stage> s, Duration newSla) {
    return new EndpointSettings(
        name,
        models,
        input,
        s,
        policy,
        newSla,
        journalMargin,
        linger,
        labels,
        deliveryGrace,
        canaries,
        generation);
  }

  public EndpointSettings withModels(List<String> m) {
    return new EndpointSettings(
        name,
        m,
        input,
        schedule,
        policy,
        sla,
        journalMargin,
        linger,
        labels,
        deliveryGrace,
        canaries,
        generation);
  }

  public EndpointSettings withLinger(Duration l) {
    return new EndpointSettings(
        name,
        models,
        input,
        schedule,
        policy,
        sla,
        journalMargin,
        l,
        labels,
        deliveryGrace,
        canaries,
        generation);
  }

  public EndpointSettings withDeliveryGrace(Duration grace) {
    return new EndpointSettings(
        name,
        models,
        input,
        schedule,
        policy,
        sla,
        journalMargin,
        linger,
        labels,
        grace,
        canaries,
        generation);
  }

  /** The same endpoint with these members and roles (validated whole). */
  public EndpointSettings withMembers(List<String> m, List<Stage> s, List<String> c) {
    return new EndpointSettings(
        name,
        m,
        input,
        s,
        policy,
        sla,
        journalMargin,
        linger,
        labels,
        deliveryGrace,
        c,
        generation);
  }

  public EndpointSettings withPolicy(DecisionPolicy p) {
    return new EndpointSettings(
        name,
        models,
        input,
        schedule,
        p,
        sla,
        journalMargin,
        linger,
        labels,
        deliveryGrace,
        canaries,
        generation);
  }

  /**
   * This endpoint for a client whose own deadline {@code deadline} is shorter than the SLA: the
   * deadline is its SLA, and a stage that would open at or after the decision deadline opens just
   * before it, so the best answer in by then is taken (as at the SLA) rather than none. A deadline
   * no longer than the journal margin leaves the answer the least time the journal needs: {@link
   * #shortestDeadline}.
   */
  public EndpointSettings within(Duration deadline) {
    Duration d = deadline.compareTo(shortestDeadline()) < 0 ? shortestDeadline() : deadline;
    if (d.compareTo(sla) >= 0) {
      return this;
    }
    Duration lastOpening = d.minus(journalMargin).minus(Duration.ofNanos(1_000));
    List<Stage> s = new ArrayList<>(schedule.size());
    for (Stage stage : schedule) {
      s.add(
          stage.after().compareTo(lastOpening) > 0 ? new Stage(stage.model(), lastOpening) : stage);
    }
    return withSchedule(s, d);
  }

  /** The shortest deadline a request can be decided within: the journal margin and 1 ms. */
  public Duration shortestDeadline() {
    return journalMargin.plusMillis(1);
  }

  public EndpointSettings withGeneration(long g) {
    return new EndpointSettings(
        name,
        models,
        input,
        schedule,
        policy,
        sla,
        journalMargin,
        linger,
        labels,
        deliveryGrace,
        canaries,
        g);
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
          c.getDuration("delivery-grace"),
          c.hasPath("canaries") ? c.getStringList("canaries") : List.of(),
          0);
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
