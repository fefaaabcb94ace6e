package io.rendezvous.node;

import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.ModelStore;
import io.rendezvous.workers.training.ContentHash;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * An uploaded model version: a gzipped tar of one SavedModel directory with its {@value
 * ModelMetadata#FILE_NAME} (at the archive's root, or under one top-level directory), installed as
 * the next version of a model in the store. Extracted safely: every entry is read and checked
 * before it is written; only regular files and directories are taken, with relative names that stay
 * inside the version (no {@code ..}, no absolute paths); a link, device or fifo refuses the whole
 * archive; the bytes written and the entries are capped. It is extracted aside and moved in whole,
 * so a version is never seen half-written, and never over an existing one.
 */
public final class ModelArchive {

  /** Why an archive is refused: the client's fault, a 4xx. */
  static final class Refused extends Exception {
    Refused(String message) {
      super(message, null, false, false);
    }
  }

  /** Caps on what one archive may hold once extracted. */
  record Limits(long maxExtractedBytes, int maxEntries) {}

  /** What was installed. */
  record Installed(String name, String version, Path directory, ModelMetadata metadata) {}

  private static final Object INSTALLING = new Object();

  private ModelArchive() {}

  /**
   * Installs the archive read from {@code gzippedTar} as the next version of {@code name} in {@code
   * store}. Blocking (disk): call it off the actor and HTTP threads.
   */
  static Installed install(ModelStore store, String name, InputStream gzippedTar, Limits limits)
      throws Refused, IOException {
    return install(store, name, null, gzippedTar, limits, null);
  }

  /**
   * The same, as {@code version} exactly when it is given (a version fetched from another node
   * keeps its number; one already there with the same content is taken as it is), and only if its
   * files hash to {@code expectedHash} when that is given. Either way the files must hash to what
   * their metadata says.
   */
  static Installed install(
      ModelStore store,
      String name,
      String version,
      InputStream gzippedTar,
      Limits limits,
      String expectedHash)
      throws Refused, IOException {
    ModelStore.checkName(name);
    if (version != null) {
      ModelStore.checkVersion(version);
    }
    Path modelDir = store.modelDir(name);
    Files.createDirectories(modelDir);
    Path staging = modelDir.resolve(".upload-" + UUID.randomUUID());
    Files.createDirectory(staging);
    try {
      extract(gzippedTar, staging, limits);
      Path root = versionRoot(staging);
      ModelMetadata m;
      try {
        m = ModelMetadata.read(root);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new Refused(
            "the archive's "
                + ModelMetadata.FILE_NAME
                + " is not valid: "
                + e.getOriginalMessage());
      } catch (IOException | RuntimeException e) {
        // the message would name this server's paths
        throw new Refused(
            "the archive's "
                + ModelMetadata.FILE_NAME
                + " is not readable ("
                + e.getClass().getSimpleName()
                + ")");
      }
      if (!Files.isRegularFile(root.resolve("saved_model.pb"), LinkOption.NOFOLLOW_LINKS)) {
        throw new Refused("the archive holds no saved_model.pb beside its metadata");
      }
      String hash = ContentHash.of(root);
      if (m.contentHash() != null && !m.contentHash().equals(hash)) {
        throw new Refused(
            "the archive's files hash to "
                + hash
                + ", not to the content hash its metadata gives ("
                + m.contentHash()
                + ")");
      }
      if (expectedHash != null && !expectedHash.equals(hash)) {
        throw new Refused(
            "the archive's files hash to " + hash + ", not to the expected " + expectedHash);
      }
      synchronized (INSTALLING) {
        // one install at a time: the version is taken and filled in one step
        String v = version != null ? version : store.nextVersion(name);
        Path target = store.versionDir(name, v);
        if (version != null && Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
          ModelMetadata there = ModelMetadata.read(target);
          if (hash.equals(there.contentHash())) {
            return new Installed(name, v, target, there);
          }
          throw new Refused(
              "version " + v + " of " + name + " is here already, with other content");
        }
        ModelMetadata installed = renamed(m, name, v);
        installed.write(root);
        Files.move(root, target, StandardCopyOption.ATOMIC_MOVE);
        return new Installed(name, v, target, installed);
      }
    } finally {
      try {
        deleteTree(staging);
      } catch (IOException e) {
        // what was asked is done or refused either way; the leftover is only disk
        org.slf4j.LoggerFactory.getLogger(ModelArchive.class)
            .warn("could not remove the upload's staging directory {}: {}", staging, e.toString());
      }
    }
  }

  /** The metadata as the store holds it: under the name and version it was installed as. */
  private static ModelMetadata renamed(ModelMetadata m, String name, String version) {
    return new ModelMetadata(
        m.schemaVersion(),
        name,
        version,
        m.description(),
        m.labels(),
        m.holdoutAccuracy(),
        m.holdoutCount(),
        m.trainingTimeMillis(),
        m.trainedAt(),
        m.buildHash(),
        m.signature(),
        m.input(),
        m.output(),
        m.trainingDataHash(),
        m.seed(),
        m.contentHash(),
        m.reference(),
        m.featurizer(),
        m.parameters());
  }

  /**
   * Writes the version directory {@code dir} as a gzipped tar to {@code out}, its files at the
   * root.
   */
  public static void pack(Path dir, java.io.OutputStream out) throws IOException {
    try (org.apache.commons.compress.archivers.tar.TarArchiveOutputStream tar =
        new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(
            new java.util.zip.GZIPOutputStream(out))) {
      tar.setLongFileMode(
          org.apache.commons.compress.archivers.tar.TarArchiveOutputStream.LONGFILE_POSIX);
      List<Path> files;
      try (Stream<Path> walk = Files.walk(dir)) {
        files = new ArrayList<>(walk.filter(Files::isRegularFile).sorted().toList());
      }
      for (Path f : files) {
        TarArchiveEntry e =
            new TarArchiveEntry(f.toFile(), dir.relativize(f).toString().replace('\\', '/'));
        tar.putArchiveEntry(e);
        Files.copy(f, tar);
        tar.closeArchiveEntry();
      }
    }
  }

  private static void extract(InputStream in, Path into, Limits limits)
      throws Refused, IOException {
    long written = 0;
    int entries = 0;
    TarArchiveInputStream tar;
    try {
      tar = new TarArchiveInputStream(new GZIPInputStream(new BufferedInputStream(in)));
    } catch (java.util.zip.ZipException | java.io.EOFException e) {
      throw new Refused("the body is not a gzipped tar archive: " + e.getMessage());
    }
    try (tar) {
      TarArchiveEntry e;
      while ((e = nextEntry(tar)) != null) {
        if (++entries > limits.maxEntries()) {
          throw new Refused("the archive has more than " + limits.maxEntries() + " entries");
        }
        String entryName = e.getName();
        if (e.isSymbolicLink() || e.isLink()) {
          throw new Refused("entry '" + entryName + "' is a link; links are not taken");
        }
        if (!e.isDirectory() && !e.isFile()) {
          throw new Refused("entry '" + entryName + "' is not a file or a directory");
        }
        Path target = inside(into, entryName);
        if (target == null) {
          continue;
        }
        if (e.isDirectory()) {
          createDirectories(target, entryName);
          continue;
        }
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
          throw new Refused("entry '" + entryName + "' is in the archive twice");
        }
        createDirectories(target.getParent(), entryName);
        try (OutputStream out = Files.newOutputStream(target)) {
          byte[] buf = new byte[64 * 1024];
          int n;
          while ((n = read(tar, buf)) > 0) {
            written += n;
            if (written > limits.maxExtractedBytes()) {
              throw new Refused(
                  "the archive extracts to more than " + limits.maxExtractedBytes() + " bytes");
            }
            out.write(buf, 0, n);
          }
        }
      }
    } catch (java.util.zip.ZipException | java.io.EOFException bad) {
      throw new Refused("the archive is damaged or cut short: " + bad.getMessage());
    }
    if (entries == 0) {
      throw new Refused("the archive is empty");
    }
  }

  /**
   * The next entry; an archive the reader cannot parse (a bad header, cut short, not a tar, or its
   * bytes not coming in time) is the sender's problem.
   */
  private static TarArchiveEntry nextEntry(TarArchiveInputStream tar) throws Refused {
    try {
      return tar.getNextEntry();
    } catch (IOException | IllegalArgumentException bad) {
      throw new Refused("the archive is damaged or cut short: " + bad.getMessage());
    }
  }

  private static int read(TarArchiveInputStream tar, byte[] buf) throws Refused {
    try {
      return tar.read(buf);
    } catch (IOException bad) {
      throw new Refused("the archive is damaged or cut short: " + bad.getMessage());
    }
  }

  /** A directory an entry needs; a file of the archive already in its place is a clash. */
  private static void createDirectories(Path dir, String entryName) throws Refused, IOException {
    try {
      Files.createDirectories(dir);
    } catch (java.nio.file.FileAlreadyExistsException clash) {
      throw new Refused("entry '" + entryName + "' clashes with a file of the same name");
    }
  }

  /**
   * Where entry {@code name} goes under {@code root}; null for the archive's own root ({@code ./});
   * refused when the name is absolute or climbs out.
   */
  static Path inside(Path root, String name) throws Refused {
    String n = name.replace('\\', '/');
    if (n.startsWith("/") || n.matches("^[A-Za-z]:.*") || n.indexOf('\0') >= 0) {
      throw new Refused("entry '" + name + "' has an absolute path");
    }
    for (String part : n.split("/")) {
      if (part.equals("..")) {
        throw new Refused("entry '" + name + "' climbs out of the archive (..)");
      }
    }
    while (n.startsWith("./")) {
      n = n.substring(2);
    }
    if (n.isEmpty() || n.equals(".")) {
      return null;
    }
    Path target = root.resolve(n).normalize();
    if (!target.startsWith(root) || target.equals(root)) {
      throw new Refused("entry '" + name + "' lands outside the archive's directory");
    }
    return target;
  }

  /** The directory holding the metadata: the archive's root, or its only top-level directory. */
  private static Path versionRoot(Path staging) throws Refused, IOException {
    if (Files.isRegularFile(staging.resolve(ModelMetadata.FILE_NAME), LinkOption.NOFOLLOW_LINKS)) {
      return staging;
    }
    List<Path> top = new ArrayList<>();
    try (Stream<Path> s = Files.list(staging)) {
      s.forEach(top::add);
    }
    if (top.size() == 1
        && Files.isDirectory(top.get(0), LinkOption.NOFOLLOW_LINKS)
        && Files.isRegularFile(
            top.get(0).resolve(ModelMetadata.FILE_NAME), LinkOption.NOFOLLOW_LINKS)) {
      return top.get(0);
    }
    throw new Refused(
        "the archive holds no "
            + ModelMetadata.FILE_NAME
            + " at its root or in its one top-level directory");
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> all = Files.walk(p)) {
      for (Path x : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(x);
      }
    }
  }
}
