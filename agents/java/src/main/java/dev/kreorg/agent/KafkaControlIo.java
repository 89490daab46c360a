package dev.kreorg.agent;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** The agent's own clients: an Admin, a group-less consumer tailing the control topic, an acks=all producer. */
final class KafkaControlIo implements ControlIo {
  static final Map<String, String> CONTROL_TOPIC_CONFIG = Map.of(
      "cleanup.policy", "compact",
      "min.compaction.lag.ms", String.valueOf(24L * 60 * 60 * 1000),
      "message.timestamp.type", "LogAppendTime");
  static final Map<String, String> HEARTBEAT_TOPIC_CONFIG = Map.of(
      "cleanup.policy", "delete",
      "retention.ms", "3600000",
      "message.timestamp.type", "LogAppendTime");

  private final Map<String, Object> connection;
  private final String controlTopic;
  private final String heartbeatTopic;
  private final boolean createTopics;
  private final String clientIdPrefix;
  private final KreorgLogger logger;
  private final long catchUpTimeoutMs;
  private Admin admin;
  private KafkaProducer<String, byte[]> producer;
  private KafkaConsumer<String, byte[]> consumer;
  private Thread reader;
  private volatile boolean stopped;

  KafkaControlIo(Map<String, Object> connection, String controlTopic, boolean createTopics, String clientIdPrefix, KreorgLogger logger, long catchUpTimeoutMs) {
    this.connection = connection;
    this.controlTopic = controlTopic;
    this.heartbeatTopic = controlTopic + "-heartbeats";
    this.createTopics = createTopics;
    this.clientIdPrefix = clientIdPrefix;
    this.logger = logger;
    this.catchUpTimeoutMs = catchUpTimeoutMs;
  }

  private Properties props(String role) {
    Properties p = new Properties();
    p.putAll(connection);
    p.put("client.id", clientIdPrefix + "-" + role);
    return p;
  }

  @Override
  public void start(Consumer<Raw> onRecord) throws Exception {
    admin = Admin.create(props("admin"));
    ensureTopic(controlTopic, CONTROL_TOPIC_CONFIG);
    ensureTopic(heartbeatTopic, HEARTBEAT_TOPIC_CONFIG);

    Properties pp = props("control-producer");
    pp.put(ProducerConfig.ACKS_CONFIG, "all");
    pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    pp.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
    pp.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    producer = new KafkaProducer<>(pp);

    // No group: nothing is ever committed, and kreorg's lag and drain never see this reader.
    Properties cp = props("control-reader");
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    cp.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "100");
    cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    consumer = new KafkaConsumer<>(cp);
    TopicPartition tp = new TopicPartition(controlTopic, 0);
    consumer.assign(List.of(tp));
    consumer.seekToBeginning(List.of(tp));
    long end = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get(30, TimeUnit.SECONDS).offset();

    CountDownLatch caughtUp = new CountDownLatch(1);
    Throwable[] failure = new Throwable[1];
    reader = new Thread(() -> {
      try {
        boolean signalled = false;
        while (!stopped) {
          for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
            try {
              onRecord.accept(new Raw(r.key(), r.value(), r.offset(), r.timestamp()));
            } catch (RuntimeException e) {
              logger.warn("control topic offset " + r.offset() + ": " + e);
            }
          }
          if (!signalled && consumer.position(tp) >= end) {
            signalled = true;
            caughtUp.countDown();
          }
        }
      } catch (WakeupException e) {
        // closing
      } catch (Throwable t) {
        failure[0] = t;
        if (!stopped) logger.warn("control topic reader stopped: " + t);
        caughtUp.countDown();
      }
    }, "kreorg-control-reader");
    reader.setDaemon(true);
    reader.start();
    if (!caughtUp.await(catchUpTimeoutMs, TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException("control topic " + controlTopic + ": not read up to offset " + end + " within " + catchUpTimeoutMs + "ms");
    }
    if (failure[0] != null) throw new IllegalStateException("control topic reader failed", failure[0]);
  }

  private void ensureTopic(String topic, Map<String, String> config) throws Exception {
    Set<String> names = admin.listTopics().names().get(30, TimeUnit.SECONDS);
    if (!names.contains(topic)) {
      if (!createTopics) throw new IllegalStateException("topic " + topic + " does not exist");
      try {
        admin.createTopics(List.of(new NewTopic(topic, java.util.Optional.of(1), java.util.Optional.empty()).configs(config))).all().get(30, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) throw e;
      }
    }
    long deadline = System.currentTimeMillis() + 30_000;
    for (;;) {
      try {
        TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic);
        if (!d.partitions().isEmpty() && d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty())) return;
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) throw e;
      }
      if (System.currentTimeMillis() > deadline) throw new IllegalStateException("topic " + topic + " has no leader after 30s");
      Thread.sleep(100);
    }
  }

  @Override
  public void appendControl(String key, byte[] value) throws Exception {
    producer.send(new ProducerRecord<>(controlTopic, 0, key, value)).get(30, TimeUnit.SECONDS);
  }

  @Override
  public void appendHeartbeat(String key, byte[] value) throws Exception {
    producer.send(new ProducerRecord<>(heartbeatTopic, 0, key, value)).get(30, TimeUnit.SECONDS);
  }

  @Override
  public int partitionCount(String topic) throws Exception {
    try {
      return admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic).partitions().size();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UnknownTopicOrPartitionException) return 0;
      throw e;
    }
  }

  @Override
  public Map<Integer, Long> lastStableOffsets(String topic) throws Exception {
    int count = partitionCount(topic);
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    for (int p = 0; p < count; p++) request.put(new TopicPartition(topic, p), OffsetSpec.latest());
    Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> result =
        admin.listOffsets(request, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get(30, TimeUnit.SECONDS);
    Map<Integer, Long> out = new HashMap<>();
    result.forEach((tp, info) -> out.put(tp.partition(), info.offset()));
    return out;
  }

  @Override
  public void close() {
    stopped = true;
    if (consumer != null) consumer.wakeup();
    if (reader != null) {
      try {
        reader.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (consumer != null) consumer.close(Duration.ofSeconds(5));
    if (producer != null) producer.close(Duration.ofSeconds(10));
    if (admin != null) admin.close(Duration.ofSeconds(5));
  }
}
