// Regenerate: node agents/python/tests/gen-vectors.mjs > agents/python/tests/vectors.json (needs npm run build)
const m = await import('/work/main/dist/src/kafka/murmur2.js')
const p = await import('/work/main/dist/src/kafka/partitioners.js')
const codec = await import('/work/main/dist/src/control/codec.js')
const keys = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'customer-1', 'customer-2', 'order-12345', 'ü日本語🎉', 'x'.repeat(37), '\u0000\u00ff']
const bytes = [[0xff], [0x80, 0x81, 0x82], [0xde, 0xad, 0xbe, 0xef, 0x01], Array.from({length: 64}, (_, i) => (i * 37) & 0xff)]
const enc = new TextEncoder()
const hashes = [
  ...keys.map((k) => ({hex: Buffer.from(enc.encode(k)).toString('hex')})),
  ...bytes.map((b) => ({hex: Buffer.from(b).toString('hex')})),
]
for (const h of hashes) {
  const d = Buffer.from(h.hex, 'hex')
  h.murmur2 = m.murmur2(d)
  h.crc32 = p.crc32(d)
  h.murmur2_p12 = m.partitionForKey(d, 12)
  h.murmur2_p16 = m.partitionForKey(d, 16)
}
const msgs = [
  [
    'cmd/orders',
    {
      v: 1,
      type: 'cmd',
      action: 'pause',
      topic: 'orders',
      runId: 'r-1',
      epoch: 1,
      leaseExpiresAt: 1_736_244_120_000,
      pinPartitions: 12,
      at: 1_736_244_000_500,
    },
  ],
  [
    'ack/orders/a-1',
    {
      v: 1,
      type: 'ack',
      topic: 'orders',
      agentId: 'a-1',
      state: 'refreshed',
      runId: 'r',
      epoch: 2,
      partitionCount: 16,
      canary: {'customer-2': 4, 'customer-1': 11, Z: 0, a: 1, é: 2, '🎉': 3, '\uff5e': 5},
      partitioner: 'murmur2',
      at: 1,
    },
  ],
  [
    'agent/x',
    {
      v: 1,
      type: 'agent',
      agentId: 'x',
      host: 'h"\\\n\t\u0001\u2028',
      pid: 1,
      topics: ['t'],
      version: '0.1.0',
      partitioner: 'consistent_random',
      heartbeatMs: 1000,
      startedAt: 5,
      states: {t: {state: 'paused', partitionCount: 3, buffered: 0}},
      at: 9,
      nested: [1, 1.5, -2, 1e21, 1e-7, 0.1, null, true, false, {b: 1, a: [2, {d: 1, c: 0}]}],
      lastWrite: {t: {partition: 1, offset: 100}},
      capabilities: ['pause'],
      producerId: -1,
    },
  ],
]
const codecVectors = msgs.map(([key, msg]) => ({
  key,
  msg,
  canonical: codec.canonicalJson(msg),
  sig: codec.sign(key, msg, 'topsecret'),
  sig2: codec.sign(key, msg, 'p\u00e4ss'),
}))
console.log(JSON.stringify({hashes, codec: codecVectors}, null, 1))
