package dev.kreorg.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The conformance suite's driver (/work/plan/CONFORMANCE-DRIVER.md): a KafkaProducer wrapped by a
 * {@link KreorgProducer}, driven by one JSON request per stdin line; replies on stdout, logs on stderr.
 *
 * <pre>java -cp agents/java/target/kreorg-agent-driver.jar dev.kreorg.agent.ConformanceDriver</pre>
 */
public final class ConformanceDriver {
  private final PrintStream out;
  private final KreorgProducer<String, String> agent;
  private final String topic;
  /** send/begin/commit/abort run here in stdin order; a held send returns at once, so only begin (during a pause) and commit wait. */
  private final ExecutorService ops = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "kreorg-driver-ops");
    t.setDaemon(true);
    return t;
  });

  private ConformanceDriver(PrintStream out, KreorgProducer<String, String> agent, String topic) {
    this.out = out;
    this.agent = agent;
    this.topic = topic;
  }

  public static void main(String[] args) throws Exception {
    // stdout carries the protocol only: everything else (including client libraries) goes to stderr.
    PrintStream protocolOut = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
    System.setOut(System.err);
    Map<String, String> env = System.getenv();
    String brokers = required(env, "KREORG_BROKERS");
    String topic = required(env, "KREORG_TOPIC");
    String controlTopic = env.getOrDefault("KREORG_CONTROL_TOPIC", KreorgOptions.DEFAULT_CONTROL_TOPIC);
    String transactionalId = blankToNull(env.get("KREORG_TRANSACTIONAL_ID"));

    Map<String, Object> config = new HashMap<>();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    config.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    config.put(ProducerConfig.CLIENT_ID_CONFIG, "kreorg-conformance-java");
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    if (transactionalId != null) config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);

    KreorgOptions.Builder options = KreorgOptions.builder()
        .clientConfig(config)
        .topics(topic)
        .controlTopic(controlTopic)
        .clientId("kreorg-conformance-java")
        .heartbeatMs(Long.parseLong(env.getOrDefault("KREORG_HEARTBEAT_MS", "1000")))
        .keySerializer(new StringSerializer());
    if (blankToNull(env.get("KREORG_AGENT_ID")) != null) options.agentId(env.get("KREORG_AGENT_ID"));
    if (blankToNull(env.get("KREORG_CONTROL_SECRET")) != null) options.secret(env.get("KREORG_CONTROL_SECRET"));
    if (blankToNull(env.get("KREORG_MAX_HELD_SENDS")) != null) options.maxHeldSends(Integer.parseInt(env.get("KREORG_MAX_HELD_SENDS")));

    KafkaProducer<String, String> producer = new KafkaProducer<>(config);
    if (transactionalId != null) producer.initTransactions();
    KreorgProducer<String, String> agent = KreorgProducer.wrap(producer, options.build());
    System.err.println("[kreorg-driver] agent " + agent.agentId() + " ready on " + topic + " (control topic " + controlTopic + ")");
    ConformanceDriver driver = new ConformanceDriver(protocolOut, agent, topic);
    driver.reply(Json.object().put("op", "ready"));
    driver.loop(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
  }

  private static String required(Map<String, String> env, String name) {
    String value = blankToNull(env.get(name));
    if (value == null) {
      System.err.println("[kreorg-driver] " + name + " is required");
      System.exit(2);
    }
    return value;
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value;
  }

  private void loop(BufferedReader in) throws Exception {
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) continue;
      JsonNode request;
      try {
        request = Json.MAPPER.readTree(line);
      } catch (Exception e) {
        reply(Json.object().put("op", "error").put("error", "not JSON: " + e.getMessage()));
        continue;
      }
      JsonNode id = request.get("id");
      String op = request.path("op").asText("");
      switch (op) {
        case "send" -> {
          String key = request.hasNonNull("key") ? request.get("key").asText() : null;
          String value = request.hasNonNull("value") ? request.get("value").asText() : null;
          ops.execute(() -> send(id, key, value));
        }
        case "begin" -> ops.execute(() -> run(id, agent::beginTransaction));
        case "commit" -> ops.execute(() -> run(id, agent::commitTransaction));
        case "abort" -> ops.execute(() -> run(id, agent::abortTransaction));
        case "state" -> {
          KreorgProducer.TopicStatus s = agent.status(topic);
          ObjectNode reply = withId(Json.object().put("op", "state"), id).put("state", s.state()).put("partitionCount", s.partitionCount());
          if (s.pinnedPartitions() != null) reply.put("pinnedPartitions", s.pinnedPartitions());
          else reply.putNull("pinnedPartitions");
          reply.put("held", s.held());
          reply(reply);
        }
        case "close" -> {
          close(id);
          return;
        }
        default -> reply(withId(Json.object().put("op", "error").put("error", "unknown op " + op), id));
      }
    }
    close(null); // stdin closed: shut down cleanly
  }

  private void send(JsonNode id, String key, String value) {
    try {
      agent.send(new ProducerRecord<>(topic, key, value), (metadata, exception) -> {
        if (exception != null) error(id, exception);
        else reply(withId(Json.object().put("op", "sent"), id).put("partition", metadata.partition()).put("offset", metadata.offset()));
      });
    } catch (RuntimeException e) {
      error(id, e);
    }
  }

  private interface Action {
    void run() throws Exception;
  }

  private void run(JsonNode id, Action action) {
    try {
      action.run();
      reply(withId(Json.object().put("op", "ok"), id));
    } catch (Exception e) {
      error(id, e);
    }
  }

  private void error(JsonNode id, Throwable e) {
    ObjectNode reply = withId(Json.object().put("op", "error"), id).put("error", String.valueOf(e.getMessage() != null ? e.getMessage() : e));
    if (e instanceof HeldSendsFullException) reply.put("code", HeldSendsFullException.CODE);
    else reply.put("code", e.getClass().getSimpleName());
    reply(reply);
  }

  private void close(JsonNode id) {
    // Requests read before the close run first (a begin blocked by a pause gives up when the agent closes).
    ops.shutdown();
    try {
      ops.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      agent.close(java.time.Duration.ofSeconds(30));
    } catch (RuntimeException e) {
      System.err.println("[kreorg-driver] close failed: " + e);
    }
    reply(withId(Json.object().put("op", "closed"), id));
    out.flush();
    System.exit(0);
  }

  private static ObjectNode withId(ObjectNode node, JsonNode id) {
    if (id != null && !id.isNull()) node.set("id", id);
    return node;
  }

  private synchronized void reply(ObjectNode message) {
    out.println(message.toString());
    out.flush();
  }
}
