package io.rendezvous.model;

/**
 * A model as an endpoint names it: {@code m3@2}, one version of a model, or {@code m3}, whatever
 * version a node serves under the model's name (the one it started with). Written {@code
 * name@version}, the form endpoints, the admin API and the journal use.
 */
public record ModelRef(String name, String version) {

  public ModelRef {
    ModelStore.checkName(name);
    if (version != null) {
      ModelStore.checkVersion(version);
    }
  }

  /** References already parsed: endpoints parse their members on every score. */
  private static final java.util.concurrent.ConcurrentHashMap<String, ModelRef> PARSED =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** Enough for every member of every endpoint; past it a reference is parsed each time. */
  private static final int PARSED_KEPT = 4096;

  /** {@code m3@2} or {@code m3}; a name or version the store would not take is refused. */
  public static ModelRef parse(String ref) {
    if (ref == null) {
      throw new IllegalArgumentException("model reference must not be null");
    }
    ModelRef known = PARSED.get(ref);
    if (known != null) {
      return known;
    }
    int at = ref.indexOf('@');
    ModelRef parsed =
        at < 0
            ? new ModelRef(ref, null)
            : new ModelRef(ref.substring(0, at), ref.substring(at + 1));
    if (PARSED.size() < PARSED_KEPT) {
      PARSED.put(ref, parsed);
    }
    return parsed;
  }

  /** The member {@code name@version}: a version named exactly. */
  public static String of(String name, String version) {
    return version == null ? name : name + "@" + version;
  }

  public boolean versioned() {
    return version != null;
  }

  /** Whether a score from {@code version} of {@code model} is this reference's. */
  public boolean matches(String model, String scoredVersion) {
    return name.equals(model) && (version == null || version.equals(scoredVersion));
  }

  @Override
  public String toString() {
    return of(name, version);
  }
}
