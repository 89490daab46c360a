import json, os, subprocess, sys, threading, time, queue, zlib, uuid
from confluent_kafka import Consumer, TopicPartition
B = os.environ["KREORG_BROKERS"]
SECRET = "s3cr3t"
topic = "orders-" + uuid.uuid4().hex[:6]
control = "ctl-" + uuid.uuid4().hex[:6]
def node(*args, secret=SECRET):
    a = list(args) + (["--secret", secret] if secret else [])
    return subprocess.run(["node", "" + os.path.join(os.path.dirname(os.path.abspath(__file__)), "ctl.mjs") + "", *a], env=dict(os.environ, KREORG_CONTROL_TOPIC=control), capture_output=True, text=True, check=True).stdout
def crc(k, n): return zlib.crc32(k.encode()) % n
node("create", topic, "4")
from confluent_kafka.admin import AdminClient, NewTopic
ADM = AdminClient({"bootstrap.servers": B}); ADM.create_topics([NewTopic(control, 1, config={"cleanup.policy": "compact", "message.timestamp.type": "LogAppendTime"})])[control].result()
time.sleep(1)
c = Consumer({"bootstrap.servers": B, "group.id": "e2e-" + uuid.uuid4().hex, "enable.auto.commit": False})
def wait_ack(state, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        m = c.poll(0.2)
        if m and not m.error() and m.key().decode().startswith("ack/"):
            v = json.loads(m.value()); print("  ack@%d" % m.offset(), json.dumps(v))
            if v["state"] == state: return v
    raise SystemExit("no ack " + state)
class Driver:
    def __init__(self, agent, txn=None):
        env = dict(os.environ, KREORG_TOPIC=topic, KREORG_CONTROL_TOPIC=control, KREORG_AGENT_ID=agent, KREORG_HEARTBEAT_MS="1000", KREORG_CONTROL_SECRET=SECRET)
        if txn: env["KREORG_TRANSACTIONAL_ID"] = txn
        self.p = subprocess.Popen([sys.executable, "-m", "kreorg_agent.conformance_driver"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.q = queue.Queue()
        threading.Thread(target=lambda: [self.q.put(json.loads(l)) for l in self.p.stdout], daemon=True).start()
    def get(self, timeout=30):
        r = self.q.get(timeout=timeout); print("  <", json.dumps(r)); return r
    def req(self, o): self.p.stdin.write(json.dumps(o) + "\n"); self.p.stdin.flush()
    def state(self):
        self.req({"op": "state", "id": -1}); return self.get()
run = "run-" + uuid.uuid4().hex[:4]
print("== unsigned pause ignored, then signed pause before the agent starts (lease 8s)")
node("write", f"lease/{topic}", json.dumps({"v":1,"type":"lease","op":"claim","topic":topic,"runId":run,"host":"e2e","pid":1,"leaseMs":8000}))
node("write", f"cmd/{topic}", json.dumps({"v":1,"type":"cmd","action":"pause","topic":topic,"runId":run,"epoch":1,"leaseExpiresAt":int(time.time()*1000)+8000,"pinPartitions":4}))
node("write", f"cmd/{topic}", json.dumps({"v":1,"type":"cmd","action":"resume","topic":topic,"runId":run,"epoch":1}), secret=None)
c.assign([TopicPartition(control, 0, 3)])
node("addparts", topic, "6")
d = Driver("py-e2e-a")
assert d.get()["op"] == "ready"
a = wait_ack("paused"); s = d.state(); assert s["state"] == "paused" and s["pinnedPartitions"] == 4, s
for i in range(4): d.req({"op": "send", "id": i, "key": f"k{i}", "value": "v"})
print("== lease lapses: agent resumes by itself on the pinned layout (4 of 6 partitions)")
got = [d.get(timeout=20) for _ in range(4)]
for g in got: assert g["op"] == "sent" and g["partition"] == crc(f"k{g['id']}", 4), g
s = d.state(); assert s["state"] == "running" and s["pinnedPartitions"] == 4 and s["partitionCount"] == 6, s
d.req({"op": "close", "id": 9}); assert d.get()["op"] == "closed"
print("== a new agent starting now starts pinned (compacted cmd still carries the pin)")
d = Driver("py-e2e-b"); assert d.get()["op"] == "ready"
s = d.state(); assert s["state"] == "running" and s["pinnedPartitions"] == 4, s
d.req({"op": "close", "id": 9}); assert d.get()["op"] == "closed"
print("== transactional: pause waits for the open transaction")
d = Driver("py-e2e-t", txn="txn-" + uuid.uuid4().hex[:4]); assert d.get()["op"] == "ready"
run2 = "run-" + uuid.uuid4().hex[:4]
node("write", f"lease/{topic}", json.dumps({"v":1,"type":"lease","op":"claim","topic":topic,"runId":run2,"host":"e2e","pid":1,"leaseMs":60000}))
d.req({"op": "begin", "id": 1}); assert d.get()["op"] == "ok"
d.req({"op": "send", "id": 2, "key": "t1", "value": "v"}); assert d.get()["op"] == "sent"
t_cmd = time.time()
node("write", f"cmd/{topic}", json.dumps({"v":1,"type":"cmd","action":"pause","topic":topic,"runId":run2,"epoch":1,"leaseExpiresAt":int(time.time()*1000)+60000}))
time.sleep(2)
m = None
d.req({"op": "send", "id": 3, "key": "t2", "value": "v"}); assert d.get()["op"] == "sent"  # in txn: not held
d.req({"op": "commit", "id": 4}); assert d.get()["op"] == "ok"; t_commit = time.time()
a = wait_ack("paused"); print("  ack %.1fs after commit" % (time.time() - t_commit))
d.req({"op": "begin", "id": 5})  # blocks while paused
try:
    d.q.get(timeout=2); raise SystemExit("begin not held")
except queue.Empty: print("  begin held while paused")
d.req({"op": "state", "id": 6}); assert d.get()["state"] == "paused"
node("write", f"cmd/{topic}", json.dumps({"v":1,"type":"cmd","action":"resume","topic":topic,"runId":run2,"epoch":1,"targetPartitions":6}))
r = d.get(); assert r["op"] == "ok" and r["id"] == 5
wait_ack("resumed")
d.req({"op": "send", "id": 7, "key": "t3", "value": "v"}); r = d.get(); assert r["partition"] == crc("t3", 6), r
d.req({"op": "commit", "id": 8}); assert d.get()["op"] == "ok"
d.req({"op": "close", "id": 9}); assert d.get()["op"] == "closed"
hb = [l for l in node("dump", f"{control}-heartbeats", "2500", secret=None).splitlines() if "py-e2e-t" in l and "null" not in l.split(" ", 4)[4][:5]]
print("heartbeat:", hb[-1][:900])
print("ALL OK")
