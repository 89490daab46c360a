package dev.kreorg.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** Against a real broker: runs only when KREORG_BROKERS is set (e.g. KREORG_BROKERS=127.0.0.1:9092 mvn verify). */
class BrokerIT {
  @Test
  void pauseHoldsSendsAndResumeReleasesThemInOrder() throws Exception {
    String brokers = System.getenv("KREORG_BROKERS");
    assumeTrue(brokers != null && !brokers.isBlank(), "KREORG_BROKERS is not set");
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    String topic = "kreorg-it-" + suffix;
    String control = "kreorg-it-control-" + suffix;
    Map<String, Object> conn = Map.of("bootstrap.servers", brokers);
    try (Admin admin = Admin.create(conn)) {
      admin.createTopics(List.of(new NewTopic(topic, 4, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
    KafkaProducer<String, String> raw = new KafkaProducer<>(Map.of("bootstrap.servers", brokers, "acks", "all"), new StringSerializer(), new StringSerializer());
    KreorgProducer<String, String> agent = KreorgProducer.wrap(raw,
        KreorgOptions.builder().bootstrapServers(brokers).topics(topic).controlTopic(control).agentId("it-" + suffix).heartbeatMs(500).build());
    try (KafkaProducer<String, byte[]> orchestrator = new KafkaProducer<>(Map.of("bootstrap.servers", brokers, "acks", "all"), new StringSerializer(), new ByteArraySerializer())) {
      agent.send(new ProducerRecord<>(topic, "k", "0")).get();
      long now = System.currentTimeMillis();
      write(orchestrator, control, "lease/" + topic, "{\"v\":1,\"type\":\"lease\",\"op\":\"claim\",\"topic\":\"" + topic + "\",\"runId\":\"r\",\"host\":\"h\",\"pid\":1,\"leaseMs\":60000,\"at\":" + now + "}");
      write(orchestrator, control, "cmd/" + topic, "{\"v\":1,\"type\":\"cmd\",\"action\":\"pause\",\"topic\":\"" + topic + "\",\"runId\":\"r\",\"epoch\":1,\"leaseExpiresAt\":" + (now + 60000) + ",\"at\":" + now + "}");
      waitFor(() -> agent.status(topic).state().equals("paused"));
      List<Future<RecordMetadata>> held = new ArrayList<>();
      for (int i = 1; i <= 50; i++) held.add(agent.send(new ProducerRecord<>(topic, "k", String.valueOf(i))));
      Thread.sleep(300);
      assertFalse(held.get(0).isDone());
      write(orchestrator, control, "cmd/" + topic, "{\"v\":1,\"type\":\"cmd\",\"action\":\"resume\",\"topic\":\"" + topic + "\",\"runId\":\"r\",\"epoch\":1,\"targetPartitions\":4,\"at\":" + now + "}");
      for (Future<RecordMetadata> f : held) f.get(30, TimeUnit.SECONDS);
    } finally {
      agent.close(Duration.ofSeconds(10));
    }
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of("bootstrap.servers", brokers), new StringDeserializer(), new StringDeserializer())) {
      int partition = BuiltInPartitionerAccess.partition("k", 4);
      TopicPartition tp = new TopicPartition(topic, partition);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      List<String> values = new ArrayList<>();
      long deadline = System.currentTimeMillis() + 20_000;
      while (values.size() < 51 && System.currentTimeMillis() < deadline) for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) values.add(r.value());
      List<String> expected = new ArrayList<>();
      for (int i = 0; i <= 50; i++) expected.add(String.valueOf(i));
      assertEquals(expected, values);
    }
  }

  static void write(KafkaProducer<String, byte[]> producer, String topic, String key, String json) throws Exception {
    producer.send(new ProducerRecord<>(topic, 0, key, ControlCodec.encode(key, (ObjectNode) Json.MAPPER.readTree(json), null))).get();
  }

  static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 20_000;
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) throw new AssertionError("timed out");
      Thread.sleep(50);
    }
  }

  static final class BuiltInPartitionerAccess {
    static int partition(String key, int n) {
      return org.apache.kafka.clients.producer.internals.BuiltInPartitioner.partitionForKey(key.getBytes(java.nio.charset.StandardCharsets.UTF_8), n);
    }
  }
}
