import json, os, subprocess, sys, threading, time, queue, zlib, uuid
from confluent_kafka import Consumer, TopicPartition
B = os.environ["KREORG_BROKERS"]
SECRET = os.environ.get("E2E_SECRET")
topic = "orders-" + uuid.uuid4().hex[:6]
control = "ctl-" + uuid.uuid4().hex[:6]
env = dict(os.environ, KREORG_TOPIC=topic, KREORG_CONTROL_TOPIC=control, KREORG_AGENT_ID="py-e2e-1", KREORG_HEARTBEAT_MS="1000")
if SECRET: env["KREORG_CONTROL_SECRET"] = SECRET
def node(*args):
    a = list(args) + (["--secret", SECRET] if SECRET else [])
    return subprocess.run(["node", "" + os.path.join(os.path.dirname(os.path.abspath(__file__)), "ctl.mjs") + "", *a], env=dict(os.environ, KREORG_CONTROL_TOPIC=control), capture_output=True, text=True, check=True).stdout
node("create", topic, "4")
t0 = time.time()
p = subprocess.Popen([sys.executable, "-m", "kreorg_agent.conformance_driver"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
replies = queue.Queue()
threading.Thread(target=lambda: [replies.put(json.loads(l)) for l in p.stdout], daemon=True).start()
def get(timeout=20):
    r = replies.get(timeout=timeout); print("  <", json.dumps(r)); return r
def req(o): print("  >", json.dumps(o)); p.stdin.write(json.dumps(o) + "\n"); p.stdin.flush()
assert get()["op"] == "ready"; print("ready after %.1fs" % (time.time() - t0))
c = Consumer({"bootstrap.servers": B, "group.id": "e2e-" + uuid.uuid4().hex, "enable.auto.commit": False})
c.assign([TopicPartition(control, 0, -2)])
def wait_ack(state, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        m = c.poll(0.2)
        if m and not m.error() and m.key().decode().startswith("ack/"):
            v = json.loads(m.value()); print("  ack@%d" % m.offset(), json.dumps(v))
            if v["state"] == state: return v
    raise SystemExit("no ack " + state)
def crc(k, n): return zlib.crc32(k.encode()) % n
print("== sends while running")
for i in range(5): req({"op": "send", "id": i, "key": f"customer-{i}", "value": f"v{i}"})
for _ in range(5):
    r = get(); assert r["op"] == "sent" and r["partition"] == crc(f"customer-{r['id']}", 4), r
run = "run-" + uuid.uuid4().hex[:4]
print("== lease + pause", run)
node("write", f"lease/{topic}", json.dumps({"v":1,"type":"lease","op":"claim","topic":topic,"runId":run,"host":"e2e","pid":1,"leaseMs":60000,"epoch":1}))
node("write", f"cmd/{topic}", json.dumps({"v":1,"type":"cmd","action":"pause","topic":topic,"runId":run,"epoch":1,"leaseExpiresAt":"now+","pinPartitions":4}))
a = wait_ack("paused"); assert a["partitionCount"] == 4 and a["partitioner"] == "consistent_random"
req({"op": "state", "id": 100}); s = get(); assert s["state"] == "paused" and s["pinnedPartitions"] == 4
print("== sends while paused are held")
for i in range(10, 16): req({"op": "send", "id": i, "key": f"customer-{i}", "value": f"v{i}"})
time.sleep(1.5)
req({"op": "state", "id": 101}); s = get(); assert s["held"] == 6, s
print("== unsigned/unauthorized commands ignored")
node("write", f"cmd/{topic}", json.dumps({"v":1,"type":"cmd","action":"resume","topic":topic,"runId":"intruder","epoch":1}))
time.sleep(1.0)
req({"op": "state", "id": 102}); s = get(); assert s["state"] == "paused" and s["held"] == 6, s
print("== add partitions 4 -> 8, refresh")
node("addparts", topic, "8")
node("write", f"cmd/{topic}", json.dumps({"v":1,"type":"cmd","action":"refresh","topic":topic,"runId":run,"epoch":1,"leaseExpiresAt":"now+","targetPartitions":8,"canaryKeys":["customer-1","customer-2","customer-3"],"pinPartitions":4}))
a = wait_ack("refreshed"); assert a["partitionCount"] == 8 and a["canary"] == {k: crc(k, 8) for k in ["customer-1","customer-2","customer-3"]}, a
print("== stale epoch ignored")
node("write", f"cmd/{topic}", json.dumps({"v":1,"type":"cmd","action":"pause","topic":topic,"runId":run,"epoch":2,"leaseExpiresAt":"now+","pinPartitions":4}))
wait_ack("paused")
node("write", f"cmd/{topic}", json.dumps({"v":1,"type":"cmd","action":"resume","topic":topic,"runId":run,"epoch":1,"targetPartitions":8}))
time.sleep(1.0)
req({"op": "state", "id": 103}); s = get(); assert s["state"] == "paused", s
print("== resume to 8")
node("write", f"cmd/{topic}", json.dumps({"v":1,"type":"cmd","action":"resume","topic":topic,"runId":run,"epoch":2,"targetPartitions":8}))
got = [get() for _ in range(6)]
a = wait_ack("resumed"); assert a["partitionCount"] == 8
assert sorted(g["id"] for g in got) == list(range(10, 16))
byp = {}
for g in sorted(got, key=lambda g: g["id"]): byp.setdefault(g["partition"], []).append(g["offset"])
assert all(v == sorted(v) for v in byp.values()), "per-partition order"
for g in got: assert g["partition"] == crc(f"customer-{g['id']}", 8), g
req({"op": "state", "id": 104}); s = get(); assert s["state"] == "running" and s["pinnedPartitions"] is None and s["partitionCount"] == 8
print("== pin to 8 then sends")
node("write", f"cmd/{topic}", json.dumps({"v":1,"type":"cmd","action":"pin","topic":topic,"runId":run,"epoch":3,"leaseExpiresAt":"now+","pinPartitions":4}))
a = wait_ack("pinned"); assert a["partitionCount"] == 4
req({"op": "send", "id": 200, "key": "customer-7", "value": "x"}); r = get(); assert r["partition"] == crc("customer-7", 4), r
print("== close")
req({"op": "close", "id": 999}); r = get(); assert r["op"] == "closed"
p.wait(10); print("driver exit", p.returncode)
print(node("dump", f"{control}-heartbeats", "2500").strip().splitlines()[-1][:300])
print("ALL OK")
