package dev.kreorg.agent;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kreorg.agent.ControlCodec.Command;
import dev.kreorg.agent.ControlState.Change;
import dev.kreorg.agent.ControlState.CommandEntry;
import dev.kreorg.agent.ControlState.Holder;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A {@link Producer} that kreorg can pause and resume through the control topic
 * (docs/control-protocol.md, protocol v1 + 1.1). It wraps any producer (a {@link KafkaProducer}, or
 * the producers a Spring {@code DefaultKafkaProducerFactory} creates) and guarantees:
 * <ul>
 *   <li>sends to a paused topic are held in call order and sent in that order after the resume; their
 *       Future and Callback complete then; they are never dropped (past {@code maxHeldSends} new sends
 *       fail fast with {@link HeldSendsFullException});</li>
 *   <li>a pause is acked only after every send already handed to the producer completed and every
 *       open transaction committed or aborted (and its markers are visible);</li>
 *   <li>keyed records are partitioned by the agent (murmur2 of the serialized key, the Java client's
 *       {@code BuiltInPartitioner}) with the partition count it learned from fresh metadata and the
 *       pin, and sent with an explicit partition: a resume takes effect at once, not after
 *       {@code metadata.max.age.ms}; records the application gave a partition are left alone;</li>
 *   <li>heartbeats with capabilities, producer id and last write on {@code <controlTopic>-heartbeats};
 *       a tombstone on {@link #close()}.</li>
 * </ul>
 */
public class KreorgProducer<K, V> implements Producer<K, V> {
  public static final String VERSION = "0.1.0";
  public static final List<String> CAPABILITIES = List.of("pause", "pin", "refresh", "canary", "fence", "txn");

  /** What {@link #status(String)} reports for a topic. */
  public record TopicStatus(String state, String runId, Long epoch, int partitionCount, Integer pinnedPartitions, int held) {}

  private record Held<K, V>(ProducerRecord<K, V> record, Callback callback, CompletableFuture<RecordMetadata> future) {}

  private static final class Gate {
    final String topic;
    /** Closed while starting, paused, or being resumed. */
    boolean open;
    /** Held sends are being handed to the producer: later sends queue behind them. */
    boolean releasing;
    boolean paused;
    boolean lapsing;
    String runId;
    Long epoch;
    /** Fallback lapse time from the command; renewals in lease records extend it. */
    Long leaseExpiresAt;
    /** Partition count keyed records keep using until a resume with targetPartitions. */
    Integer pinned;
    /** Partition count learned from fresh metadata (never decreases). */
    int knownCount;
    int inFlight;
    final ArrayDeque<Held<?, ?>> held = new ArrayDeque<>();
    int nullKeyPartition = -1;
    int nullKeySent;

    Gate(String topic) {
      this.topic = topic;
    }
  }

  private final Producer<K, V> delegate;
  private final KreorgOptions options;
  private final ControlIo io;
  private final KreorgLogger logger;
  private final String secret;
  private final Object lock = new Object();
  /** Guards start/close and the scheduled tasks (never held while waiting for the worker). */
  private final Object lifecycle = new Object();
  private final Map<String, Gate> gates = new LinkedHashMap<>();
  private final ControlState state = new ControlState();
  private final ExecutorService worker;
  private final ScheduledExecutorService scheduler;
  private final Serializer<K> keySerializer;
  private final KafkaProducer<?, ?> kafkaProducer;
  private final Map<String, Map<Integer, Long>> unsettledTransactions = new ConcurrentHashMap<>();
  private final Map<String, long[]> lastWrite = new ConcurrentHashMap<>();
  private final long startedAt = System.currentTimeMillis();
  private volatile boolean ready;
  private volatile boolean closed;
  private boolean started;
  private boolean transactionOpen;
  private int totalHeld;
  private boolean bufferWarned;
  private boolean keyWarned;
  private ScheduledFuture<?> heartbeatTask;
  private ScheduledFuture<?> lapseTask;

  /** Wraps {@code delegate} and starts the agent: returns once it has read the control topic (possibly paused). */
  public static <K, V> KreorgProducer<K, V> wrap(Producer<K, V> delegate, KreorgOptions options) {
    KreorgProducer<K, V> producer = new KreorgProducer<>(delegate, options);
    try {
      producer.start();
    } catch (RuntimeException e) {
      producer.close(Duration.ofSeconds(5));
      throw e;
    }
    return producer;
  }

  /** Creates the agent without starting it; sends are held until {@link #start()} has caught up with the control topic. */
  public KreorgProducer(Producer<K, V> delegate, KreorgOptions options) {
    this(delegate, options, null);
  }

  @SuppressWarnings("unchecked")
  KreorgProducer(Producer<K, V> delegate, KreorgOptions options, ControlIo io) {
    this.delegate = delegate;
    this.options = options;
    this.logger = options.logger;
    this.secret = options.secret;
    this.io = io != null ? io : new KafkaControlIo(options.connection, options.controlTopic, options.createTopics, "kreorg-agent-" + options.agentId, logger, options.catchUpTimeoutMs);
    this.kafkaProducer = findKafkaProducer(delegate, 0);
    Serializer<?> serializer = options.keySerializer != null ? options.keySerializer : reflectKeySerializer(kafkaProducer);
    this.keySerializer = (Serializer<K>) serializer;
    for (String topic : options.topics) gates.put(topic, new Gate(topic));
    this.worker = Executors.newSingleThreadExecutor(daemon("kreorg-agent-worker"));
    this.scheduler = Executors.newSingleThreadScheduledExecutor(daemon("kreorg-agent-heartbeat"));
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  public String agentId() {
    return options.agentId;
  }

  public String partitionerName() {
    return options.partitionerName;
  }

  /** The wrapped producer. */
  public Producer<K, V> delegate() {
    return delegate;
  }

  // ------------------------------------------------------------------ lifecycle

  /** Reads the control topic to its end (so it starts paused during a pause), then opens the topics not paused and heartbeats. */
  public void start() {
    synchronized (lifecycle) {
      if (started) return;
      started = true;
    }
    try {
      io.start(this::onRecord);
    } catch (Exception e) {
      throw new KafkaException("kreorg agent: cannot read control topic " + options.controlTopic + ": " + e.getMessage(), e);
    }
    for (Gate gate : gates.values()) refreshCount(gate);
    List<Future<?>> initial = new ArrayList<>();
    synchronized (state) {
      ready = true;
      for (Gate gate : gates.values()) {
        CommandEntry entry = state.command(gate.topic);
        if (entry != null) initial.add(submit(() -> applyCommand(entry, true)));
        // Whatever the command in force was (none, ignored, lapsed), a topic that is not paused opens.
        initial.add(submit(() -> {
          if (!isPaused(gate)) openGate(gate);
        }));
      }
    }
    for (Future<?> f : initial) {
      try {
        f.get();
      } catch (Exception e) {
        throw new KafkaException("kreorg agent: start failed", e);
      }
    }
    heartbeatSoon();
    synchronized (lifecycle) {
      if (!closed) heartbeatTask = scheduler.scheduleAtFixedRate(this::heartbeat, options.heartbeatMs, options.heartbeatMs, TimeUnit.MILLISECONDS);
    }
  }

  private Future<?> submit(ThrowingRunnable task) {
    return worker.submit(() -> {
      try {
        task.run();
      } catch (Exception e) {
        logger.warn("control command failed: " + e);
      }
    });
  }

  @FunctionalInterface
  private interface ThrowingRunnable {
    void run() throws Exception;
  }

  private void onRecord(ControlIo.Raw raw) {
    ControlCodec.Decoded decoded = ControlCodec.decode(raw.key(), raw.value(), secret);
    if (!decoded.ok() && !decoded.reason().matches("^(ack|agent|run)/.*")) {
      logger.warn("control topic offset " + raw.offset() + ": ignored: " + decoded.reason());
    }
    synchronized (state) {
      Change change = state.apply(decoded, raw.offset(), raw.timestamp());
      if (change != null && ready) onChange(change);
    }
  }

  private void onChange(Change change) {
    Gate gate = gates.get(change.topic());
    if (gate == null) return;
    if (change.command() != null) {
      CommandEntry entry = change.command();
      submit(() -> applyCommand(entry, false));
    } else if (change.lease() != null && change.lease().op().equals("release") && change.leaseOutcome().granted()) {
      String runId = change.lease().runId();
      submit(() -> {
        boolean pausedByRun;
        synchronized (lock) {
          pausedByRun = gate.paused && runId.equals(gate.runId);
        }
        if (pausedByRun) lapse(gate, "run " + runId + " released its lease without resuming", true);
      });
    }
  }

  // ------------------------------------------------------------------ commands

  private void applyCommand(CommandEntry entry, boolean initial) throws Exception {
    if (closed) return;
    Command command = entry.command();
    Gate gate = gates.get(command.topic());
    if (gate == null) return;
    if (entry.stale()) {
      logger.warn("ignored stale " + command.action() + " of " + command.topic() + " from run " + command.runId() + ": epoch " + command.epoch()
          + " is below one already seen for that run (fenced)");
      return;
    }
    switch (command.action()) {
      case "resume" -> applyResume(gate, entry, initial);
      case "pin" -> applyPin(gate, entry, initial);
      default -> applyPause(gate, entry, initial);
    }
  }

  private void applyResume(Gate gate, CommandEntry entry, boolean initial) throws Exception {
    Command command = entry.command();
    synchronized (lock) {
      if (!entry.authorized() && gate.paused && !command.runId().equals(gate.runId)) {
        logger.warn("ignored resume of " + command.topic() + " from run " + command.runId() + ": it did not pause it and does not hold the lease");
        return;
      }
    }
    closeGate(gate);
    int count = refreshMetadata(gate, command.targetPartitions());
    synchronized (lock) {
      // 1.1: only a resume with targetPartitions lifts the pin; one without keeps it.
      if (command.targetPartitions() != null) gate.pinned = null;
      else if (initial && command.pinPartitions() != null) gate.pinned = command.pinPartitions();
      gate.paused = false;
      gate.runId = command.runId();
      gate.epoch = command.epoch();
      gate.leaseExpiresAt = null;
    }
    openGate(gate);
    // A resume read at start-up was meant for agents that were paused; nobody waits for our ack.
    if (!initial) ack(gate, "resumed", command, effectiveCount(gate), effectiveCount(gate));
    heartbeatSoon();
  }

  private void applyPin(Gate gate, CommandEntry entry, boolean initial) throws Exception {
    Command command = entry.command();
    if (!entry.authorized()) {
      logger.warn("ignored pin of " + command.topic() + " from run " + command.runId() + ": it does not hold the topic's lease");
      return;
    }
    int pin;
    synchronized (lock) {
      pin = command.pinPartitions() != null ? command.pinPartitions() : gate.pinned != null ? gate.pinned : gate.knownCount;
      if (pin > 0) gate.pinned = pin;
      if (!gate.paused) {
        gate.runId = command.runId();
        gate.epoch = command.epoch();
      }
    }
    if (initial) logger.warn(command.topic() + " is pinned to " + pin + " partitions by run " + command.runId() + " until it resumes");
    ack(gate, "pinned", command, pin, pin);
    heartbeatSoon();
  }

  private void applyPause(Gate gate, CommandEntry entry, boolean initial) throws Exception {
    Command command = entry.command();
    if (!entry.authorized()) {
      logger.warn("ignored " + command.action() + " of " + command.topic() + " from run " + command.runId() + ": it does not hold the topic's lease");
      return;
    }
    boolean wasPaused;
    synchronized (lock) {
      gate.runId = command.runId();
      gate.epoch = command.epoch();
      gate.leaseExpiresAt = command.leaseExpiresAt();
      // The pin outlives the lease: it holds until a resume, also for an agent that starts after a lapse.
      Integer pin = command.pinPartitions() != null ? command.pinPartitions() : gate.pinned != null ? gate.pinned : gate.knownCount > 0 ? gate.knownCount : null;
      if (pin != null && !pin.equals(gate.pinned)) {
        gate.pinned = pin;
        if (initial) logger.warn(command.topic() + " is pinned to " + pin + " partitions by run " + command.runId() + " until it resumes");
      }
      wasPaused = gate.paused;
    }
    if (pauseDeadline(gate) <= System.currentTimeMillis()) {
      if (!initial) logger.warn("ignored " + command.action() + " of " + command.topic() + " from run " + command.runId() + ": its lease already lapsed");
      if (!isPaused(gate)) openGate(gate);
      return;
    }
    synchronized (lock) {
      gate.paused = true;
      gate.lapsing = false;
    }
    closeGate(gate);
    scheduleLapseCheck();
    if (!wasPaused && initial) logger.warn("started while " + command.topic() + " is paused by run " + command.runId() + ": sends wait until it resumes");
    if (command.action().equals("pause")) {
      ack(gate, "paused", command, knownCount(gate), knownCount(gate));
    } else {
      int count = refreshMetadata(gate, command.targetPartitions() != null ? command.targetPartitions() : 0);
      // 1.1 E: canary partitions with targetPartitions, the layout the producer uses after the resume.
      ack(gate, "refreshed", command, count, command.targetPartitions() != null ? command.targetPartitions() : count);
    }
    heartbeatSoon();
  }

  /** When the pause stops being valid: the lease holder's expiry while it is the pausing run, else the command's. */
  private long pauseDeadline(Gate gate) {
    String runId;
    Long fromCommand;
    synchronized (lock) {
      runId = gate.runId;
      fromCommand = gate.leaseExpiresAt;
    }
    Holder holder;
    synchronized (state) {
      holder = state.holder(gate.topic);
    }
    long fromLease = holder != null && holder.runId().equals(runId) ? holder.expiresAt() : 0;
    return Math.max(fromLease, fromCommand != null ? fromCommand : 0);
  }

  private boolean isPaused(Gate gate) {
    synchronized (lock) {
      return gate.paused;
    }
  }

  /** Stops new sends on the topic; waits for in-flight sends and open transactions (and their markers). */
  private void closeGate(Gate gate) throws InterruptedException {
    boolean flush;
    synchronized (lock) {
      gate.open = false;
      flush = gate.inFlight > 0;
    }
    if (flush) {
      try {
        delegate.flush();
      } catch (RuntimeException e) {
        logger.warn("flush before the pause ack failed: " + e);
      }
    }
    synchronized (lock) {
      while ((gate.inFlight > 0 || transactionOpen) && !closed) lock.wait(100);
    }
    waitForTransactionMarkers(gate.topic);
  }

  /**
   * commitTransaction() returns once the decision is in the transaction log; the markers reach the
   * partitions afterwards. Until the last stable offset passes this agent's transactional writes, end
   * offsets still move: wait (bounded) so the ack means "nothing of mine will appear any more".
   */
  private void waitForTransactionMarkers(String topic) throws InterruptedException {
    Map<Integer, Long> partitions = unsettledTransactions.get(topic);
    if (partitions == null || partitions.isEmpty()) return;
    long deadline = System.currentTimeMillis() + options.markerTimeoutMs;
    String problem = "markers not visible yet";
    try {
      for (;;) {
        try {
          Map<Integer, Long> stable = io.lastStableOffsets(topic);
          partitions.entrySet().removeIf(e -> stable.containsKey(e.getKey()) && stable.get(e.getKey()) > e.getValue());
          if (partitions.isEmpty()) return;
          problem = "partitions " + partitions.keySet() + " still end below this agent's last transaction";
        } catch (Exception e) {
          problem = String.valueOf(e);
        }
        if (System.currentTimeMillis() >= deadline || closed) break;
        Thread.sleep(50);
      }
      logger.warn(topic + ": acking the pause without seeing the transaction markers within " + options.markerTimeoutMs + "ms (" + problem + ")");
    } finally {
      partitions.clear();
    }
  }

  /** Opens the topic: held sends go to the producer in call order first, later sends queue behind them meanwhile. */
  private void openGate(Gate gate) {
    for (;;) {
      Held<?, ?> next;
      synchronized (lock) {
        if (closed) return;
        next = gate.held.poll();
        if (next == null) {
          gate.releasing = false;
          gate.open = true;
          if (totalHeld < options.bufferLimit) bufferWarned = false;
          lock.notifyAll();
          break;
        }
        gate.releasing = true;
        totalHeld--;
        gate.inFlight++;
      }
      @SuppressWarnings("unchecked")
      Held<K, V> held = (Held<K, V>) next;
      dispatch(gate, held.record(), held.callback(), held.future(), false);
    }
    heartbeatSoon();
  }

  private void lapse(Gate gate, String reason, boolean force) throws Exception {
    synchronized (lock) {
      gate.lapsing = false;
      if (!gate.paused || closed) return;
    }
    // A renewal may have arrived since the timer fired.
    if (!force && pauseDeadline(gate) > System.currentTimeMillis()) return;
    Integer pinned;
    String runId;
    synchronized (lock) {
      pinned = gate.pinned;
      runId = gate.runId;
    }
    logger.warn("resuming " + gate.topic + " by itself: " + reason
        + (pinned != null ? "; keyed records keep the " + pinned + "-partition layout until `kreorg resume " + runId + "` (or `kreorg unpause " + gate.topic + "`) switches them" : ""));
    // Partitions may have been added before the orchestrator vanished: never resume with stale metadata.
    refreshMetadata(gate, null);
    synchronized (lock) {
      gate.paused = false;
    }
    openGate(gate);
  }

  private void scheduleLapseCheck() {
    synchronized (lifecycle) {
      scheduleLapseCheckLocked();
    }
  }

  private void scheduleLapseCheckLocked() {
    if (lapseTask != null || closed) return;
    lapseTask = scheduler.scheduleAtFixedRate(() -> {
      long now = System.currentTimeMillis();
      for (Gate gate : gates.values()) {
        synchronized (lock) {
          if (!gate.paused || gate.lapsing) continue;
        }
        long deadline = pauseDeadline(gate);
        if (deadline <= now) {
          synchronized (lock) {
            gate.lapsing = true;
          }
          submit(() -> lapse(gate, "the lease of run " + gate.runId + " lapsed at " + java.time.Instant.ofEpochMilli(deadline), false));
        }
      }
    }, 100, 100, TimeUnit.MILLISECONDS);
  }

  // ------------------------------------------------------------------ metadata and partitioning

  private int knownCount(Gate gate) {
    synchronized (lock) {
      return gate.knownCount;
    }
  }

  /** The count keyed records are partitioned with: the learned one, or less while a pin holds. */
  private int effectiveCount(Gate gate) {
    synchronized (lock) {
      return gate.pinned != null && gate.pinned < gate.knownCount ? gate.pinned : gate.knownCount;
    }
  }

  private int clientCount(String topic) {
    try {
      List<PartitionInfo> partitions = delegate.partitionsFor(topic);
      return partitions == null ? 0 : partitions.size();
    } catch (RuntimeException e) {
      return 0;
    }
  }

  private int refreshCount(Gate gate) {
    int fresh = 0;
    try {
      fresh = io.partitionCount(gate.topic);
    } catch (Exception e) {
      logger.warn("metadata refresh of " + gate.topic + " failed: " + e);
    }
    fresh = Math.max(fresh, clientCount(gate.topic));
    synchronized (lock) {
      if (fresh > gate.knownCount) gate.knownCount = fresh;
      return gate.knownCount;
    }
  }

  /**
   * Learns the topic's partition count from fresh metadata; with a target, re-reads until it is reached
   * or refreshTimeoutMs passes. Also asks the wrapped KafkaProducer to refresh its own metadata (the
   * explicit partitions the agent sends with make it fetch what it lacks anyway).
   */
  private int refreshMetadata(Gate gate, Integer target) throws InterruptedException {
    long deadline = System.currentTimeMillis() + options.refreshTimeoutMs;
    int count;
    for (;;) {
      count = refreshCount(gate);
      if (target == null || count >= target || System.currentTimeMillis() >= deadline) break;
      Thread.sleep(200);
    }
    requestClientMetadataUpdate(gate.topic, count);
    return count;
  }

  private void requestClientMetadataUpdate(String topic, int count) throws InterruptedException {
    if (kafkaProducer == null) return;
    try {
      Field field = KafkaProducer.class.getDeclaredField("metadata");
      field.setAccessible(true);
      Object metadata = field.get(kafkaProducer);
      Method request = metadata.getClass().getMethod("requestUpdateForTopic", String.class);
      request.invoke(metadata, topic);
      // The sender thread only fetches when it wakes up.
      Field senderField = KafkaProducer.class.getDeclaredField("sender");
      senderField.setAccessible(true);
      Object sender = senderField.get(kafkaProducer);
      sender.getClass().getMethod("wakeup").invoke(sender);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return; // explicit partitions still force the fetch on the next send
    }
    long deadline = System.currentTimeMillis() + 1_000;
    while (clientCount(topic) < count && System.currentTimeMillis() < deadline) Thread.sleep(20);
  }

  /** The partition this agent sends a record with this key to, with {@code count} partitions (the producer's partitioner). */
  public int partitionFor(String topic, byte[] keyBytes, int count) {
    if (options.partitioner != null) {
      return options.partitioner.partition(topic, null, keyBytes, null, null, syntheticCluster(topic, count));
    }
    return BuiltInPartitioner.partitionForKey(keyBytes, count);
  }

  /** The partition a keyed record goes to right now (pin included). */
  public int partitionFor(String topic, byte[] keyBytes) {
    Gate gate = gates.get(topic);
    return partitionFor(topic, keyBytes, gate != null ? effectiveCount(gate) : clientCount(topic));
  }

  private static Cluster syntheticCluster(String topic, int count) {
    Node node = new Node(0, "localhost", 9092);
    List<PartitionInfo> partitions = new ArrayList<>();
    Node[] nodes = {node};
    for (int p = 0; p < count; p++) partitions.add(new PartitionInfo(topic, p, node, nodes, nodes));
    return new Cluster("kreorg", List.of(node), partitions, java.util.Set.of(), java.util.Set.of());
  }

  private byte[] serializeKey(ProducerRecord<K, V> record) {
    K key = record.key();
    if (key == null) return null;
    if (keySerializer != null) return keySerializer.serialize(record.topic(), record.headers(), key);
    if (key instanceof byte[] bytes) return bytes;
    if (key instanceof String s) return s.getBytes(StandardCharsets.UTF_8);
    synchronized (lock) {
      if (!keyWarned) logger.warn("no key serializer known for " + key.getClass().getName() + ": keyed records are partitioned by the client (the pin is not applied); pass keySerializer(...)");
      keyWarned = true;
    }
    return null;
  }

  /** Keyed records get an explicit partition (the producer's partitioner, the learned count, the pin); explicit ones stay. */
  private ProducerRecord<K, V> partitioned(Gate gate, ProducerRecord<K, V> record) {
    if (record.partition() != null) return record;
    int count = effectiveCount(gate);
    if (count <= 0) return record;
    Integer partition = null;
    byte[] keyBytes = serializeKey(record);
    if (keyBytes != null) {
      partition = partitionFor(record.topic(), keyBytes, count);
    } else if (record.key() == null) {
      // Null keys: the client's own choice, unless it could pick a partition the pin hides.
      int client = clientCount(record.topic());
      synchronized (lock) {
        if (gate.pinned != null && client > gate.pinned) {
          if (gate.nullKeyPartition < 0 || gate.nullKeyPartition >= gate.pinned || ++gate.nullKeySent >= 100) {
            gate.nullKeyPartition = java.util.concurrent.ThreadLocalRandom.current().nextInt(gate.pinned);
            gate.nullKeySent = 0;
          }
          partition = gate.nullKeyPartition;
        }
      }
    }
    if (partition == null) return record;
    return new ProducerRecord<>(record.topic(), partition, record.timestamp(), record.key(), record.value(), record.headers());
  }

  // ------------------------------------------------------------------ sends

  @Override
  public Future<RecordMetadata> send(ProducerRecord<K, V> record) {
    return send(record, null);
  }

  @Override
  public Future<RecordMetadata> send(ProducerRecord<K, V> record, Callback callback) {
    Gate gate = gates.get(record.topic());
    if (gate == null) return delegate.send(record, callback);
    boolean inTransaction;
    synchronized (lock) {
      if (closed) throw new IllegalStateException("kreorg agent is closed");
      inTransaction = transactionOpen;
      // Sends inside an open transaction are not held: it must be able to finish before the pause ack.
      if (!inTransaction && (!gate.open || gate.releasing || !gate.held.isEmpty())) {
        CompletableFuture<RecordMetadata> future = new CompletableFuture<>();
        if (totalHeld >= options.maxHeldSends) {
          HeldSendsFullException error = new HeldSendsFullException(totalHeld + " sends already held while " + record.topic() + " is paused (maxHeldSends " + options.maxHeldSends + ")");
          future.completeExceptionally(error);
          if (callback != null) callback.onCompletion(null, error);
          return future;
        }
        gate.held.add(new Held<>(record, callback, future));
        totalHeld++;
        if (!bufferWarned && totalHeld > options.bufferLimit) {
          bufferWarned = true;
          logger.warn(totalHeld + " records held while paused (limit " + options.bufferLimit + ")");
        }
        return future;
      }
      gate.inFlight++;
    }
    return dispatch(gate, record, callback, null, inTransaction);
  }

  /** Hands a record to the producer; gate.inFlight was incremented by the caller and is decremented exactly once. */
  private Future<RecordMetadata> dispatch(Gate gate, ProducerRecord<K, V> record, Callback callback, CompletableFuture<RecordMetadata> heldFuture, boolean inTransaction) {
    AtomicBoolean done = new AtomicBoolean();
    Callback wrapped = (metadata, exception) -> {
      if (exception == null && metadata != null && metadata.hasOffset()) {
        lastWrite.put(record.topic(), new long[] {metadata.partition(), metadata.offset()});
        if (inTransaction) unsettledTransactions.computeIfAbsent(record.topic(), t -> new ConcurrentHashMap<>()).merge(metadata.partition(), metadata.offset(), Math::max);
      }
      if (done.compareAndSet(false, true)) settle(gate);
      try {
        if (callback != null) callback.onCompletion(metadata, exception);
      } finally {
        if (heldFuture != null) {
          if (exception != null) heldFuture.completeExceptionally(exception);
          else heldFuture.complete(metadata);
        }
      }
    };
    try {
      ProducerRecord<K, V> out = partitioned(gate, record);
      Future<RecordMetadata> future = delegate.send(out, wrapped);
      return heldFuture != null ? heldFuture : future;
    } catch (RuntimeException e) {
      if (done.compareAndSet(false, true)) settle(gate);
      if (heldFuture == null) throw e;
      if (callback != null) callback.onCompletion(null, e);
      heldFuture.completeExceptionally(e);
      return heldFuture;
    }
  }

  private void settle(Gate gate) {
    synchronized (lock) {
      gate.inFlight--;
      if (gate.inFlight == 0) lock.notifyAll();
    }
  }

  // ------------------------------------------------------------------ transactions

  @Override
  public void initTransactions() {
    delegate.initTransactions();
  }

  /** Blocks until no managed topic is paused (a pause acks only after open transactions end: keep them short). */
  @Override
  public void beginTransaction() throws ProducerFencedException {
    synchronized (lock) {
      while (!closed && !allOpen()) {
        try {
          lock.wait(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new org.apache.kafka.common.errors.InterruptException(e);
        }
      }
      if (closed) throw new IllegalStateException("kreorg agent is closed");
      delegate.beginTransaction();
      transactionOpen = true;
    }
  }

  private boolean allOpen() {
    for (Gate gate : gates.values()) if (!gate.open || gate.releasing || !gate.held.isEmpty()) return false;
    return true;
  }

  @Override
  public void sendOffsetsToTransaction(Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata groupMetadata) throws ProducerFencedException {
    delegate.sendOffsetsToTransaction(offsets, groupMetadata);
  }

  @Override
  public void commitTransaction() throws ProducerFencedException {
    try {
      delegate.commitTransaction();
    } finally {
      endTransaction();
    }
  }

  @Override
  public void abortTransaction() throws ProducerFencedException {
    try {
      delegate.abortTransaction();
    } finally {
      endTransaction();
    }
  }

  private void endTransaction() {
    synchronized (lock) {
      transactionOpen = false;
      lock.notifyAll();
    }
  }

  // ------------------------------------------------------------------ pass-through

  @Override
  public void flush() {
    delegate.flush();
  }

  @Override
  public List<PartitionInfo> partitionsFor(String topic) {
    return delegate.partitionsFor(topic);
  }

  @Override
  public Map<MetricName, ? extends Metric> metrics() {
    return delegate.metrics();
  }

  @Override
  public Uuid clientInstanceId(Duration timeout) {
    return delegate.clientInstanceId(timeout);
  }

  @Override
  public void registerMetricForSubscription(KafkaMetric metric) {
    delegate.registerMetricForSubscription(metric);
  }

  @Override
  public void unregisterMetricFromSubscription(KafkaMetric metric) {
    delegate.unregisterMetricFromSubscription(metric);
  }

  // ------------------------------------------------------------------ acks, status, heartbeats

  private void ack(Gate gate, String ackState, Command command, int partitionCount, int canaryCount) throws Exception {
    ObjectNode ack = Json.object();
    ack.put("v", ControlCodec.PROTOCOL_VERSION);
    ack.put("type", "ack");
    ack.put("topic", gate.topic);
    ack.put("agentId", options.agentId);
    ack.put("state", ackState);
    ack.put("runId", command.runId());
    ack.put("epoch", command.epoch());
    ack.put("partitionCount", partitionCount);
    if (command.canaryKeys() != null) {
      ObjectNode canary = ack.putObject("canary");
      if (canaryCount > 0) for (String key : command.canaryKeys()) canary.put(key, partitionFor(gate.topic, key.getBytes(StandardCharsets.UTF_8), canaryCount));
    }
    ack.put("partitioner", options.partitionerName);
    if (command.targetPartitions() != null && partitionCount < command.targetPartitions() && !ackState.equals("pinned")) {
      String warning = "producer sees " + partitionCount + " partitions, expected " + command.targetPartitions();
      logger.warn(gate.topic + ": " + warning);
      ack.put("warning", warning);
    }
    ack.put("at", System.currentTimeMillis());
    String key = ControlCodec.ackKey(gate.topic, options.agentId);
    io.appendControl(key, ControlCodec.encode(key, ack, secret));
    logger.info("acked " + ackState + " of " + gate.topic + " (run " + command.runId() + ", epoch " + command.epoch() + ", " + partitionCount + " partitions)");
  }

  /** What this agent reports for a topic (also in its heartbeats). */
  public TopicStatus status(String topic) {
    Gate gate = gates.get(topic);
    if (gate == null) throw new IllegalArgumentException("kreorg agent does not manage " + topic);
    synchronized (lock) {
      String s = !ready ? "starting" : gate.paused ? "paused" : "running";
      return new TopicStatus(s, gate.runId, gate.epoch, gate.knownCount, gate.pinned, gate.held.size());
    }
  }

  /** The idempotent/transactional producer id (reflection on the KafkaProducer's TransactionManager), -1 when unknown. */
  public long producerId() {
    if (kafkaProducer == null) return -1;
    try {
      Field field = KafkaProducer.class.getDeclaredField("transactionManager");
      field.setAccessible(true);
      Object manager = field.get(kafkaProducer);
      if (manager == null) return -1;
      Method method = manager.getClass().getDeclaredMethod("producerIdAndEpoch");
      method.setAccessible(true);
      Object idAndEpoch = method.invoke(manager);
      if (idAndEpoch == null) return -1;
      long id = idAndEpoch.getClass().getField("producerId").getLong(idAndEpoch);
      return id >= 0 ? id : -1;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return -1;
    }
  }

  ObjectNode heartbeatMessage() {
    ObjectNode hb = Json.object();
    hb.put("v", ControlCodec.PROTOCOL_VERSION);
    hb.put("type", "agent");
    hb.put("agentId", options.agentId);
    hb.put("host", KreorgOptions.hostName());
    hb.put("pid", ProcessHandle.current().pid());
    if (options.clientId != null) hb.put("clientId", options.clientId);
    ArrayNode topics = hb.putArray("topics");
    gates.keySet().forEach(topics::add);
    hb.put("version", VERSION);
    hb.put("partitioner", options.partitionerName);
    hb.put("heartbeatMs", options.heartbeatMs);
    hb.put("startedAt", startedAt);
    ObjectNode states = hb.putObject("states");
    for (String topic : gates.keySet()) {
      TopicStatus s = status(topic);
      ObjectNode node = states.putObject(topic);
      node.put("state", s.state());
      if (s.runId() != null) node.put("runId", s.runId());
      if (s.epoch() != null) node.put("epoch", s.epoch());
      node.put("partitionCount", s.partitionCount());
      if (s.pinnedPartitions() != null) node.put("pinnedPartitions", s.pinnedPartitions());
      node.put("buffered", s.held());
    }
    ArrayNode capabilities = hb.putArray("capabilities");
    CAPABILITIES.forEach(capabilities::add);
    hb.put("language", "java");
    long producerId = producerId();
    if (producerId >= 0) hb.put("producerId", producerId);
    ObjectNode writes = Json.object();
    lastWrite.forEach((topic, w) -> {
      if (gates.containsKey(topic)) writes.putObject(topic).put("partition", (int) w[0]).put("offset", w[1]);
    });
    if (!writes.isEmpty()) hb.set("lastWrite", writes);
    hb.put("at", System.currentTimeMillis());
    return hb;
  }

  private void heartbeatSoon() {
    if (closed || !ready) return;
    try {
      scheduler.execute(this::heartbeat);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closing
    }
  }

  private void heartbeat() {
    if (closed || !ready) return;
    // Refresh the learned count from the client's own metadata too (partitions added without kreorg).
    for (Gate gate : gates.values()) {
      int client = clientCount(gate.topic);
      synchronized (lock) {
        if (client > gate.knownCount) gate.knownCount = client;
      }
    }
    String key = ControlCodec.agentKey(options.agentId);
    try {
      io.appendHeartbeat(key, ControlCodec.encode(key, heartbeatMessage(), secret));
    } catch (Exception e) {
      logger.warn("heartbeat failed: " + e);
    }
  }

  // ------------------------------------------------------------------ close

  @Override
  public void close() {
    close(Duration.ofMillis(Long.MAX_VALUE));
  }

  /**
   * Waits for in-flight sends, deregisters (a tombstone on {@code agent/<id>}) and closes the wrapped
   * producer. Sends still held by a pause fail: their records were never sent.
   */
  @Override
  public void close(Duration timeout) {
    synchronized (lifecycle) {
      if (closed) return;
      if (heartbeatTask != null) heartbeatTask.cancel(false);
      if (lapseTask != null) lapseTask.cancel(false);
    }
    try {
      delegate.flush();
    } catch (RuntimeException e) {
      logger.warn("flush on close failed: " + e);
    }
    List<Held<?, ?>> dropped = new ArrayList<>();
    synchronized (lock) {
      closed = true;
      for (Gate gate : gates.values()) {
        dropped.addAll(gate.held);
        gate.held.clear();
      }
      totalHeld = 0;
      lock.notifyAll();
    }
    for (Held<?, ?> held : dropped) {
      KafkaException error = new KafkaException("kreorg agent closed while the send was held by a pause; the record was not sent");
      if (held.callback() != null) held.callback().onCompletion(null, error);
      held.future().completeExceptionally(error);
    }
    if (ready) {
      try {
        scheduler.submit(() -> {
          io.appendHeartbeat(ControlCodec.agentKey(options.agentId), null);
          return null;
        }).get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        logger.warn("heartbeat tombstone failed: " + e);
      }
    }
    scheduler.shutdownNow();
    worker.shutdownNow();
    io.close();
    delegate.close(timeout);
  }

  // ------------------------------------------------------------------ reflection helpers

  /** The KafkaProducer inside {@code producer}, looking through wrappers such as Spring's CloseSafeProducer. */
  static KafkaProducer<?, ?> findKafkaProducer(Object producer, int depth) {
    if (producer instanceof KafkaProducer<?, ?> kp) return kp;
    if (producer == null || depth > 3) return null;
    for (Class<?> c = producer.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
      for (Field field : c.getDeclaredFields()) {
        if (!Producer.class.isAssignableFrom(field.getType()) || java.lang.reflect.Modifier.isStatic(field.getModifiers())) continue;
        try {
          field.setAccessible(true);
          KafkaProducer<?, ?> found = findKafkaProducer(field.get(producer), depth + 1);
          if (found != null) return found;
        } catch (ReflectiveOperationException | RuntimeException e) {
          // not reachable: try the next field
        }
      }
    }
    return null;
  }

  static Serializer<?> reflectKeySerializer(KafkaProducer<?, ?> producer) {
    if (producer == null) return null;
    for (String name : new String[] {"keySerializerPlugin", "keySerializer"}) {
      try {
        Field field = KafkaProducer.class.getDeclaredField(name);
        field.setAccessible(true);
        Object value = field.get(producer);
        if (value instanceof Serializer<?> s) return s;
        if (value != null) {
          Object inner = value.getClass().getMethod("get").invoke(value);
          if (inner instanceof Serializer<?> s) return s;
        }
      } catch (ReflectiveOperationException | RuntimeException e) {
        // try the next name
      }
    }
    return null;
  }

  /** For tests: the held count of a topic. */
  int heldCount(String topic) {
    synchronized (lock) {
      return gates.get(topic).held.size();
    }
  }

  Map<String, long[]> lastWrites() {
    return new HashMap<>(lastWrite);
  }
}
