"""KreorgProducer: a confluent_kafka.Producer that kreorg can pause, pin and resume through the
control topic (docs/control-protocol.md, protocol 1 + 1.1). A port of src/agent/index.ts.

```python
from kreorg_agent import KreorgProducer
producer = KreorgProducer({"bootstrap.servers": "broker:9092"}, topics=["orders"])
producer.produce("orders", key="customer-1", value=b"...", on_delivery=cb)
producer.poll(0)
...
producer.close()
```

Threads: a reader folds the control topic; one worker applies commands in log order (pause, refresh,
pin, resume, lapse); a timer thread heartbeats and checks lease lapses. ``produce`` never blocks: while a
managed topic is paused (or the agent is still starting) records are held in call order and handed to
librdkafka after the resume; their delivery callbacks fire after the real delivery.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import random
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional

from confluent_kafka import KafkaError, KafkaException, Message, Producer, Consumer, TopicPartition, IsolationLevel
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

from . import __version__
from .codec import (
    AGENT_ID_RE,
    CONTROL_TOPIC_CONFIG,
    DEFAULT_CONTROL_TOPIC,
    HEARTBEAT_TOPIC_CONFIG,
    PROTOCOL_VERSION,
    ack_key,
    agent_key,
    decode,
    encode,
    heartbeat_topic,
)
from .partitioners import DEFAULT_PARTITIONER, is_known, key_bytes, partition_for, random_for, reported_name
from .state import ControlState, CommandEntry, Change

log = logging.getLogger("kreorg_agent")

CAPABILITIES = ["pause", "pin", "refresh", "canary", "fence", "txn"]
INTERNAL_GROUP_PREFIX = "kreorg-internal-"

# Client settings shared by the control clients (connection and security), copied from the app's config.
_CONNECTION_PREFIXES = (
    "bootstrap.servers", "metadata.broker.list", "security.protocol", "sasl.", "ssl.", "ssl_key", "enable.ssl",
    "socket.", "broker.", "client.dns.lookup", "client.rack", "oauth_cb", "error_cb", "throttle_cb", "logger",
    "api.version", "enable.sasl", "https.",
)


class HeldSendsFull(BufferError):
    """Raised by produce() when max_held_sends records are already held by a pause."""

    code = "HELD_SENDS_FULL"


class AgentClosed(RuntimeError):
    code = "AGENT_CLOSED"


def now_ms() -> int:
    return int(time.time() * 1000)


def default_agent_id() -> str:
    host = re.sub(r"[^a-zA-Z0-9._-]", "_", socket.gethostname())[:100]
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class _Held:
    topic: str
    value: Any
    key: Any
    partition: int
    on_delivery: Optional[Callable]
    timestamp: int
    headers: Any


@dataclass
class _Gate:
    topic: str
    #: closed while starting, paused, or releasing held records
    open: bool = False
    paused: bool = False
    run_id: Optional[str] = None
    epoch: Optional[int] = None
    lease_expires_at: Optional[int] = None
    #: partition count keyed records use until a resume with targetPartitions (outlives the lease)
    pinned: Optional[int] = None
    held: Deque[_Held] = field(default_factory=deque)
    lapse_pending: bool = False


class KreorgProducer:
    """Drop-in for ``confluent_kafka.Producer`` with kreorg's pause protocol.

    :param config: the librdkafka producer config, as for ``confluent_kafka.Producer``.
    :param topics: topics this producer writes and kreorg may pause (records to other topics pass through).
    :param secret: shared HMAC secret (e.g. ``os.environ["KREORG_CONTROL_SECRET"]``).
    :param max_held_sends: hard cap of held records; produce() raises HeldSendsFull beyond it.
    :param buffer_limit: held records before a warning is logged.
    :param start: start the agent now (reads the control topic to its end before returning).
    """

    def __init__(
        self,
        config: Dict[str, Any],
        topics: Iterable[str],
        *,
        control_topic: str = DEFAULT_CONTROL_TOPIC,
        agent_id: Optional[str] = None,
        client_id: Optional[str] = None,
        secret: Optional[str] = None,
        heartbeat_ms: int = 5000,
        buffer_limit: int = 10_000,
        max_held_sends: int = 100_000,
        refresh_timeout_ms: int = 30_000,
        metadata_max_age_ms: Optional[int] = None,
        create_control_topic: bool = True,
        control_config: Optional[Dict[str, Any]] = None,
        start: bool = True,
    ) -> None:
        self.topics = list(dict.fromkeys(topics))
        if not self.topics:
            raise ValueError("kreorg agent: topics must name at least one topic")
        self.agent_id = agent_id or default_agent_id()
        if not AGENT_ID_RE.match(self.agent_id):
            raise ValueError(f"kreorg agent: invalid agent_id {self.agent_id!r}: use [a-zA-Z0-9._:-]")
        self.control_topic = control_topic
        self.heartbeat_topic = heartbeat_topic(control_topic)
        self.secret = secret or None
        self.heartbeat_ms = int(heartbeat_ms)
        self.buffer_limit = buffer_limit
        self.max_held_sends = max_held_sends
        self.refresh_timeout_ms = refresh_timeout_ms
        self.create_control_topic = create_control_topic
        conf = dict(config)
        self.partitioner = str(conf.get("partitioner", DEFAULT_PARTITIONER))
        self.partitioner_name = reported_name(self.partitioner)
        self.client_id = client_id or conf.get("client.id")
        self.metadata_max_age_ms = metadata_max_age_ms or int(conf.get("topic.metadata.refresh.interval.ms", 300_000))
        self._app_on_delivery = conf.pop("on_delivery", None) or conf.pop("delivery.report.cb", None)
        self._app_stats_cb = conf.pop("stats_cb", None)
        conf["stats_cb"] = self._on_stats
        conf.setdefault("statistics.interval.ms", max(1000, min(self.heartbeat_ms, 60_000)))
        self._transactional = bool(conf.get("transactional.id"))
        self._conf = conf
        base = {k: v for k, v in conf.items() if k.startswith(_CONNECTION_PREFIXES)}
        base.update(control_config or {})
        self._control_conf = base

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._state_lock = threading.RLock()
        self._ctl_lock = threading.Lock()
        self.state = ControlState()
        self._gates: Dict[str, _Gate] = {t: _Gate(t) for t in self.topics}
        self._counts: Dict[str, int] = {}
        self._counts_at = 0.0
        self._ready = False
        self._closed = False
        self._stopping = threading.Event()
        self._hb_wake = threading.Event()
        self._work: "queue.Queue[Optional[Callable[[], None]]]" = queue.Queue()
        self._txn_open = False
        #: topic -> partition -> highest offset written inside an ended transaction whose markers were not seen
        self._unsettled: Dict[str, Dict[int, int]] = {}
        self._last_write: Dict[str, Dict[str, int]] = {}
        self._producer_id: Optional[int] = None
        self._buffer_warned = False
        self.started_at = now_ms()
        self._threads: List[threading.Thread] = []
        self._producer: Producer = Producer(conf)
        self._consumer: Optional[Consumer] = None
        self._control_producer: Optional[Producer] = None
        self._admin: Optional[AdminClient] = None
        self._caught_up = threading.Event()
        if start:
            self.start()

    # ------------------------------------------------------------------------------------------
    # start-up

    def start(self, catch_up_timeout: float = 60.0) -> None:
        """Reads the control topic to its end (so it starts paused during a pause), then heartbeats."""
        self._admin = AdminClient(dict(self._control_conf))
        self._control_producer = Producer({**self._control_conf, "acks": "all", "linger.ms": 0, "enable.idempotence": False})
        for topic in self.topics:
            self._refresh_metadata(topic, None)
        self._ensure_topic(self.control_topic, CONTROL_TOPIC_CONFIG, self.create_control_topic)
        self._ensure_topic(self.heartbeat_topic, HEARTBEAT_TOPIC_CONFIG, True)
        self._consumer = Consumer(
            {
                **self._control_conf,
                "group.id": f"{INTERNAL_GROUP_PREFIX}control-agent-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": 100,
                "enable.partition.eof": False,
            }
        )
        tp = TopicPartition(self.control_topic, 0)
        _low, end = self._consumer.get_watermark_offsets(tp, timeout=30, cached=False)
        self._catch_up_end = end
        self._consumer.assign([TopicPartition(self.control_topic, 0, -2)])  # OFFSET_BEGINNING
        if end <= 0:
            self._caught_up.set()
        self._spawn("kreorg-control-reader", self._read_loop)
        self._spawn("kreorg-worker", self._work_loop)
        if not self._caught_up.wait(catch_up_timeout):
            raise TimeoutError(f"kreorg agent: could not read {self.control_topic} to its end within {catch_up_timeout}s")
        with self._state_lock:
            self._ready = True
            for topic in self.topics:
                entry = self.state.command(topic)
                if entry is not None:
                    self._enqueue(lambda e=entry: self._apply_command(e, True))
                self._enqueue(lambda t=topic: self._open_if_not_paused(t))
        done = threading.Event()
        self._enqueue(done.set)
        done.wait()
        self._heartbeat()
        self._spawn("kreorg-timer", self._timer_loop)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _ensure_topic(self, topic: str, config: Dict[str, str], create: bool) -> None:
        assert self._admin is not None
        md = self._admin.list_topics(timeout=30)
        if topic not in md.topics or md.topics[topic].error is not None:
            if not create:
                raise RuntimeError(f"kreorg agent: control topic {topic} does not exist")
            futures = self._admin.create_topics([NewTopic(topic, num_partitions=1, config=dict(config))], request_timeout=30)
            try:
                futures[topic].result()
            except KafkaException as error:
                if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
        deadline = time.time() + 30
        while True:
            md = self._admin.list_topics(topic, timeout=10)
            t = md.topics.get(topic)
            if t is not None and t.error is None and 0 in t.partitions and t.partitions[0].leader >= 0:
                return
            if time.time() > deadline:
                raise RuntimeError(f"kreorg agent: {topic} has no leader")
            time.sleep(0.1)

    # ------------------------------------------------------------------------------------------
    # control topic reader and worker

    def _read_loop(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        tp = TopicPartition(self.control_topic, 0)
        while not self._stopping.is_set():
            try:
                msg = consumer.poll(0.1)
            except Exception as error:  # consumer closed under us
                if self._stopping.is_set():
                    return
                log.warning("control topic poll failed: %s", error)
                time.sleep(0.5)
                continue
            if msg is None:
                if not self._caught_up.is_set():
                    try:
                        pos = consumer.position([tp])[0].offset
                        if pos >= self._catch_up_end:
                            self._caught_up.set()
                    except Exception:
                        pass
                continue
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    log.warning("control topic: %s", msg.error())
                continue
            try:
                self._on_record(msg)
            except Exception as error:
                log.warning("control topic offset %s: %s", msg.offset(), error)
            if not self._caught_up.is_set() and msg.offset() + 1 >= self._catch_up_end:
                self._caught_up.set()

    def _on_record(self, msg: Message) -> None:
        raw_key = msg.key()
        key = raw_key.decode("utf-8", "replace") if raw_key is not None else None
        decoded = decode(key, msg.value(), self.secret)
        if not decoded.ok and not re.match(r"^(ack|agent|run)/", decoded.reason):
            log.warning("control topic offset %s: ignored: %s", msg.offset(), decoded.reason)
        with self._state_lock:
            change = self.state.apply(decoded, msg.offset(), msg.timestamp()[1])
            if change is not None and self._ready:
                self._on_change(change)

    def _on_change(self, change: Change) -> None:
        if change.kind == "cmd" and change.topic in self._gates:
            entry = change.entry
            self._enqueue(lambda: self._apply_command(entry, False))
        elif change.kind == "stale-cmd" and change.topic in self._gates:
            c = change.entry.command
            log.warning(
                "ignored stale %s of %s from run %s: epoch %s is below epoch %s already seen for that run",
                c["action"], c["topic"], c["runId"], c["epoch"], change.seen_epoch,
            )
        elif change.kind == "lease" and change.topic in self._gates and change.outcome.op == "release" and change.outcome.granted:
            gate = self._gates[change.topic]
            run_id = change.lease["runId"]
            if gate.paused and gate.run_id == run_id:
                self._enqueue(lambda: self._lapse(gate, f"run {run_id} released its lease without resuming", True))

    def _enqueue(self, task: Callable[[], None]) -> None:
        self._work.put(task)

    def _work_loop(self) -> None:
        while True:
            task = self._work.get()
            if task is None:
                return
            try:
                task()
            except Exception as error:
                log.warning("control command failed: %s", error, exc_info=log.isEnabledFor(logging.DEBUG))

    # ------------------------------------------------------------------------------------------
    # the state machine

    def _pause_deadline(self, gate: _Gate) -> int:
        with self._state_lock:
            holder = self.state.holder(gate.topic)
        from_lease = holder.expires_at if holder is not None and holder.run_id == gate.run_id else 0
        return max(from_lease, gate.lease_expires_at or 0)

    def _apply_command(self, entry: CommandEntry, initial: bool) -> None:
        if self._closed:
            return
        cmd = entry.command
        gate = self._gates.get(cmd["topic"])
        if gate is None:
            return
        action = cmd["action"]
        topic = gate.topic
        if action == "resume":
            if not entry.authorized and gate.paused and gate.run_id != cmd["runId"]:
                log.warning("ignored resume of %s from run %s: it did not pause it and does not hold the lease", topic, cmd["runId"])
                return
            self._close_gate(gate)
            target = cmd.get("targetPartitions")
            count = self._refresh_metadata(topic, target)
            with self._lock:
                if target is not None:
                    gate.pinned = None
                elif cmd.get("pinPartitions") is not None:
                    gate.pinned = int(cmd["pinPartitions"])
                gate.paused = False
                gate.run_id = cmd["runId"]
                gate.epoch = int(cmd["epoch"])
                gate.lease_expires_at = None
            self._open_gate(gate)
            # A resume read at start-up was meant for agents that were paused; nobody waits for our ack.
            if not initial:
                self._ack(gate, "resumed", cmd, self.effective_partition_count(topic))
            return
        # pause / refresh / pin: only from the run holding the lease at the command's position.
        if not entry.authorized:
            log.warning("ignored %s of %s from run %s: it does not hold the topic's lease", action, topic, cmd["runId"])
            return
        if action == "pin":
            self._apply_pin(gate, cmd, initial)
            return
        with self._lock:
            gate.run_id = cmd["runId"]
            gate.epoch = int(cmd["epoch"])
            gate.lease_expires_at = cmd.get("leaseExpiresAt")
            # The pin outlives the lease: it holds until a resume with targetPartitions.
            pin = cmd.get("pinPartitions") or gate.pinned or self._counts.get(topic) or None
            if pin is not None and pin != gate.pinned:
                gate.pinned = int(pin)
                if initial:
                    log.warning("%s is pinned to %s partitions by run %s until it resumes", topic, pin, cmd["runId"])
        if self._pause_deadline(gate) <= now_ms():
            if not initial:
                log.warning("ignored %s of %s from run %s: its lease already lapsed", action, topic, cmd["runId"])
            if not gate.paused:
                self._open_gate(gate)
            return
        was_paused = gate.paused
        with self._lock:
            gate.paused = True
        self._close_gate(gate)
        if not was_paused and initial:
            log.warning("started while %s is paused by run %s: sends wait until it resumes", topic, cmd["runId"])
        if action == "pause":
            self._ack(gate, "paused", cmd, self.effective_partition_count(topic))
        else:
            target = cmd.get("targetPartitions")
            count = self._refresh_metadata(topic, target or 0)
            self._ack(gate, "refreshed", cmd, count, canary_count=target or count)
        self._hb_wake.set()

    def _apply_pin(self, gate: _Gate, cmd: Dict[str, Any], initial: bool) -> None:
        topic = gate.topic
        with self._lock:
            pin = cmd.get("pinPartitions") or gate.pinned or self._counts.get(topic) or None
            gate.pinned = int(pin) if pin else None
            if not gate.paused:
                gate.run_id = cmd["runId"]
                gate.epoch = int(cmd["epoch"])
        if initial:
            log.warning("%s is pinned to %s partitions by run %s", topic, gate.pinned, cmd["runId"])
        # Records partitioned before the pin must be written before the ack says "pinned".
        self._flush_in_flight()
        if not initial or self._pause_deadline(gate) > now_ms() or (cmd.get("leaseExpiresAt") or 0) > now_ms():
            self._ack(gate, "pinned", cmd, gate.pinned or self.partition_count(topic))
        self._hb_wake.set()

    def _open_if_not_paused(self, topic: str) -> None:
        gate = self._gates[topic]
        if not gate.paused:
            self._open_gate(gate)

    def _close_gate(self, gate: _Gate) -> None:
        """Stops new sends on the topic; waits for open transactions and in-flight sends."""
        with self._cond:
            gate.open = False
            while self._txn_open and not self._closed:
                self._cond.wait(0.5)
        self._flush_in_flight()
        self._wait_for_transaction_markers(gate.topic)

    def _flush_in_flight(self) -> None:
        while not self._closed:
            if self._producer.flush(1.0) == 0:
                return

    def _open_gate(self, gate: _Gate) -> None:
        """Hands held records to librdkafka in call order, then lets new sends through."""
        released = 0
        while not self._closed:
            wait = False
            with self._cond:
                if gate.paused:
                    return
                if not gate.held:
                    gate.open = True
                    self._buffer_warned = False
                    self._cond.notify_all()
                    break
                item = gate.held.popleft()
                try:
                    self._produce_now(item)
                    released += 1
                except BufferError:
                    gate.held.appendleft(item)
                    wait = True
                except Exception as error:  # the app already returned from produce(): report through its callback
                    self._fail(item, KafkaError(KafkaError._INVALID_ARG, str(error)))
            if wait:
                self._producer.poll(0.05)
        if released:
            log.info("%s: released %d held records", gate.topic, released)
        self._hb_wake.set()

    def _wait_for_transaction_markers(self, topic: str, timeout: float = 10.0) -> None:
        """The pause ack waits until the last stable offset is past what our ended transactions wrote."""
        with self._lock:
            partitions = dict(self._unsettled.get(topic, {}))
            self._unsettled.pop(topic, None)
        if not partitions or self._admin is None:
            return
        deadline = time.time() + timeout
        problem = "markers not visible yet"
        while partitions and time.time() < deadline and not self._closed:
            try:
                futures = self._admin.list_offsets(
                    {TopicPartition(topic, p): OffsetSpec.latest() for p in partitions},
                    isolation_level=IsolationLevel.READ_COMMITTED,
                    request_timeout=5,
                )
                for tp, future in futures.items():
                    if future.result().offset > partitions.get(tp.partition, -1):
                        partitions.pop(tp.partition, None)
                problem = f"partitions {sorted(partitions)} still end below this agent's last transaction"
            except Exception as error:
                problem = str(error)
            if partitions:
                time.sleep(0.05)
        if partitions:
            log.warning("%s: acking the pause without seeing the transaction markers within %ss (%s)", topic, timeout, problem)

    def _lapse(self, gate: _Gate, reason: str, force: bool = False) -> None:
        gate.lapse_pending = False
        if not gate.paused or self._closed:
            return
        if not force and self._pause_deadline(gate) > now_ms():
            return
        pin_note = (
            f"; keyed records keep the {gate.pinned}-partition layout until `kreorg resume {gate.run_id}` "
            f"(or `kreorg unpause {gate.topic}`) switches them"
            if gate.pinned
            else ""
        )
        log.warning("resuming %s by itself: %s%s", gate.topic, reason, pin_note)
        self._refresh_metadata(gate.topic, None)
        with self._lock:
            gate.paused = False
        self._open_gate(gate)

    def _timer_loop(self) -> None:
        next_heartbeat = time.time() + self.heartbeat_ms / 1000
        while not self._stopping.is_set():
            woke = self._hb_wake.wait(0.1)
            if self._stopping.is_set():
                return
            for gate in self._gates.values():
                if gate.paused and not gate.lapse_pending:
                    deadline = self._pause_deadline(gate)
                    if deadline <= now_ms():
                        gate.lapse_pending = True
                        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(deadline / 1000))
                        self._enqueue(lambda g=gate, w=when: self._lapse(g, f"the lease of run {g.run_id} lapsed at {w}"))
            if time.time() - self._counts_at > self.metadata_max_age_ms / 1000:
                for topic in self.topics:
                    self._refresh_metadata(topic, None)
            if woke or time.time() >= next_heartbeat:
                self._hb_wake.clear()
                self._heartbeat()
                next_heartbeat = time.time() + self.heartbeat_ms / 1000

    # ------------------------------------------------------------------------------------------
    # metadata and partitioning

    def _refresh_metadata(self, topic: str, target: Optional[int]) -> int:
        """Forces a metadata request on the producer's own handle (librdkafka then knows the new
        partitions); with a target, re-reads until it sees at least that many or the timeout passes."""
        deadline = time.time() + self.refresh_timeout_ms / 1000
        while True:
            try:
                md = self._producer.list_topics(topic, timeout=10)
                t = md.topics.get(topic)
                if t is not None and t.error is None:
                    self._counts[topic] = len(t.partitions)
                elif t is not None and t.error is not None:
                    log.warning("metadata for %s: %s", topic, t.error)
                self._counts_at = time.time()
            except Exception as error:
                log.warning("metadata refresh failed: %s", error)
            count = self._counts.get(topic, 0)
            if not target or count >= target or time.time() >= deadline or self._closed:
                return count
            time.sleep(0.2)

    def partition_count(self, topic: str) -> int:
        """Partition count the producer sees for the topic (0 when unknown)."""
        return self._counts.get(topic, 0)

    def effective_partition_count(self, topic: str) -> int:
        """The count keyed records are partitioned with: the producer's, or less while a pin holds."""
        count = self.partition_count(topic)
        gate = self._gates.get(topic)
        pinned = gate.pinned if gate else None
        return pinned if pinned is not None and (pinned < count or count == 0) else count

    def partition_for(self, topic: str, key: Any, count: Optional[int] = None) -> Optional[int]:
        """The partition this producer picks for a keyed record (a pin included); None if unpredictable."""
        if not is_known(self.partitioner):
            return None
        n = self.effective_partition_count(topic) if count is None else count
        if n <= 0 or random_for(self.partitioner, key_bytes(key)):
            return None
        return partition_for(self.partitioner, key, n)

    def _choose_partition(self, item: _Held) -> int:
        if item.partition is not None and item.partition >= 0:
            return item.partition
        gate = self._gates.get(item.topic)
        if gate is None:
            return -1
        count = self.effective_partition_count(item.topic)
        if count <= 0:
            return -1
        kb = key_bytes(item.key)
        if is_known(self.partitioner) and not random_for(self.partitioner, kb):
            return partition_for(self.partitioner, kb, count)
        # Random choice (null key, or the "random" partitioner): librdkafka's, except under a pin.
        if gate.pinned is not None:
            return random.randrange(count)
        return -1

    # ------------------------------------------------------------------------------------------
    # producing

    def _delivery(self, item: _Held, in_txn: bool) -> Callable[[Any, Any], None]:
        def on_delivery(err: Any, msg: Any) -> None:
            if err is None and msg is not None:
                part, offset = msg.partition(), msg.offset()
                if item.topic in self._gates and offset is not None and offset >= 0:
                    self._last_write[item.topic] = {"partition": part, "offset": offset}
                    if in_txn:
                        with self._lock:
                            ps = self._unsettled.setdefault(item.topic, {})
                            ps[part] = max(offset, ps.get(part, -1))
            cb = item.on_delivery or self._app_on_delivery
            if cb is not None:
                cb(err, msg)

        return on_delivery

    def _produce_now(self, item: _Held) -> None:
        kwargs: Dict[str, Any] = {"value": item.value, "key": item.key, "partition": self._choose_partition(item)}
        kwargs["on_delivery"] = self._delivery(item, self._txn_open)
        if item.timestamp:
            kwargs["timestamp"] = item.timestamp
        if item.headers is not None:
            kwargs["headers"] = item.headers
        self._producer.produce(item.topic, **kwargs)

    def _fail(self, item: _Held, error: KafkaError) -> None:
        cb = item.on_delivery or self._app_on_delivery
        if cb is None:
            return
        try:
            msg = Message(topic=item.topic, partition=item.partition if item.partition is not None else -1,
                          key=item.key if not isinstance(item.key, str) else item.key.encode(),
                          value=item.value if not isinstance(item.value, str) else item.value.encode(), error=error)
        except Exception:
            msg = None
        try:
            cb(error, msg)
        except Exception as cb_error:
            log.warning("delivery callback failed: %s", cb_error)

    def produce(self, topic: str, value: Any = None, key: Any = None, partition: int = -1, on_delivery: Optional[Callable] = None,
                callback: Optional[Callable] = None, timestamp: int = 0, headers: Any = None) -> None:
        """Like ``Producer.produce``. Never blocks: while the topic is paused the record is held (in call
        order) and handed to librdkafka after the resume; raises HeldSendsFull past max_held_sends."""
        item = _Held(topic, value, key, partition, on_delivery or callback, timestamp, headers)
        with self._lock:
            if self._closed:
                raise AgentClosed("kreorg agent is closed")
            gate = self._gates.get(topic)
            if gate is None or self._txn_open or (gate.open and not gate.held):
                self._produce_now(item)
                return
            held = sum(len(g.held) for g in self._gates.values())
            if held >= self.max_held_sends:
                raise HeldSendsFull(f"{held} records already held while {topic} is paused (max_held_sends {self.max_held_sends})")
            gate.held.append(item)
            if not self._buffer_warned and held + 1 > self.buffer_limit:
                self._buffer_warned = True
                log.warning("%d records held while paused (limit %d)", held + 1, self.buffer_limit)

    def poll(self, timeout: float = -1) -> int:
        return self._producer.poll(timeout)

    def flush(self, timeout: float = -1) -> int:
        """Waits for librdkafka's queue and for held records (they are sent after the resume)."""
        deadline = None if timeout is None or timeout < 0 else time.time() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.time())
            remaining = self._producer.flush(0.5 if left is None else min(0.5, left))
            held = self.held
            if remaining == 0 and held == 0:
                return 0
            if deadline is not None and time.time() >= deadline:
                return remaining + held
            if held:
                with self._cond:
                    self._cond.wait(0.1 if left is None else min(0.1, left))

    def __len__(self) -> int:
        return len(self._producer) + self.held

    @property
    def held(self) -> int:
        return sum(len(g.held) for g in self._gates.values())

    def list_topics(self, *args: Any, **kwargs: Any) -> Any:
        return self._producer.list_topics(*args, **kwargs)

    # transactions ------------------------------------------------------------------------------

    def init_transactions(self, *args: Any) -> None:
        self._producer.init_transactions(*args)

    def begin_transaction(self) -> None:
        """Waits (blocks) while any managed topic is paused, starting, or has held records."""
        with self._cond:
            while not self._closed and not all(g.open and not g.held for g in self._gates.values()):
                self._cond.wait(0.5)
            if self._closed:
                raise AgentClosed("kreorg agent is closed")
            self._txn_open = True
        try:
            self._producer.begin_transaction()
        except BaseException:
            self._end_txn()
            raise

    def _end_txn(self) -> None:
        with self._cond:
            self._txn_open = False
            self._cond.notify_all()

    def commit_transaction(self, *args: Any) -> None:
        try:
            self._producer.commit_transaction(*args)
        finally:
            self._end_txn()

    def abort_transaction(self, *args: Any) -> None:
        try:
            self._producer.abort_transaction(*args)
        finally:
            self._end_txn()

    def send_offsets_to_transaction(self, *args: Any, **kwargs: Any) -> None:
        self._producer.send_offsets_to_transaction(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # purge, set_sasl_credentials, ... : whatever else confluent_kafka.Producer offers.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._producer, name)

    # ------------------------------------------------------------------------------------------
    # acks, heartbeats, stats

    def _append(self, topic: str, key: str, value: Optional[bytes], timeout: float = 30.0) -> None:
        producer = self._control_producer
        assert producer is not None
        result: Dict[str, Any] = {}
        with self._ctl_lock:
            producer.produce(topic, key=key.encode("utf-8"), value=value, partition=0,
                             on_delivery=lambda err, msg: result.setdefault("err", err))
            producer.flush(timeout)
        if "err" not in result:
            raise RuntimeError(f"append to {topic} timed out")
        if result["err"] is not None:
            raise KafkaException(result["err"])

    def _ack(self, gate: _Gate, state: str, cmd: Dict[str, Any], partition_count: int, canary_count: Optional[int] = None) -> None:
        target = cmd.get("targetPartitions")
        canary: Dict[str, int] = {}
        n = canary_count or partition_count
        if n > 0 and is_known(self.partitioner):
            for key in cmd.get("canaryKeys") or []:
                p = self.partition_for(gate.topic, key, n)
                if p is not None:
                    canary[key] = p
        warning = None
        if target is not None and self.partition_count(gate.topic) < target:
            warning = f"producer sees {self.partition_count(gate.topic)} partitions, expected {target}"
            log.warning("%s: %s", gate.topic, warning)
        ack: Dict[str, Any] = {
            "v": PROTOCOL_VERSION,
            "type": "ack",
            "topic": gate.topic,
            "agentId": self.agent_id,
            "state": state,
            "runId": cmd["runId"],
            "epoch": cmd["epoch"],
            "partitionCount": partition_count,
            "partitioner": self.partitioner_name,
            "at": now_ms(),
        }
        if "canaryKeys" in cmd:
            ack["canary"] = canary
        if warning:
            ack["warning"] = warning
        key = ack_key(gate.topic, self.agent_id)
        self._append(self.control_topic, key, encode(key, ack, self.secret))
        log.info("%s: acked %s (run %s epoch %s, %d partitions)", gate.topic, state, cmd["runId"], cmd["epoch"], partition_count)

    def topic_state(self, topic: str) -> Dict[str, Any]:
        gate = self._gates[topic]
        out: Dict[str, Any] = {"state": "starting" if not self._ready else "paused" if gate.paused else "running"}
        if gate.run_id is not None:
            out["runId"] = gate.run_id
        if gate.epoch is not None:
            out["epoch"] = gate.epoch
        out["partitionCount"] = self.partition_count(topic)
        if gate.pinned is not None:
            out["pinnedPartitions"] = gate.pinned
        out["buffered"] = len(gate.held)
        return out

    def heartbeat_record(self) -> Dict[str, Any]:
        hb: Dict[str, Any] = {
            "v": PROTOCOL_VERSION,
            "type": "agent",
            "agentId": self.agent_id,
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
            "topics": list(self.topics),
            "version": __version__,
            "language": "python",
            "capabilities": list(CAPABILITIES),
            "partitioner": self.partitioner_name,
            "heartbeatMs": self.heartbeat_ms,
            "startedAt": self.started_at,
            "states": {t: self.topic_state(t) for t in self.topics},
            "at": now_ms(),
        }
        if self.client_id:
            hb["clientId"] = str(self.client_id)[:255]
        if self._producer_id is not None and self._producer_id >= 0:
            hb["producerId"] = self._producer_id
        if self._last_write:
            hb["lastWrite"] = {t: dict(w) for t, w in self._last_write.items()}
        return hb

    def _heartbeat(self) -> None:
        if self._closed or not self._ready:
            return
        key = agent_key(self.agent_id)
        try:
            self._append(self.heartbeat_topic, key, encode(key, self.heartbeat_record(), self.secret))
        except Exception as error:
            log.warning("heartbeat failed: %s", error)

    def _on_stats(self, stats_json: str) -> None:
        try:
            eos = json.loads(stats_json).get("eos") or {}
            pid = eos.get("producer_id")
            if isinstance(pid, int):
                self._producer_id = pid
        except Exception:
            pass
        if self._app_stats_cb is not None:
            self._app_stats_cb(stats_json)

    @property
    def producer_id(self) -> Optional[int]:
        return self._producer_id

    # ------------------------------------------------------------------------------------------

    def close(self, timeout: float = 30.0) -> None:
        """Flushes in-flight sends, writes the heartbeat tombstone and stops. Records still held by a
        pause are not sent: their delivery callbacks get a _PURGE_QUEUE error."""
        if self._closed:
            return
        self._stopping.set()
        self._producer.flush(timeout)
        with self._cond:
            self._closed = True
            held = [item for g in self._gates.values() for item in g.held]
            for g in self._gates.values():
                g.held.clear()
            self._cond.notify_all()
        for item in held:
            self._fail(item, KafkaError(KafkaError._PURGE_QUEUE, "kreorg agent closed while the send was held by a pause; the record was not sent"))
        if held:
            log.warning("closed with %d records held by a pause: they were not sent", len(held))
        self._work.put(None)
        if self._ready and self._control_producer is not None:
            try:
                self._append(self.heartbeat_topic, agent_key(self.agent_id), None, timeout=10)
            except Exception as error:
                log.warning("heartbeat tombstone failed: %s", error)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(5)
        if self._consumer is not None:
            try:
                self._consumer.close()
            except Exception:
                pass
        self._producer.flush(1)

    def __enter__(self) -> "KreorgProducer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
