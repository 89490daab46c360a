import json
import pathlib
import zlib

import pytest

from kreorg_agent.partitioners import crc32, fnv1a, murmur2, partition_for, random_for, reported_name, to_positive

VECTORS = json.loads((pathlib.Path(__file__).parent / "vectors.json").read_text())


@pytest.mark.parametrize("v", VECTORS["hashes"], ids=lambda v: v["hex"][:16] or "empty")
def test_murmur2_matches_the_ts_implementation_validated_against_java(v):
    data = bytes.fromhex(v["hex"])
    assert murmur2(data) == v["murmur2"]
    assert partition_for("murmur2", data, 12) == v["murmur2_p12"]
    assert partition_for("murmur2_random", data, 16) == v["murmur2_p16"]


@pytest.mark.parametrize("v", VECTORS["hashes"], ids=lambda v: v["hex"][:16] or "empty")
def test_crc32_matches_zlib_and_node(v):
    data = bytes.fromhex(v["hex"])
    assert crc32(data) == v["crc32"] == (zlib.crc32(data) & 0xFFFFFFFF)


def test_consistent_partitions():
    for key in ["customer-1", "customer-2", "a", "ü"]:
        b = key.encode()
        assert partition_for("consistent_random", key, 12) == zlib.crc32(b) % 12
        assert partition_for("consistent", b, 16) == zlib.crc32(b) % 16


def test_known_java_murmur2_values():
    # Kafka's own UtilsTest.testMurmur2
    cases = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
             b"a-little-bit-longer-string": -1486304829, b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
             bytes([ord("a"), ord("b"), ord("c")]): 479470107}
    for data, expected in cases.items():
        assert murmur2(data) == expected
    assert to_positive(-1) == 0x7FFFFFFF


def test_fnv1a_reference_values():
    # FNV-1a 32 of "", "a", "foobar" is 0x811c9dc5, 0xe40c292c, 0xbf9cf968; librdkafka takes the
    # absolute value of it as an int32 (Sarama's NewHashPartitioner).
    assert fnv1a(b"") == 0x100000000 - 0x811C9DC5
    assert fnv1a(b"a") == 0x100000000 - 0xE40C292C
    assert fnv1a(b"foobar") == 0x100000000 - 0xBF9CF968


def test_random_keys():
    assert random_for("consistent_random", None) and random_for("consistent_random", b"")
    assert not random_for("consistent", b"") and not random_for("murmur2_random", b"")
    assert random_for("murmur2_random", None) and random_for("random", b"k")
    assert partition_for("consistent", None, 7) == 0
    for _ in range(50):
        assert 0 <= partition_for("consistent_random", None, 3) < 3
    assert reported_name("random") == "custom" and reported_name("fnv1a_random") == "fnv1a_random"
