package dev.kreorg.agent;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.clients.producer.Partitioner;
import org.apache.kafka.common.serialization.Serializer;

/** Settings of a {@link KreorgProducer}. Build with {@link #builder()}. */
public final class KreorgOptions {
  public static final String DEFAULT_CONTROL_TOPIC = "kreorg-control";

  final Map<String, Object> connection;
  final List<String> topics;
  final String controlTopic;
  final String agentId;
  final String clientId;
  final String secret;
  final long heartbeatMs;
  final int bufferLimit;
  final int maxHeldSends;
  final long refreshTimeoutMs;
  final long markerTimeoutMs;
  final long catchUpTimeoutMs;
  final boolean createTopics;
  final Serializer<?> keySerializer;
  final Partitioner partitioner;
  final String partitionerName;
  final KreorgLogger logger;

  private KreorgOptions(Builder b) {
    this.connection = connectionOnly(b.clientConfig);
    if (!connection.containsKey("bootstrap.servers")) throw new IllegalArgumentException("kreorg agent: clientConfig needs bootstrap.servers");
    if (b.topics.isEmpty()) throw new IllegalArgumentException("kreorg agent: topics must name at least one topic");
    this.topics = List.copyOf(new LinkedHashSet<>(b.topics));
    this.controlTopic = Objects.requireNonNullElse(b.controlTopic, DEFAULT_CONTROL_TOPIC);
    this.agentId = b.agentId != null ? b.agentId : defaultAgentId();
    if (!ControlCodec.AGENT_ID.matcher(agentId).matches()) throw new IllegalArgumentException("kreorg agent: invalid agentId \"" + agentId + "\": use [a-zA-Z0-9._:-]");
    this.clientId = b.clientId;
    this.secret = b.secret == null || b.secret.isEmpty() ? null : b.secret;
    this.heartbeatMs = b.heartbeatMs;
    this.bufferLimit = b.bufferLimit;
    this.maxHeldSends = b.maxHeldSends;
    this.refreshTimeoutMs = b.refreshTimeoutMs;
    this.markerTimeoutMs = b.markerTimeoutMs;
    this.catchUpTimeoutMs = b.catchUpTimeoutMs;
    this.createTopics = b.createTopics;
    this.keySerializer = b.keySerializer;
    this.partitioner = b.partitioner;
    this.partitionerName = b.partitionerName != null ? b.partitionerName : b.partitioner != null ? "custom" : "murmur2";
    this.logger = b.logger;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Keeps what the agent's own clients need to reach the cluster (bootstrap, security, DNS), so a full
   * producer config (e.g. Spring's) can be passed as is: serializers, transactional.id, partitioner
   * and the like never leak into the agent's clients.
   */
  static Map<String, Object> connectionOnly(Map<String, ?> config) {
    Map<String, Object> out = new HashMap<>();
    config.forEach((k, v) -> {
      if (v == null) return;
      if (k.equals("bootstrap.servers") || k.equals("security.protocol") || k.equals("client.dns.lookup") || k.startsWith("sasl.") || k.startsWith("ssl.")) {
        out.put(k, v instanceof List<?> list ? String.join(",", list.stream().map(String::valueOf).toList()) : v);
      }
    });
    return out;
  }

  static String defaultAgentId() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      host = "host";
    }
    host = host.replaceAll("[^a-zA-Z0-9._-]", "_");
    if (host.length() > 100) host = host.substring(0, 100);
    byte[] random = new byte[3];
    new SecureRandom().nextBytes(random);
    return host + "-" + ProcessHandle.current().pid() + "-" + String.format("%02x%02x%02x", random[0], random[1], random[2]);
  }

  static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      return ManagementFactory.getRuntimeMXBean().getName();
    }
  }

  public static final class Builder {
    private final Map<String, Object> clientConfig = new HashMap<>();
    private final List<String> topics = new ArrayList<>();
    private String controlTopic;
    private String agentId;
    private String clientId;
    private String secret;
    private long heartbeatMs = 5_000;
    private int bufferLimit = 10_000;
    private int maxHeldSends = 100_000;
    private long refreshTimeoutMs = 30_000;
    private long markerTimeoutMs = 10_000;
    private long catchUpTimeoutMs = 30_000;
    private boolean createTopics = true;
    private Serializer<?> keySerializer;
    private Partitioner partitioner;
    private String partitionerName;
    private KreorgLogger logger = KreorgLogger.STDERR;

    /** Connection settings for the agent's own clients (bootstrap.servers, security.protocol, sasl.*, ssl.*); other keys are ignored. */
    public Builder clientConfig(Map<String, ?> config) { clientConfig.putAll(config); return this; }
    public Builder bootstrapServers(String servers) { clientConfig.put("bootstrap.servers", servers); return this; }
    /** Topics this producer writes that kreorg may pause. */
    public Builder topics(String... names) { topics.addAll(List.of(names)); return this; }
    public Builder topics(List<String> names) { topics.addAll(names); return this; }
    public Builder controlTopic(String name) { controlTopic = name; return this; }
    /** Stable id of this producer instance; default {@code <host>-<pid>-<random>}. */
    public Builder agentId(String id) { agentId = id; return this; }
    /** Shown by {@code kreorg producers}. */
    public Builder clientId(String id) { clientId = id; return this; }
    /** Shared HMAC secret (e.g. {@code System.getenv("KREORG_CONTROL_SECRET")}): signs everything, ignores unsigned records. */
    public Builder secret(String value) { secret = value; return this; }
    public Builder heartbeatMs(long ms) { heartbeatMs = ms; return this; }
    /** Held records past which a warning says callers are held back. */
    public Builder bufferLimit(int records) { bufferLimit = records; return this; }
    /** Hard cap on held sends: beyond it sends fail fast with {@link HeldSendsFullException}. */
    public Builder maxHeldSends(int records) { maxHeldSends = records; return this; }
    public Builder refreshTimeoutMs(long ms) { refreshTimeoutMs = ms; return this; }
    public Builder markerTimeoutMs(long ms) { markerTimeoutMs = ms; return this; }
    public Builder catchUpTimeoutMs(long ms) { catchUpTimeoutMs = ms; return this; }
    /** Create the control and heartbeat topics when missing (default true). */
    public Builder createTopics(boolean create) { createTopics = create; return this; }
    /**
     * The key serializer the wrapped producer uses: the agent partitions keyed records itself (murmur2 of
     * the serialized key, like the Java client) and passes the partition explicitly. Found by reflection on
     * a KafkaProducer when not given; String and byte[] keys work without it.
     */
    public Builder keySerializer(Serializer<?> serializer) { keySerializer = serializer; return this; }
    /** The application's custom partitioner, if it configured {@code partitioner.class}; reported as "custom". */
    public Builder partitioner(Partitioner value) { partitioner = value; return this; }
    public Builder partitionerName(String name) { partitionerName = name; return this; }
    public Builder logger(KreorgLogger value) { logger = value; return this; }

    public KreorgOptions build() {
      return new KreorgOptions(this);
    }
  }
}
