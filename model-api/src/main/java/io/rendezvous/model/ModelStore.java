package io.rendezvous.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The model store: a directory per model name and one per version under it, each a SavedModel with
 * its {@value ModelMetadata#FILE_NAME}: {@code <root>/<name>/<version>/}. Versions are positive
 * integers, the newest the highest; a version once written is never changed (a new training run
 * writes the next one). Names and versions are checked against strict patterns and every path given
 * out stays under the root, a symbolic link out of it refused: a name from a request can never
 * reach outside the store.
 */
public final class ModelStore {
  /** Letters, digits, '.', '_' and '-', starting with a letter or digit; at most 64. */
  public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

  /** A positive integer without leading zeros, at most 9 digits. */
  public static final Pattern VERSION = Pattern.compile("[1-9][0-9]{0,8}");

  /** In configuration, the newest version in the store. */
  public static final String LATEST = "latest";

  private final Path root;

  public ModelStore(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  public Path root() {
    return root;
  }

  /** {@code name} if it is a valid model name, else an exception saying what is allowed. */
  public static String checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "model name '"
              + name
              + "' is not valid: letters, digits, '.', '_' and '-', starting with a letter or"
              + " digit, at most 64");
    }
    return name;
  }

  /** {@code version} if it is a valid version, else an exception saying what is allowed. */
  public static String checkVersion(String version) {
    if (version == null || !VERSION.matcher(version).matches()) {
      throw new IllegalArgumentException(
          "model version '" + version + "' is not valid: a positive integer of at most 9 digits");
    }
    return version;
  }

  /** Where the versions of {@code name} are (whether or not it exists yet). */
  public Path modelDir(String name) {
    return confined(root.resolve(checkName(name)));
  }

  /** Where {@code version} of {@code name} is (whether or not it exists yet). */
  public Path versionDir(String name, String version) {
    return confined(modelDir(name).resolve(checkVersion(version)));
  }

  /** Model names with at least one version, in order. */
  public List<String> names() throws IOException {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(root)) {
      for (Path p : dirs.sorted().toList()) {
        String name = p.getFileName().toString();
        if (NAME.matcher(name).matches()
            && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
            && !versions(name).isEmpty()) {
          out.add(name);
        }
      }
    }
    return out;
  }

  /** The complete versions of {@code name} (those with their metadata), oldest first. */
  public List<String> versions(String name) throws IOException {
    Path dir = modelDir(name);
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return List.of();
    }
    try (Stream<Path> entries = Files.list(dir)) {
      return entries
          .filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
          .map(p -> p.getFileName().toString())
          .filter(v -> VERSION.matcher(v).matches())
          .filter(v -> Files.isRegularFile(dir.resolve(v).resolve(ModelMetadata.FILE_NAME)))
          .sorted(Comparator.comparingLong(Long::parseLong))
          .toList();
    }
  }

  /** The newest complete version of {@code name}, if any. */
  public Optional<String> latest(String name) throws IOException {
    List<String> all = versions(name);
    return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
  }

  /**
   * The version a new training run or upload of {@code name} takes: one above every version
   * directory there, complete or not (an unfinished one is never reused).
   */
  public String nextVersion(String name) throws IOException {
    Path dir = modelDir(name);
    long max = 0;
    if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      try (Stream<Path> entries = Files.list(dir)) {
        for (Path p : entries.toList()) {
          String v = p.getFileName().toString();
          if (VERSION.matcher(v).matches()) {
            max = Math.max(max, Long.parseLong(v));
          }
        }
      }
    }
    return Long.toString(max + 1);
  }

  /**
   * The directory of {@code version} of {@code name}, {@value #LATEST} meaning the newest: it must
   * exist, be complete, and be inside the store once links are followed.
   */
  public Path resolve(String name, String version) throws IOException {
    String v =
        LATEST.equals(version)
            ? latest(name)
                .orElseThrow(
                    () ->
                        new IOException("no version of model '" + name + "' in " + modelDir(name)))
            : checkVersion(version);
    Path dir = versionDir(name, v);
    if (!Files.isRegularFile(dir.resolve(ModelMetadata.FILE_NAME))) {
      throw new IOException("no version " + v + " of model '" + name + "' in " + modelDir(name));
    }
    Path real = dir.toRealPath();
    if (!real.startsWith(root.toRealPath())) {
      throw new IOException(dir + " leads out of the model store (" + real + ")");
    }
    // nothing inside a version may lead elsewhere either: a link in it is refused, not followed
    try (Stream<Path> inside = Files.walk(real)) {
      for (Path p : inside.toList()) {
        if (Files.isSymbolicLink(p)) {
          throw new IOException(p + " in version " + v + " of model '" + name + "' is a link");
        }
      }
    }
    return real;
  }

  private Path confined(Path p) {
    Path n = p.normalize();
    if (!n.startsWith(root) || n.equals(root)) {
      throw new IllegalArgumentException(p + " is not inside the model store " + root);
    }
    return n;
  }
}
