"""Conformance driver (/work/plan/CONFORMANCE-DRIVER.md): one JSON request per stdin line, one JSON
reply per stdout line; logs go to stderr.

    python -m kreorg_agent.conformance_driver
"""
from __future__ import annotations

import json
import logging
import os
import queue
import sys
import threading
from typing import Any, Dict, Optional

from .agent import HeldSendsFull, KreorgProducer

_out_lock = threading.Lock()


def reply(obj: Dict[str, Any]) -> None:
    line = json.dumps(obj, separators=(",", ":"))
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def with_id(obj: Dict[str, Any], req: Dict[str, Any]) -> Dict[str, Any]:
    if "id" in req:
        obj["id"] = req["id"]
    return obj


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("KREORG_LOG_LEVEL", "INFO"),
                        format="%(asctime)s [kreorg-python-driver] %(levelname)s %(message)s")
    env = os.environ
    brokers = env["KREORG_BROKERS"]
    topic = env["KREORG_TOPIC"]
    conf: Dict[str, Any] = {"bootstrap.servers": brokers, "client.id": "kreorg-conformance-python", "linger.ms": 5}
    if env.get("KREORG_PARTITIONER"):
        conf["partitioner"] = env["KREORG_PARTITIONER"]
    transactional_id = env.get("KREORG_TRANSACTIONAL_ID")
    if transactional_id:
        conf["transactional.id"] = transactional_id
    else:
        conf["enable.idempotence"] = True
    producer = KreorgProducer(
        conf,
        topics=[topic],
        control_topic=env.get("KREORG_CONTROL_TOPIC") or "kreorg-control",
        agent_id=env.get("KREORG_AGENT_ID") or None,
        secret=env.get("KREORG_CONTROL_SECRET") or None,
        heartbeat_ms=int(env.get("KREORG_HEARTBEAT_MS") or 1000),
        max_held_sends=int(env.get("KREORG_MAX_HELD_SENDS") or 100_000),
    )
    if transactional_id:
        producer.init_transactions(30)

    stop = threading.Event()

    def poller() -> None:
        # Serves delivery callbacks (the application's poll loop).
        while not stop.is_set():
            producer.poll(0.05)

    threading.Thread(target=poller, name="driver-poll", daemon=True).start()

    # Transaction calls may block (begin waits while paused): run them off the stdin reader, in order.
    txn_ops: "queue.Queue[Optional[Dict[str, Any]]]" = queue.Queue()

    def txn_worker() -> None:
        while True:
            req = txn_ops.get()
            if req is None:
                return
            try:
                op = req["op"]
                if op == "begin":
                    producer.begin_transaction()
                elif op == "commit":
                    producer.commit_transaction(30)
                else:
                    producer.abort_transaction(30)
                reply(with_id({"op": "ok"}, req))
            except Exception as error:
                reply(with_id({"op": "error", "error": str(error), "code": type(error).__name__}, req))

    threading.Thread(target=txn_worker, name="driver-txn", daemon=True).start()
    reply({"op": "ready"})

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
        except Exception as error:
            reply({"op": "error", "error": f"bad request: {error}", "code": "BAD_REQUEST"})
            continue
        try:
            if op == "send":
                key = req.get("key")
                value = req.get("value")

                def delivered(err: Any, msg: Any, req: Dict[str, Any] = req) -> None:
                    if err is not None:
                        reply(with_id({"op": "error", "error": str(err), "code": err.name()}, req))
                    else:
                        reply(with_id({"op": "sent", "partition": msg.partition(), "offset": msg.offset()}, req))

                try:
                    producer.produce(
                        topic,
                        key=key.encode("utf-8") if isinstance(key, str) else None,
                        value=value.encode("utf-8") if isinstance(value, str) else None,
                        on_delivery=delivered,
                    )
                except HeldSendsFull as error:
                    reply(with_id({"op": "error", "error": str(error), "code": "HELD_SENDS_FULL"}, req))
                except BufferError as error:
                    reply(with_id({"op": "error", "error": str(error), "code": "QUEUE_FULL"}, req))
            elif op in ("begin", "commit", "abort"):
                txn_ops.put(req)
            elif op == "state":
                s = producer.topic_state(topic)
                reply(with_id({
                    "op": "state",
                    "state": s["state"],
                    "partitionCount": producer.partition_count(topic),
                    "pinnedPartitions": s.get("pinnedPartitions"),
                    "held": producer.held,
                }, req))
            elif op == "close":
                break_req = req
                txn_ops.put(None)
                producer.close()
                stop.set()
                reply(with_id({"op": "closed"}, break_req))
                return 0
            else:
                reply(with_id({"op": "error", "error": f"unknown op {op!r}", "code": "BAD_REQUEST"}, req))
        except Exception as error:
            logging.getLogger("kreorg_agent").exception("request failed")
            reply(with_id({"op": "error", "error": str(error), "code": type(error).__name__}, req))
    # stdin closed without a close request: shut down cleanly anyway.
    producer.close()
    stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
