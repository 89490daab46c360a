package dev.kreorg.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class KreorgProducerTest {
  static final String T = "orders";
  FakeControlIo io;
  MockProducer<String, String> mock;
  KreorgProducer<String, String> agent;

  static Cluster cluster(int count) {
    Node node = new Node(0, "localhost", 9092);
    List<PartitionInfo> partitions = new ArrayList<>();
    for (int p = 0; p < count; p++) partitions.add(new PartitionInfo(T, p, node, new Node[] {node}, new Node[] {node}));
    return new Cluster("c", List.of(node), partitions, java.util.Set.of(), java.util.Set.of());
  }

  KreorgProducer<String, String> start(String secret, int partitions, int maxHeld) {
    io = io != null ? io : new FakeControlIo(secret);
    io.setPartitions(T, partitions);
    if (mock == null) mock = new MockProducer<>(cluster(partitions), true, null, new StringSerializer(), new StringSerializer());
    KreorgOptions options = KreorgOptions.builder().bootstrapServers("unused:9092").topics(T).agentId("a1").secret(secret)
        .keySerializer(new StringSerializer()).heartbeatMs(60_000).maxHeldSends(maxHeld).refreshTimeoutMs(1_000).logger(m -> {}).build();
    agent = new KreorgProducer<>(mock, options, io);
    agent.start();
    return agent;
  }

  @AfterEach
  void close() {
    if (agent != null) agent.close();
  }

  long now() {
    return System.currentTimeMillis();
  }

  void claim(String run, long leaseMs) throws Exception {
    io.appendMessage("lease/" + T, "{\"v\":1,\"type\":\"lease\",\"op\":\"claim\",\"topic\":\"" + T + "\",\"runId\":\"" + run + "\",\"host\":\"h\",\"pid\":1,\"leaseMs\":" + leaseMs + ",\"at\":1}");
  }

  void command(String action, String run, long epoch, String extra) throws Exception {
    io.appendMessage("cmd/" + T, "{\"v\":1,\"type\":\"cmd\",\"action\":\"" + action + "\",\"topic\":\"" + T + "\",\"runId\":\"" + run + "\",\"epoch\":" + epoch
        + (extra.isEmpty() ? "" : "," + extra) + ",\"at\":1}");
  }

  ObjectNode ack() throws InterruptedException {
    ObjectNode ack = io.nextAck(5_000);
    assertNotNull(ack, "expected an ack");
    return ack;
  }

  static int murmur(String key, int n) {
    return BuiltInPartitioner.partitionForKey(key.getBytes(StandardCharsets.UTF_8), n);
  }

  @Test
  void heldSendsGoOutInCallOrderAfterResumeWithTheNewLayout() throws Exception {
    start(null, 12, 100_000);
    agent.send(new ProducerRecord<>(T, "k0", "before")).get();
    claim("r1", 60_000);
    command("pause", "r1", 1, "\"leaseExpiresAt\":" + (now() + 60_000) + ",\"pinPartitions\":12");
    ObjectNode paused = ack();
    assertEquals("paused", paused.get("state").asText());
    assertEquals(12, paused.get("partitionCount").asInt());
    assertEquals("paused", agent.status(T).state());

    List<Future<RecordMetadata>> futures = new ArrayList<>();
    List<String> callbackOrder = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int i = 0; i < 200; i++) {
      String value = "held-" + i;
      futures.add(agent.send(new ProducerRecord<>(T, "key-" + (i % 7), value), (m, e) -> callbackOrder.add(value)));
    }
    Thread.sleep(200);
    assertEquals(1, mock.history().size(), "nothing is sent while paused");
    assertFalse(futures.get(0).isDone());
    assertEquals(200, agent.status(T).held());

    io.setPartitions(T, 16);
    command("refresh", "r1", 1, "\"leaseExpiresAt\":" + (now() + 60_000) + ",\"targetPartitions\":16,\"canaryKeys\":[\"customer-1\",\"customer-2\"],\"pinPartitions\":12");
    ObjectNode refreshed = ack();
    assertEquals("refreshed", refreshed.get("state").asText());
    assertEquals(16, refreshed.get("partitionCount").asInt());
    assertEquals(murmur("customer-1", 16), refreshed.get("canary").get("customer-1").asInt());
    assertEquals(1, refreshed.get("canary").get("customer-1").asInt(), "same answer as kafkajs DefaultPartitioner with 16 partitions");
    assertEquals(6, refreshed.get("canary").get("customer-2").asInt());
    assertEquals(1, mock.history().size());

    command("resume", "r1", 1, "\"targetPartitions\":16");
    ObjectNode resumed = ack();
    assertEquals("resumed", resumed.get("state").asText());
    assertEquals(16, resumed.get("partitionCount").asInt());
    for (Future<RecordMetadata> f : futures) f.get(5, TimeUnit.SECONDS);
    List<ProducerRecord<String, String>> history = mock.history();
    assertEquals(201, history.size());
    for (int i = 0; i < 200; i++) {
      ProducerRecord<String, String> r = history.get(i + 1);
      assertEquals("held-" + i, r.value(), "call order");
      assertEquals(murmur(r.key(), 16), r.partition(), "new layout after the resume");
    }
    for (int i = 0; i < 200; i++) assertEquals("held-" + i, callbackOrder.get(i));
    assertNull(agent.status(T).pinnedPartitions());
  }

  @Test
  void pinHidesNewPartitionsUntilAResumeWithTarget() throws Exception {
    start(null, 12, 100_000);
    claim("r1", 60_000);
    command("pin", "r1", 1, "\"pinPartitions\":12,\"leaseExpiresAt\":" + (now() + 60_000));
    ObjectNode pinned = ack();
    assertEquals("pinned", pinned.get("state").asText());
    assertEquals(12, pinned.get("partitionCount").asInt());
    io.setPartitions(T, 16);
    mock.history(); // keep writing while pinned
    agent.send(new ProducerRecord<>(T, "customer-1", "x")).get();
    assertEquals(murmur("customer-1", 12), mock.history().get(0).partition());
    command("resume", "r1", 2, "");
    assertEquals("resumed", ack().get("state").asText());
    assertEquals(12, agent.status(T).pinnedPartitions(), "a resume without targetPartitions keeps the pin");
    command("resume", "r1", 3, "\"targetPartitions\":16");
    ack();
    agent.send(new ProducerRecord<>(T, "customer-1", "y")).get();
    assertEquals(murmur("customer-1", 16), mock.history().get(1).partition());
    ProducerRecord<String, String> explicit = new ProducerRecord<>(T, 3, "customer-1", "z");
    agent.send(explicit).get();
    assertEquals(3, mock.history().get(2).partition(), "explicit partitions are left alone");
  }

  @Test
  void startDuringAPauseStartsPausedAndAcks() throws Exception {
    io = new FakeControlIo(null);
    claim("r1", 60_000);
    command("pause", "r1", 4, "\"leaseExpiresAt\":" + (now() + 60_000) + ",\"pinPartitions\":12");
    start(null, 12, 100_000);
    assertEquals("paused", agent.status(T).state());
    assertEquals(4, ack().get("epoch").asInt());
    Future<RecordMetadata> f = agent.send(new ProducerRecord<>(T, "k", "v"));
    Thread.sleep(100);
    assertTrue(mock.history().isEmpty());
    command("resume", "r1", 4, "\"targetPartitions\":12");
    ack();
    f.get(5, TimeUnit.SECONDS);
  }

  @Test
  void unauthorizedStaleAndUnsignedCommandsAreIgnored() throws Exception {
    start("secret", 12, 100_000);
    command("pause", "nobody", 1, "\"leaseExpiresAt\":" + (now() + 60_000)); // no lease
    io.append("cmd/" + T, "{\"v\":1,\"type\":\"cmd\",\"action\":\"pause\",\"topic\":\"" + T + "\",\"runId\":\"r1\",\"epoch\":9,\"at\":1}"); // unsigned
    io.append("cmd/" + T, "garbage");
    claim("r1", 60_000);
    command("pause", "r1", 5, "\"leaseExpiresAt\":" + (now() + 60_000));
    ObjectNode paused = ack();
    assertEquals(5, paused.get("epoch").asInt());
    assertTrue(Signing.verify("ack/" + T + "/a1", paused, "secret"), "acks are signed");
    command("resume", "r1", 4, ""); // stale epoch: fenced
    assertNull(io.nextAck(500));
    assertEquals("paused", agent.status(T).state());
    command("resume", "r1", 5, "");
    assertEquals("resumed", ack().get("state").asText());
  }

  @Test
  void lapsedLeaseResumesByItselfOnThePinnedLayout() throws Exception {
    start(null, 12, 100_000);
    claim("r1", 600);
    command("pause", "r1", 1, "\"leaseExpiresAt\":" + (now() + 600) + ",\"pinPartitions\":12");
    ack();
    Future<RecordMetadata> held = agent.send(new ProducerRecord<>(T, "customer-1", "v"));
    io.setPartitions(T, 16);
    held.get(5, TimeUnit.SECONDS);
    assertEquals("running", agent.status(T).state());
    assertEquals(murmur("customer-1", 12), mock.history().get(0).partition(), "pinned after the lapse");
    assertEquals(12, agent.status(T).pinnedPartitions());
  }

  @Test
  void heldSendsBeyondTheCapFailFast() throws Exception {
    start(null, 12, 3);
    claim("r1", 60_000);
    command("pause", "r1", 1, "\"leaseExpiresAt\":" + (now() + 60_000));
    ack();
    for (int i = 0; i < 3; i++) agent.send(new ProducerRecord<>(T, "k", "v" + i));
    Exception[] fromCallback = new Exception[1];
    Future<RecordMetadata> fourth = agent.send(new ProducerRecord<>(T, "k", "v3"), (m, e) -> fromCallback[0] = e);
    ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, fourth::get);
    assertInstanceOf(HeldSendsFullException.class, e.getCause());
    assertInstanceOf(HeldSendsFullException.class, fromCallback[0]);
  }

  @Test
  void pauseAckWaitsForTheOpenTransaction() throws Exception {
    mock = new MockProducer<>(cluster(12), true, null, new StringSerializer(), new StringSerializer());
    mock.initTransactions();
    start(null, 12, 100_000);
    agent.beginTransaction();
    agent.send(new ProducerRecord<>(T, "k", "in-txn"));
    claim("r1", 60_000);
    command("pause", "r1", 1, "\"leaseExpiresAt\":" + (now() + 60_000));
    assertNull(io.nextAck(500), "no ack while the transaction is open");
    agent.send(new ProducerRecord<>(T, "k", "still-in-txn")); // not held: the transaction must be able to finish
    agent.commitTransaction();
    assertEquals("paused", ack().get("state").asText());
    assertEquals(2, mock.history().size());
    CompletableFuture<Void> begin = CompletableFuture.runAsync(agent::beginTransaction);
    Thread.sleep(200);
    assertFalse(begin.isDone(), "a transaction cannot begin while paused");
    command("resume", "r1", 1, "");
    ack();
    begin.get(5, TimeUnit.SECONDS);
    agent.abortTransaction();
  }

  @Test
  void heartbeatsCarryCapabilitiesAndCloseWritesATombstone() throws Exception {
    start(null, 12, 100_000);
    agent.send(new ProducerRecord<>(T, "k", "v")).get();
    ObjectNode hb = (ObjectNode) Json.MAPPER.readTree(agent.heartbeatMessage().toString());
    assertEquals("java", hb.get("language").asText());
    assertEquals(6, hb.get("capabilities").size());
    assertEquals("murmur2", hb.get("partitioner").asText());
    assertEquals("running", hb.get("states").get(T).get("state").asText());
    assertNotNull(hb.get("lastWrite").get(T).get("partition"));
    assertTrue(ControlCodec.decode("agent/a1", hb.toString().getBytes(StandardCharsets.UTF_8), null).ok());
    agent.close();
    List<String> all = new ArrayList<>(io.heartbeats);
    assertEquals("TOMBSTONE agent/a1", all.get(all.size() - 1));
    agent = null;
  }
}
