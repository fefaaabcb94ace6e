package io.rendezvous.monitor;

import io.rendezvous.model.ModelMetadata;
import java.util.Optional;

/** What the watch knows of a model version: its labels and reference summary. */
@FunctionalInterface
public interface MetadataLookup {
  Optional<ModelMetadata> of(String model, String version);
}
