import os, uuid, subprocess
from confluent_kafka import Producer
from kreorg_agent.partitioners import partition_for
B = os.environ["KREORG_BROKERS"]
topic = "pc-" + uuid.uuid4().hex[:6]
subprocess.run(["node", "" + os.path.join(os.path.dirname(os.path.abspath(__file__)), "ctl.mjs") + "", "create", topic, "7"], check=True, capture_output=True)
keys = [f"key-{i}" for i in range(200)] + ["", "ü日本", "a", "abcde"]
for name in ["consistent_random", "consistent", "murmur2_random", "murmur2", "fnv1a_random", "fnv1a"]:
    p = Producer({"bootstrap.servers": B, "partitioner": name})
    p.list_topics(topic, timeout=10)
    res, bad = {}, 0
    for k in keys:
        if name == "consistent_random" and k == "": continue
        p.produce(topic, key=k.encode(), value=b"x", on_delivery=lambda e, m, k=k: res.__setitem__(k, m.partition()))
    p.flush(30)
    for k, part in res.items():
        if part != partition_for(name, k.encode(), 7): bad += 1
    print(name, "checked", len(res), "mismatches", bad)
