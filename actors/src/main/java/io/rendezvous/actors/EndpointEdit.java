package io.rendezvous.actors;

import io.rendezvous.actors.EndpointSettings.Role;
import io.rendezvous.actors.EndpointSettings.Stage;
import io.rendezvous.actors.schedule.DecisionPolicies;
import io.rendezvous.actors.schedule.DecisionPolicy;
import io.rendezvous.model.ModelRef;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One change to one endpoint, as the admin API asks for it: applied by {@link EndpointRegistry} to
 * the endpoint as it is in the current table (null when there is none), giving the endpoint as it
 * is to be (null: removed). A change that cannot be made throws {@link Refused} with the HTTP
 * status and the reason. Pure functions of their input, so they are tested as tables.
 */
@FunctionalInterface
public interface EndpointEdit {

  /**
   * {@code served}: the version this node serves under each model's name, to name it exactly when
   * another version of that model joins the endpoint.
   */
  EndpointSettings apply(EndpointSettings current, Map<String, String> served);

  /** Why an edit cannot be made, and the status to answer with (400, 404, 409). */
  final class Refused extends RuntimeException {
    private final int status;

    public Refused(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }

    public int status() {
      return status;
    }
  }

  /** Creates or replaces the endpoint with {@code next}. */
  static EndpointEdit put(EndpointSettings next) {
    return (current, served) -> next;
  }

  /** Removes the endpoint. */
  static EndpointEdit remove() {
    return (current, served) -> {
      exists(current);
      return null;
    };
  }

  /** Switches the endpoint's selection policy. */
  static EndpointEdit policy(String name) {
    return (current, served) -> {
      exists(current);
      DecisionPolicy p =
          DecisionPolicies.find(name)
              .orElseThrow(
                  () ->
                      new Refused(
                          400, "policy '" + name + "' is not one of " + DecisionPolicies.names()));
      return current.policy().name().equals(p.name()) ? current : current.withPolicy(p);
    };
  }

  /**
   * Gives {@code member} this role, adding it to the endpoint if it is not there; a live member
   * opens at {@code after} (its place in the schedule: behind the stages that open no later).
   */
  static EndpointEdit role(String member, Role role, Duration after) {
    return (current, served) -> {
      exists(current);
      Members m = Members.of(current).naming(ModelRef.parse(member), served).without(member);
      m.models.add(member);
      switch (role) {
        case LIVE -> m.live(member, after == null ? Duration.ZERO : after);
        case CANARY -> m.canaries.add(member);
        case SHADOW -> {}
      }
      return m.apply(current);
    };
  }

  /** Takes {@code member} out of the endpoint. */
  static EndpointEdit removeMember(String member) {
    return (current, served) -> {
      exists(current);
      if (!current.models().contains(member)) {
        throw new Refused(404, member + " is not a model of endpoint " + current.name());
      }
      return Members.of(current).without(member).apply(current);
    };
  }

  /**
   * {@code member} (a shadow or the canary) goes live in the place of the live versions of its
   * model, which become the canary; a canary of that model before becomes a shadow. Nothing else
   * changes.
   */
  static EndpointEdit promote(String member) {
    return (current, served) -> {
      exists(current);
      ModelRef ref = ModelRef.parse(member);
      Members m = Members.of(current).naming(ref, served);
      if (!m.models.contains(member)) {
        throw new Refused(
            404,
            member
                + " is not a model of endpoint "
                + current.name()
                + "; add it as a shadow first");
      }
      if (m.stageOf(member) >= 0) {
        throw new Refused(409, member + " is live already");
      }
      List<String> replaced = new ArrayList<>();
      for (int k = 0; k < m.schedule.size(); k++) {
        String live = m.schedule.get(k).model();
        if (ModelRef.parse(live).name().equals(ref.name())) {
          replaced.add(live);
        }
      }
      if (replaced.isEmpty()) {
        throw new Refused(
            409,
            "no live version of "
                + ref.name()
                + " to take over from in endpoint "
                + current.name()
                + "; give "
                + member
                + " the live role with its offset instead");
      }
      // the first replaced stage is the new one's; any other live version of the model leaves
      List<Stage> schedule = new ArrayList<>();
      boolean placed = false;
      for (Stage s : m.schedule) {
        if (!replaced.contains(s.model())) {
          schedule.add(s);
        } else if (!placed) {
          schedule.add(new Stage(member, s.after()));
          placed = true;
        }
      }
      m.schedule.clear();
      m.schedule.addAll(schedule);
      m.canaries.removeIf(c -> ModelRef.parse(c).name().equals(ref.name()));
      m.canaries.addAll(replaced);
      return m.apply(current);
    };
  }

  /**
   * The live {@code member} becomes a shadow; the canary of its model, if there is one, goes live
   * in its place (a rollback). Without one its stage is dropped.
   */
  static EndpointEdit demote(String member) {
    return (current, served) -> {
      exists(current);
      Members m = Members.of(current);
      int k = m.stageOf(member);
      if (k < 0) {
        throw new Refused(409, member + " is not live in endpoint " + current.name());
      }
      String name = ModelRef.parse(member).name();
      String canary =
          m.canaries.stream()
              .filter(c -> ModelRef.parse(c).name().equals(name))
              .findFirst()
              .orElse(null);
      Stage stage = m.schedule.get(k);
      if (canary != null) {
        m.schedule.set(k, new Stage(canary, stage.after()));
        m.canaries.remove(canary);
      } else {
        if (m.schedule.size() == 1) {
          throw new Refused(
              409,
              member
                  + " is the only live model of endpoint "
                  + current.name()
                  + " and no canary of "
                  + name
                  + " can take its place");
        }
        m.schedule.remove(k);
      }
      return m.apply(current);
    };
  }

  private static void exists(EndpointSettings current) {
    if (current == null) {
      throw new Refused(404, "no such endpoint");
    }
  }

  /** An endpoint's members as lists to edit. */
  final class Members {
    final List<String> models;
    final List<Stage> schedule;
    final List<String> canaries;

    private Members(List<String> models, List<Stage> schedule, List<String> canaries) {
      this.models = models;
      this.schedule = schedule;
      this.canaries = canaries;
    }

    static Members of(EndpointSettings e) {
      return new Members(
          new ArrayList<>(e.models()),
          new ArrayList<>(e.schedule()),
          new ArrayList<>(e.canaries()));
    }

    /**
     * When a version of a model joins, the model named without a version is named exactly: the
     * version this node serves under the name (scores of the two could not be told apart).
     */
    Members naming(ModelRef joining, Map<String, String> served) {
      if (!joining.versioned() || !models.contains(joining.name())) {
        return this;
      }
      String bare = joining.name();
      String version = served.get(bare);
      if (version == null) {
        throw new Refused(
            409,
            "the endpoint names "
                + bare
                + " without a version and this node serves no version of it under its name");
      }
      String exact = ModelRef.of(bare, version);
      models.replaceAll(x -> x.equals(bare) ? exact : x);
      schedule.replaceAll(s -> s.model().equals(bare) ? new Stage(exact, s.after()) : s);
      canaries.replaceAll(x -> x.equals(bare) ? exact : x);
      return this;
    }

    Members without(String member) {
      models.remove(member);
      schedule.removeIf(s -> s.model().equals(member));
      canaries.remove(member);
      return this;
    }

    int stageOf(String member) {
      for (int k = 0; k < schedule.size(); k++) {
        if (schedule.get(k).model().equals(member)) {
          return k;
        }
      }
      return -1;
    }

    /** Live from {@code after}: behind every stage that opens no later. */
    void live(String member, Duration after) {
      int at = 0;
      while (at < schedule.size() && schedule.get(at).after().compareTo(after) <= 0) {
        at++;
      }
      schedule.add(at, new Stage(member, after));
    }

    EndpointSettings apply(EndpointSettings e) {
      try {
        return e.withMembers(models, schedule, canaries);
      } catch (IllegalArgumentException invalid) {
        throw new Refused(400, invalid.getMessage());
      }
    }
  }
}
