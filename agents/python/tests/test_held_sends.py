import pytest

from kreorg_agent import HeldSendsFull, KreorgProducer
from kreorg_agent.partitioners import partition_for


class FakeProducer:
    def __init__(self):
        self.sent = []

    def produce(self, topic, value=None, key=None, partition=-1, on_delivery=None, **kw):
        self.sent.append((topic, key, value, partition))
        if on_delivery:
            on_delivery(None, None)

    def flush(self, timeout=-1):
        return 0

    def poll(self, timeout=-1):
        return 0

    def __len__(self):
        return 0


@pytest.fixture
def agent():
    a = KreorgProducer({"bootstrap.servers": "127.0.0.1:1", "partitioner": "murmur2_random"}, topics=["t"], start=False, max_held_sends=5)
    a._producer = FakeProducer()
    a._counts["t"] = 16
    yield a


def test_sends_are_held_until_open_and_released_in_order(agent):
    delivered = []
    for i in range(5):
        agent.produce("t", key=f"k{i}", value=str(i), on_delivery=lambda err, msg, i=i: delivered.append(i))
    agent.produce("other", key="x", value="direct")
    assert [s[2] for s in agent._producer.sent] == ["direct"]
    assert agent.held == 5 and len(agent) == 5
    with pytest.raises(HeldSendsFull):
        agent.produce("t", key="k6", value="6")
    gate = agent._gates["t"]
    gate.pinned = 12
    agent._open_gate(gate)
    sent = agent._producer.sent[1:]
    assert [s[2] for s in sent] == ["0", "1", "2", "3", "4"]
    assert delivered == [0, 1, 2, 3, 4]
    # held records are partitioned when released, with the pin
    assert [s[3] for s in sent] == [partition_for("murmur2", f"k{i}", 12) for i in range(5)]
    assert gate.open and agent.held == 0
    agent.produce("t", key="k9", value="9")
    assert agent._producer.sent[-1] == ("t", "k9", "9", partition_for("murmur2", "k9", 12))


def test_paused_gate_holds_and_explicit_partitions_pass(agent):
    gate = agent._gates["t"]
    agent._open_gate(gate)
    agent.produce("t", key="a", value="1", partition=15)
    assert agent._producer.sent[-1][3] == 15
    gate.paused = True
    gate.open = False
    agent.produce("t", key="b", value="2")
    assert agent.held == 1
    gate.paused = False
    gate.pinned = None
    agent._open_gate(gate)
    assert agent._producer.sent[-1] == ("t", "b", "2", partition_for("murmur2", "b", 16))


def test_close_fails_held_sends_through_their_callbacks(agent):
    errors = []
    agent.produce("t", key="a", value="1", on_delivery=lambda err, msg: errors.append((err.name(), msg.topic())))
    agent.close()
    assert errors == [("_PURGE_QUEUE", "t")]
