package dev.kreorg.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.support.SendResult;

/**
 * The two Spring for Apache Kafka wirings README.md documents, with Spring's real classes: a factory
 * subclass overriding createRawProducer, and a ProducerPostProcessor. A KafkaTemplate send goes through
 * Spring's CloseSafeProducer into the agent, which holds it while paused and releases it on resume;
 * destroying the factory closes the agent. The control topic is a fake (FakeControlIo); the agent against
 * a real broker is BrokerIT and the conformance suite.
 */
class SpringProducerFactoryTest {
  static final String T = KreorgProducerTest.T;

  final FakeControlIo io = new FakeControlIo(null);

  KreorgOptions options() {
    return KreorgOptions.builder().bootstrapServers("unused:9092").topics(T).agentId("spring-1").keySerializer(new StringSerializer())
        .heartbeatMs(60_000).refreshTimeoutMs(1_000).logger(m -> {}).build();
  }

  KreorgProducer<String, String> agentAround(Producer<String, String> raw) {
    KreorgProducer<String, String> agent = new KreorgProducer<>(raw, options(), io);
    agent.start();
    return agent;
  }

  /** README's "factory subclass" wiring; the raw producer is a MockProducer instead of a KafkaProducer. */
  class KreorgProducerFactory extends DefaultKafkaProducerFactory<String, String> {
    final MockProducer<String, String> raw = new MockProducer<>(KreorgProducerTest.cluster(12), true, null, new StringSerializer(), new StringSerializer());
    KreorgProducer<String, String> agent;

    KreorgProducerFactory() {
      super(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092"), new StringSerializer(), new StringSerializer());
    }

    @Override
    protected Producer<String, String> createRawProducer(Map<String, Object> rawConfigs) {
      agent = agentAround(raw);
      return agent;
    }
  }

  void pause() throws Exception {
    long now = System.currentTimeMillis();
    io.appendMessage("lease/" + T, "{\"v\":1,\"type\":\"lease\",\"op\":\"claim\",\"topic\":\"" + T + "\",\"runId\":\"r1\",\"host\":\"h\",\"pid\":1,\"leaseMs\":60000,\"at\":1}");
    io.appendMessage("cmd/" + T, "{\"v\":1,\"type\":\"cmd\",\"action\":\"pause\",\"topic\":\"" + T + "\",\"runId\":\"r1\",\"epoch\":1,\"leaseExpiresAt\":"
        + (now + 60_000) + ",\"pinPartitions\":12,\"at\":1}");
    ObjectNode ack = io.nextAck(5_000);
    assertNotNull(ack, "the agent behind Spring's producer acked the pause");
    assertEquals("paused", ack.get("state").asText());
  }

  void resume() throws Exception {
    io.appendMessage("cmd/" + T, "{\"v\":1,\"type\":\"cmd\",\"action\":\"resume\",\"topic\":\"" + T + "\",\"runId\":\"r1\",\"epoch\":1,\"targetPartitions\":12,\"at\":1}");
    ObjectNode ack = io.nextAck(5_000);
    assertNotNull(ack);
    assertEquals("resumed", ack.get("state").asText());
  }

  @Test
  void factorySubclassKafkaTemplateSendsAreHeldWhilePausedAndReleasedInOrderOnResume() throws Exception {
    KreorgProducerFactory factory = new KreorgProducerFactory();
    KafkaTemplate<String, String> template = new KafkaTemplate<>(factory);
    try {
      template.send(T, "k", "before").get(5, TimeUnit.SECONDS);
      assertInstanceOf(KreorgProducer.class, factory.agent);
      pause();
      List<CompletableFuture<SendResult<String, String>>> held = List.of(template.send(T, "k", "held-1"), template.send(T, "k", "held-2"));
      Thread.sleep(200);
      assertFalse(held.get(0).isDone(), "KafkaTemplate.send is held by the agent while paused");
      assertEquals(1, factory.raw.history().size());
      resume();
      for (CompletableFuture<SendResult<String, String>> f : held) f.get(5, TimeUnit.SECONDS);
      assertEquals(List.of("before", "held-1", "held-2"), factory.raw.history().stream().map(r -> r.value()).toList());
    } finally {
      factory.destroy();
    }
    // Spring closes the physical producer when the factory is destroyed: the agent with it.
    assertTrue(factory.raw.closed(), "destroy() closed the agent and the producer it wraps");
  }

  @Test
  void producerPostProcessorWrapsTheRawProducerSpringCreates() throws Exception {
    DefaultKafkaProducerFactory<String, String> factory = new DefaultKafkaProducerFactory<>(
        Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1", ProducerConfig.MAX_BLOCK_MS_CONFIG, 500), new StringSerializer(),
        new StringSerializer());
    KreorgProducer<?, ?>[] wrapped = new KreorgProducer<?, ?>[1];
    factory.addPostProcessor(raw -> {
      KreorgProducer<String, String> agent = agentAround(raw);
      wrapped[0] = agent;
      return agent;
    });
    KafkaTemplate<String, String> template = new KafkaTemplate<>(factory);
    try {
      pauseBeforeFirstSend(template);
      assertNotNull(wrapped[0], "the post-processor ran on the producer Spring created");
      CompletableFuture<SendResult<String, String>> held = template.send(T, "k", "held");
      Thread.sleep(200);
      assertFalse(held.isDone(), "held by the agent, never handed to the (unreachable) KafkaProducer");
    } finally {
      factory.destroy();
    }
  }

  /** Creates Spring's producer (and so the agent) without sending, then pauses it. */
  void pauseBeforeFirstSend(KafkaTemplate<String, String> template) throws Exception {
    template.execute(producer -> null);
    pause();
  }
}
