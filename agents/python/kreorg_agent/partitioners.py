"""librdkafka's partitioners for keyed records, in pure Python, bit for bit.

The agent passes an explicit partition computed with these on every keyed record, so the pin and a
fresh partition count never depend on librdkafka's metadata cache, and the canary partitions it
reports are exactly what its sends do.

- ``consistent`` / ``consistent_random`` (librdkafka's default): ``crc32(key) % n``, CRC-32/ISO-HDLC
  as zlib computes it. ``consistent_random`` sends an empty or null key to a random partition.
- ``murmur2`` / ``murmur2_random``: Java's ``Utils.toPositive(Utils.murmur2(key)) % n`` (seed
  0x9747b28c). ``murmur2_random`` sends a null key to a random partition.
- ``fnv1a`` / ``fnv1a_random``: FNV-1a 32 bit, absolute value as a signed int32 (Sarama's), ``% n``.
- ``random``: unkeyed behaviour for every record; kreorg cannot predict it (reported as ``custom``).
"""
from __future__ import annotations

import random as _random
from typing import Callable, Dict, Optional, Union

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def _int32(x: int) -> int:
    x &= _MASK
    return x - 0x100000000 if x & 0x80000000 else x


def murmur2(data: bytes) -> int:
    """Java's ``org.apache.kafka.common.utils.Utils.murmur2``: a signed 32-bit int."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    length4 = length >> 2
    for i in range(length4):
        i4 = i << 2
        k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24)
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    tail = length4 << 2
    rest = length & 3
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return _int32(h)


def to_positive(n: int) -> int:
    return n & 0x7FFFFFFF


_CRC_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (0xEDB88320 ^ (_c >> 1)) if _c & 1 else (_c >> 1)
    _CRC_TABLE.append(_c)
del _n, _c


def crc32(data: bytes) -> int:
    """Unsigned CRC-32/ISO-HDLC (zlib's ``crc32``, librdkafka's ``rd_crc32``)."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def fnv1a(data: bytes) -> int:
    """librdkafka's ``rd_fnv1a``: FNV-1a 32 bit, as an int32 made non-negative (INT32_MIN stays 2^31)."""
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & _MASK
    signed = _int32(h)
    if signed < 0:
        signed = (-signed) & _MASK
    return signed


KeyType = Union[str, bytes, bytearray, memoryview, None]


def key_bytes(key: KeyType) -> Optional[bytes]:
    if key is None:
        return None
    if isinstance(key, str):
        return key.encode("utf-8")
    return bytes(key)


# name -> (hash function, random for null keys, random for empty keys)
_HASHES: Dict[str, Callable[[bytes], int]] = {
    "consistent": crc32,
    "consistent_random": crc32,
    "murmur2": lambda b: to_positive(murmur2(b)),
    "murmur2_random": lambda b: to_positive(murmur2(b)),
    "fnv1a": fnv1a,
    "fnv1a_random": fnv1a,
}

PARTITIONER_NAMES = ("random",) + tuple(_HASHES)
DEFAULT_PARTITIONER = "consistent_random"


def reported_name(partitioner: str) -> str:
    """The name put in heartbeats and acks (protocol 1.1 section B)."""
    return partitioner if partitioner in _HASHES else "custom"


def is_known(partitioner: str) -> bool:
    return partitioner in _HASHES


def random_for(partitioner: str, key: Optional[bytes]) -> bool:
    """True when librdkafka picks a random partition for this key with this partitioner."""
    if partitioner not in _HASHES:
        return True
    if partitioner == "consistent_random":
        return key is None or len(key) == 0
    if partitioner.endswith("_random"):
        return key is None
    return False


def partition_for(partitioner: str, key: KeyType, count: int, rng: Optional[_random.Random] = None) -> int:
    """The partition librdkafka's ``partitioner`` picks for ``key`` among ``count`` partitions."""
    if count <= 0:
        raise ValueError("partition count must be positive")
    data = key_bytes(key)
    if random_for(partitioner, data):
        return (rng or _random).randrange(count)
    return _HASHES[partitioner](data or b"") % count
