package io.rendezvous.kafka;

import io.rendezvous.actors.edge.RequestIds;
import io.rendezvous.actors.edge.TraceContext;
import io.rendezvous.journal.JournalJson;
import io.rendezvous.journal.JournalReader;
import io.rendezvous.journal.JournalRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The journal is the outbox: one thread tails this node's journal from the position it saved last
 * and publishes every record to its topic (keyed by request id, with the node and the journal index
 * as headers). It sends records as it reads them and waits for the broker's acknowledgement of
 * everything sent every {@code acknowledge-every} (or {@code max-unacknowledged} records), then
 * saves the position: one batch per partition per round, not one per few records. The producer is
 * idempotent with acks=all and retries for as long as the broker is away, so an outage only delays
 * publishing: the HTTP path never waits on Kafka, and once the broker is back every record arrives,
 * none twice. The position is saved after each acknowledged batch, so a restart resumes where
 * publishing stopped. The records of the node's own warm-up ({@link RequestIds#isWarmUp}) go to the
 * warm-up topic alone (or nowhere): no consumer of the users' topics should take them for users'
 * traffic, and the mirror's code is compiled before the first user's record.
 */
public final class JournalPublisher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JournalPublisher.class);
  public static final String NODE_HEADER = "rendezvous-node";
  public static final String INDEX_HEADER = "rendezvous-journal-index";

  private final KafkaSettings settings;
  private final Path journalDir;
  private final String node;
  private final Producer<String, byte[]> producer;
  private final AtomicLong unreadable = new AtomicLong();
  private final Thread thread;
  private final AtomicLong published = new AtomicLong();
  private final java.util.function.LongSupplier appended;
  private final long backlogAtStart;
  private volatile long position;
  private volatile boolean running = true;

  private JournalPublisher(
      KafkaSettings settings,
      Path journalDir,
      String node,
      java.util.function.LongSupplier appended,
      Function<Map<String, Object>, Producer<String, byte[]>> producers)
      throws IOException {
    this.settings = settings;
    this.journalDir = journalDir;
    this.node = node;
    this.position = readPosition(settings.positionFile());
    this.appended = appended;
    long backlog = 0;
    try (JournalReader.Tail tail = JournalReader.tail(journalDir, position)) {
      for (List<JournalReader.Indexed> b = tail.next(4096); !b.isEmpty(); b = tail.next(4096)) {
        backlog += b.size();
      }
    }
    // records the writer appends from now on are counted by appended(); the backlog is what was
    // there
    this.backlogAtStart = backlog - appended.getAsLong();
    Map<String, Object> props = new HashMap<>();
    // the outbox sends a steady stream of 1-5 KB records: large compressed batches cost the node
    // and the broker far less per record than Kafka's 16 KB default batches; they fill for as long
    // as the publisher goes between acknowledgements (see run())
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    props.put(ProducerConfig.LINGER_MS_CONFIG, (int) settings.acknowledgeEvery().toMillis());
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    props.putAll(settings.producerOverrides());
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    // one request in flight per broker: with more, a first request to a new (empty) partition that
    // fails with NOT_LEADER_OR_FOLLOWER can be overtaken by the next, and the broker then refuses
    // its retries as OUT_OF_ORDER_SEQUENCE_NUMBER forever (KAFKA-15591); seen here as an outbox
    // stuck right after the node created its topics. Batches of up to 256 KB keep the throughput.
    props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1);
    // an outage delays delivery, it never drops a record: retry for as long as it takes
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Integer.MAX_VALUE);
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Long.MAX_VALUE);
    this.producer = producers.apply(props);
    this.thread = new Thread(this::run, "rendezvous-journal-publisher");
  }

  /**
   * Creates the outbox topics if missing (best effort: a broker that is down now is no reason to
   * refuse to start).
   */
  public static void createTopics(KafkaSettings s) {
    createTopics(s, List.of(s.inputsTopic(), s.scoresTopic(), s.answersTopic(), s.feedbackTopic()));
    if (s.mirrorsWarmUp()) {
      createTopics(s, List.of(s.warmUpTopic()), s.warmUpRetention());
    }
  }

  /**
   * Creates {@code topics} if missing, with the configured partitions and retention; best effort.
   */
  public static void createTopics(KafkaSettings s, List<String> topics) {
    createTopics(s, topics, s.retention());
  }

  private static void createTopics(KafkaSettings s, List<String> topics, Duration retention) {
    Map<String, String> config =
        Map.of(TopicConfig.RETENTION_MS_CONFIG, Long.toString(retention.toMillis()));
    try (Admin admin =
        Admin.create(
            Map.of(
                "bootstrap.servers",
                s.bootstrapServers(),
                "default.api.timeout.ms",
                10_000,
                "request.timeout.ms",
                5_000))) {
      Set<String> existing = admin.listTopics().names().get(15, TimeUnit.SECONDS);
      List<NewTopic> missing = new ArrayList<>();
      for (String t : topics) {
        if (!existing.contains(t)) {
          missing.add(new NewTopic(t, s.partitions(), s.replicationFactor()).configs(config));
        }
      }
      if (!missing.isEmpty()) {
        admin.createTopics(missing).all().get(15, TimeUnit.SECONDS);
        log.info("created kafka topics {}", missing.stream().map(NewTopic::name).toList());
      }
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        log.warn(
            "cannot create kafka topics at {}: {}", s.bootstrapServers(), e.getCause().toString());
      }
    } catch (Exception e) {
      log.warn("cannot create kafka topics at {}: {}", s.bootstrapServers(), e.toString());
    }
  }

  /** {@code appended} counts the records this node's writer has appended since it started. */
  public static JournalPublisher start(
      KafkaSettings settings,
      Path journalDir,
      String node,
      java.util.function.LongSupplier appended)
      throws IOException {
    return start(
        settings,
        journalDir,
        node,
        appended,
        props -> new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer()));
  }

  /**
   * As {@link #start}, with the producer made by {@code producers} from the publisher's settings.
   */
  static JournalPublisher start(
      KafkaSettings settings,
      Path journalDir,
      String node,
      java.util.function.LongSupplier appended,
      Function<Map<String, Object>, Producer<String, byte[]>> producers)
      throws IOException {
    JournalPublisher p = new JournalPublisher(settings, journalDir, node, appended, producers);
    p.thread.start();
    log.info(
        "publishing journal {} to kafka {} from index {}",
        journalDir,
        settings.bootstrapServers(),
        p.position);
    return p;
  }

  /**
   * Records published (acknowledged by the broker), or passed over as warm-up, since this publisher
   * started.
   */
  public long published() {
    return published.get();
  }

  /**
   * The trace context of the requests whose input was read last: an input record keeps its
   * request's traceparent, and the request's scores and answer (written after it) go out with it
   * too. Bounded: a request's records are written within its linger, long before this many requests
   * more.
   */
  private final RecentTraces traces = new RecentTraces(TRACES_KEPT);

  private static final int TRACES_KEPT = 65_536;

  /** Request id to traceparent, for the last {@code capacity} inputs that had one. */
  static final class RecentTraces {
    private final java.util.LinkedHashMap<String, String> byRequest;

    RecentTraces(int capacity) {
      this.byRequest =
          new java.util.LinkedHashMap<>(1024, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(java.util.Map.Entry<String, String> eldest) {
              return size() > capacity;
            }
          };
    }

    /** The traceparent of {@code record}'s request, if its input had one and is still known. */
    String of(JournalRecord record) {
      if (record instanceof JournalRecord.Input in) {
        if (in.traceparent() != null) {
          byRequest.put(in.requestId(), in.traceparent());
        }
        return in.traceparent();
      }
      return byRequest.get(record.requestId());
    }
  }

  /** Times publishing failed (the broker unreachable, a send refused) and started again. */
  public long failures() {
    return failures.get();
  }

  private final java.util.concurrent.atomic.AtomicLong failures =
      new java.util.concurrent.atomic.AtomicLong();

  /** Journal records skipped because they could not be decoded (poison records). */
  public long unreadable() {
    return unreadable.get();
  }

  /** Journal records not yet acknowledged by Kafka. */
  public long lag() {
    return Math.max(0, backlogAtStart + appended.getAsLong() - published.get());
  }

  /** The next journal index to publish. */
  public long position() {
    return position;
  }

  private void run() {
    long backoff = RESTART_MIN_NANOS;
    while (running) {
      try {
        publishFromPosition();
      } catch (Exception e) {
        if (!running) {
          return;
        }
        failures.incrementAndGet();
        // never stop for good: the journal keeps what is not published (retention waits for this
        // position), so the next attempt resumes from the last acknowledged record
        log.error(
            "journal publisher for {} failed at index {}; trying again in {} ms",
            journalDir,
            position,
            TimeUnit.NANOSECONDS.toMillis(backoff),
            e);
        LockSupport.parkNanos(backoff);
        backoff = Math.min(backoff * 2, RESTART_MAX_NANOS);
      }
    }
  }

  private static final long RESTART_MIN_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final long RESTART_MAX_NANOS = TimeUnit.SECONDS.toNanos(30);

  /** Unreadable records are logged one by one up to this many, then every this many-th. */
  private static final long UNREADABLE_LOGGED = 100;

  private void publishFromPosition() throws IOException {
    long acknowledgeEveryNanos = settings.acknowledgeEvery().toNanos();
    // what was sent and not yet acknowledged: how many journal records (skipped ones included), the
    // index after the last of them, and since when the oldest has waited
    int unacknowledged = 0;
    long next = position;
    long oldestSentAt = 0;
    try (JournalReader.Tail tail = JournalReader.tail(journalDir, position)) {
      while (running) {
        int want = Math.min(settings.batch(), settings.maxUnacknowledged() - unacknowledged);
        List<JournalReader.Indexed> batch = tail.next(want);
        for (JournalReader.Indexed r : batch) {
          JournalRecord record = r.record();
          if (record == null) {
            skipUnreadable(r);
            continue;
          }
          boolean warmUp = RequestIds.isWarmUp(record.requestId());
          if ((warmUp && !settings.mirrorsWarmUp()) || !settings.publishes(record.type())) {
            continue;
          }
          ProducerRecord<String, byte[]> pr =
              new ProducerRecord<>(
                  warmUp ? settings.warmUpTopic() : settings.topicFor(record.type()),
                  record.requestId(),
                  JournalJson.toBytes(record));
          pr.headers().add(NODE_HEADER, node.getBytes(StandardCharsets.UTF_8));
          pr.headers().add(INDEX_HEADER, Long.toString(r.index()).getBytes(StandardCharsets.UTF_8));
          String traceparent = traces.of(record);
          if (traceparent != null) {
            pr.headers().add(TraceContext.HEADER, traceparent.getBytes(StandardCharsets.UTF_8));
          }
          producer.send(pr);
        }
        long now = System.nanoTime();
        if (!batch.isEmpty()) {
          if (unacknowledged == 0) {
            oldestSentAt = now;
          }
          unacknowledged += batch.size();
          next = batch.get(batch.size() - 1).index() + 1;
        }
        if (unacknowledged > 0
            && (unacknowledged >= settings.maxUnacknowledged()
                || now - oldestSentAt >= acknowledgeEveryNanos)) {
          producer.flush();
          position = next;
          // skipped records (warm-up, types not mirrored, unreadable) count as done: the lag is
          // what is still to publish
          published.addAndGet(unacknowledged);
          unacknowledged = 0;
          savePosition(settings.positionFile(), position);
        } else if (batch.size() < want) {
          // caught up with the writer: read again after idle-wait, not at once, so that each read
          // takes what 20 ms brought instead of a record or two (a woken thread costs the cores
          // the requests are served on); the records wait in the producer for the round anyway
          long wait = settings.idleWait().toNanos();
          if (unacknowledged > 0) {
            wait = Math.min(wait, acknowledgeEveryNanos - (now - oldestSentAt));
          }
          LockSupport.parkNanos(Math.max(wait, 0));
        }
      }
    }
  }

  private void skipUnreadable(JournalReader.Indexed r) {
    long n = unreadable.incrementAndGet();
    if (n <= UNREADABLE_LOGGED || n % UNREADABLE_LOGGED == 0) {
      log.warn(
          "journal {}: record at index {} cannot be decoded ({}); not published, skipped"
              + " ({} unreadable so far)",
          journalDir,
          r.index(),
          r.unreadable(),
          n);
    }
  }

  private static long readPosition(Path file) throws IOException {
    if (!Files.exists(file)) {
      return -1;
    }
    return Long.parseLong(Files.readString(file).trim());
  }

  private static void savePosition(Path file, long next) throws IOException {
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, Long.toString(next));
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  @Override
  public void close() {
    running = false;
    try {
      thread.join(TimeUnit.SECONDS.toMillis(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(java.time.Duration.ofSeconds(5));
  }
}
