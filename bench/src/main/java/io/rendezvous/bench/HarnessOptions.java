package io.rendezvous.bench;

import java.nio.file.Path;
import java.util.List;

/**
 * What one harness run does, as {@link HarnessCommand} parsed and checked it; the sections read it.
 * {@code rate} is 0 unless {@code --rate} was given.
 */
record HarnessOptions(
    int seconds,
    int repeats,
    List<Integer> clients,
    int warmup,
    int computeSeconds,
    int slaSeconds,
    int soakSeconds,
    int soakWindow,
    int soakSettle,
    int openWarmup,
    Path out,
    String label,
    List<String> sets,
    int openConnections,
    List<String> sections,
    List<String> targets,
    double rate,
    boolean keepJournal) {}
