package io.rendezvous.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelStoreTest {
  @TempDir Path dir;

  private void version(ModelStore store, String name, String v) throws IOException {
    Path d = Files.createDirectories(store.versionDir(name, v));
    Files.writeString(d.resolve(ModelMetadata.FILE_NAME), "{}");
  }

  @Test
  void versionsAreNumberedAndTheNewestIsTheHighest() throws IOException {
    ModelStore store = new ModelStore(dir.resolve("store"));
    assertEquals(List.of(), store.names());
    assertEquals("1", store.nextVersion("m3"));
    version(store, "m3", "2");
    version(store, "m3", "10");
    version(store, "m3", "9");
    // an unfinished version (no metadata) is not served, and its number is not reused
    Files.createDirectories(store.modelDir("m3").resolve("11"));
    assertEquals(List.of("2", "9", "10"), store.versions("m3"));
    assertEquals(Optional.of("10"), store.latest("m3"));
    assertEquals("12", store.nextVersion("m3"));
    assertEquals(store.versionDir("m3", "10").toRealPath(), store.resolve("m3", ModelStore.LATEST));
    assertEquals(store.versionDir("m3", "9").toRealPath(), store.resolve("m3", "9"));
    assertEquals(List.of("m3"), store.names());
    IOException missing = assertThrows(IOException.class, () -> store.resolve("m3", "11"));
    assertTrue(missing.getMessage().contains("no version 11"), missing.getMessage());
  }

  @Test
  void namesAndVersionsCannotLeaveTheStore() {
    ModelStore store = new ModelStore(dir);
    for (String bad : List.of("..", "../x", "a/b", ".hidden", "", "x".repeat(65), "a\\b")) {
      assertThrows(IllegalArgumentException.class, () -> store.modelDir(bad), bad);
    }
    for (String bad : List.of("0", "01", "-1", "latest", "1/../..", "1.0", "1234567890")) {
      assertThrows(IllegalArgumentException.class, () -> store.versionDir("m3", bad), bad);
    }
  }

  @Test
  void aVersionLinkedFromOutsideTheStoreIsRefused() throws IOException {
    ModelStore store = new ModelStore(dir.resolve("store"));
    Path outside = Files.createDirectories(dir.resolve("elsewhere"));
    Files.writeString(outside.resolve(ModelMetadata.FILE_NAME), "{}");
    Files.createDirectories(store.modelDir("m3"));
    Files.createSymbolicLink(store.versionDir("m3", "1"), outside);
    // not listed (a link is not a version directory), and refused when named
    assertEquals(List.of(), store.versions("m3"));
    IOException e = assertThrows(IOException.class, () -> store.resolve("m3", "1"));
    assertTrue(e.getMessage().contains("out of the model store"), e.getMessage());
  }

  @Test
  void aLinkInsideAVersionIsRefused() throws IOException {
    ModelStore store = new ModelStore(dir.resolve("store-inner-link"));
    Path v = Files.createDirectories(store.versionDir("m3", "1"));
    Files.writeString(v.resolve(ModelMetadata.FILE_NAME), "{}");
    Path secret = Files.writeString(dir.resolve("secret.txt"), "not a model");
    Files.createSymbolicLink(v.resolve("variables"), secret);
    IOException e = assertThrows(IOException.class, () -> store.resolve("m3", "1"));
    assertTrue(e.getMessage().contains("is a link"), e.getMessage());
  }
}
