package io.rendezvous.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rendezvous.actors.edge.Json;
import io.rendezvous.model.ModelMetadata;
import io.rendezvous.model.ModelStore;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A version fetched from another node keeps its number and is taken only with the content it should
 * have: files that hash to something else than expected, or than their own metadata says, are
 * refused and nothing is installed.
 */
class ModelArchiveTest {
  @TempDir Path dir;
  static final ModelArchive.Limits LIMITS = new ModelArchive.Limits(1L << 30, 10_000);

  Path builtM3() {
    return new ModelStore(Path.of(System.getProperty("rendezvous.model-store.dir")))
        .versionDir("m3", "1");
  }

  @Test
  void aVersionWithTheExpectedHashIsInstalledUnderItsOwnNumber() throws Exception {
    ModelStore store = new ModelStore(dir.resolve("store"));
    String hash = ModelMetadata.read(builtM3()).contentHash();
    byte[] archive = AdminCli.pack(builtM3());
    ModelArchive.Installed v =
        ModelArchive.install(store, "m3", "7", new ByteArrayInputStream(archive), LIMITS, hash);
    assertEquals("7", v.version());
    assertEquals("7", ModelMetadata.read(store.versionDir("m3", "7")).version());
    // the same again is taken as it is
    assertEquals(
        "7",
        ModelArchive.install(store, "m3", "7", new ByteArrayInputStream(archive), LIMITS, hash)
            .version());
  }

  @Test
  void aModelFileWithAWrongHashIsRefused() throws Exception {
    ModelStore store = new ModelStore(dir.resolve("store"));
    byte[] archive = AdminCli.pack(builtM3());
    ModelArchive.Refused wrong =
        assertThrows(
            ModelArchive.Refused.class,
            () ->
                ModelArchive.install(
                    store, "m3", "2", new ByteArrayInputStream(archive), LIMITS, "00".repeat(32)));
    assertTrue(wrong.getMessage().contains("not to the expected"), wrong.getMessage());
    assertFalse(Files.exists(store.versionDir("m3", "2")));

    // files changed after their metadata was written: their hash is not the one it gives
    Path tampered = dir.resolve("tampered");
    ModelVersionsTest.copy(builtM3(), tampered, "1");
    Files.write(
        tampered.resolve("saved_model.pb"),
        new byte[] {1, 2, 3},
        java.nio.file.StandardOpenOption.APPEND);
    ModelArchive.Refused changed =
        assertThrows(
            ModelArchive.Refused.class,
            () ->
                ModelArchive.install(
                    store,
                    "m3",
                    null,
                    new ByteArrayInputStream(AdminCli.pack(tampered)),
                    LIMITS,
                    null));
    assertTrue(changed.getMessage().contains("its metadata gives"), changed.getMessage());
    assertEquals(java.util.List.of(), store.versions("m3"));
  }

  @Test
  void aVersionThereWithOtherContentIsNotReplaced() throws Exception {
    ModelStore store = new ModelStore(dir.resolve("store"));
    Path other = store.versionDir("m3", "2");
    ModelVersionsTest.copy(builtM3(), other, "2");
    ObjectNode meta =
        (ObjectNode) Json.MAPPER.readTree(other.resolve(ModelMetadata.FILE_NAME).toFile());
    meta.put("contentHash", "ff".repeat(32));
    Json.MAPPER.writeValue(other.resolve(ModelMetadata.FILE_NAME).toFile(), meta);
    assertThrows(
        ModelArchive.Refused.class,
        () ->
            ModelArchive.install(
                store,
                "m3",
                "2",
                new ByteArrayInputStream(AdminCli.pack(builtM3())),
                LIMITS,
                null));
  }
}
