import {Kafka} from 'kafkajs'
import {describe, expect, test} from 'vitest'

import {isKafkaStreamsGroup} from '../../src/kafka/groups.js'
import {parseBatchHeaders} from '../../src/kafka/protocol/fetch-batches.js'
import {consumerGroupDescribe, describeClassicGroups} from '../../src/kafka/protocol/group-requests.js'
import {createInternalCluster} from '../../src/kafka/protocol/kafkajs-internals.js'
import {describeProducers} from '../../src/kafka/protocol/txn-requests.js'
import {Reader, Writer} from '../../src/kafka/protocol/wire.js'

/** The bytes of one message-format-v2 record batch header (61 bytes) plus `payload` bytes of records. */
function batch(fields: {
  baseOffset: number
  lastOffsetDelta: number
  producerId: number
  epoch?: number
  attributes?: number
  records?: number
  maxTimestamp?: number
  payload?: number
}): Buffer {
  const payload = fields.payload ?? 10
  const buffer = Buffer.alloc(61 + payload)
  buffer.writeBigInt64BE(BigInt(fields.baseOffset), 0)
  buffer.writeInt32BE(49 + payload, 8) // length: everything after the length field
  buffer.writeInt32BE(0, 12) // partition leader epoch
  buffer.writeInt8(2, 16) // magic
  buffer.writeInt16BE(fields.attributes ?? 0, 21)
  buffer.writeInt32BE(fields.lastOffsetDelta, 23)
  buffer.writeBigInt64BE(BigInt(fields.maxTimestamp ?? 1_700_000_000_000), 27)
  buffer.writeBigInt64BE(BigInt(fields.maxTimestamp ?? 1_700_000_000_000), 35)
  buffer.writeBigInt64BE(BigInt(fields.producerId), 43)
  buffer.writeInt16BE(fields.epoch ?? 0, 51)
  buffer.writeInt32BE(fields.records ?? fields.lastOffsetDelta + 1, 57)
  return buffer
}

async function decode<T>(request: {response: {decode(raw: Buffer): Promise<T>}}, write: (w: Writer) => void): Promise<T> {
  const writer = new Writer().tags() // response header v1
  write(writer)
  return request.response.decode(writer.encoder.buffer)
}

describe('record batch headers', () => {
  test('producer id, epoch, transactional and control flags, offsets, record count and size of each batch', () => {
    const records = Buffer.concat([
      batch({baseOffset: 0, lastOffsetDelta: 2, producerId: -1}),
      batch({baseOffset: 3, lastOffsetDelta: 0, producerId: 42, epoch: 3, attributes: 0x10, maxTimestamp: 1_800_000_000_000}),
      batch({baseOffset: 4, lastOffsetDelta: 0, producerId: 42, epoch: 3, attributes: 0x30, records: 1, payload: 6}),
    ])
    expect(parseBatchHeaders(records)).toEqual([
      {
        baseOffset: 0,
        lastOffset: 2,
        maxTimestamp: 1_700_000_000_000,
        producerId: -1,
        producerEpoch: 0,
        transactional: false,
        control: false,
        records: 3,
        sizeInBytes: 71,
      },
      {
        baseOffset: 3,
        lastOffset: 3,
        maxTimestamp: 1_800_000_000_000,
        producerId: 42,
        producerEpoch: 3,
        transactional: true,
        control: false,
        records: 1,
        sizeInBytes: 71,
      },
      {
        baseOffset: 4,
        lastOffset: 4,
        maxTimestamp: 1_700_000_000_000,
        producerId: 42,
        producerEpoch: 3,
        transactional: true,
        control: true,
        records: 1,
        sizeInBytes: 67,
      },
    ])
  })

  test('a batch cut off by the fetch size limit is left out', () => {
    const whole = batch({baseOffset: 10, lastOffsetDelta: 4, producerId: 7})
    const cut = batch({baseOffset: 15, lastOffsetDelta: 4, producerId: 7}).subarray(0, 40)
    expect(parseBatchHeaders(Buffer.concat([whole, cut])).map((b) => b.baseOffset)).toEqual([10])
    expect(parseBatchHeaders(Buffer.alloc(0))).toEqual([])
  })
})

describe('flexible request codecs', () => {
  test('ConsumerGroupDescribe v1: members with static instance id, assignment, target assignment and member type', async () => {
    const writeAssignment = (w: Writer, partitions: number[]) => {
      w.encoder.writeUVarInt(2) // one topic
      w.int32(0x07_07_07_07).int32(0x07_07_07_07).int32(0x07_07_07_07).int32(0x07_07_07_07) // topic id (uuid)
      w.string('orders')
        .array(partitions, (p, n) => p.int32(n))
        .tags()
      w.tags()
    }
    const writeMember = (m: Writer) => {
      m.string('member-1').string('static-1').string(null).int32(4).string('client').string('/10.0.0.1')
      m.array(['orders'], (a, t) => a.string(t)).string(null)
      writeAssignment(m, [0, 1])
      writeAssignment(m, [0, 1, 2])
      m.int8(1).tags()
    }
    const groups = await decode(consumerGroupDescribe(['g'], 1), (w) => {
      w.int32(0).encoder.writeUVarInt(2) // one group
      w.int16(0).string(null).string('g').string('Reconciling').int32(5).int32(5).string('uniform')
      w.encoder.writeUVarInt(2) // one member
      writeMember(w)
      w.int32(-2_147_483_648).tags()
      w.tags()
    })
    expect(groups).toHaveLength(1)
    expect(groups[0]).toMatchObject({
      errorCode: 0,
      groupId: 'g',
      groupState: 'Reconciling',
      groupEpoch: 5,
      assignmentEpoch: 5,
      assignorName: 'uniform',
    })
    expect(groups[0]!.members[0]).toMatchObject({
      memberId: 'member-1',
      instanceId: 'static-1',
      rackId: null,
      memberEpoch: 4,
      subscribedTopicNames: ['orders'],
      assignment: [{topicId: Buffer.alloc(16, 7).toString('base64url'), topicName: 'orders', partitions: [0, 1]}],
      targetAssignment: [{topicName: 'orders', partitions: [0, 1, 2]}],
      memberType: 1,
    })
  })

  test('DescribeGroups v5: a static member and the chosen assignor', async () => {
    const groups = await decode(describeClassicGroups(['g'], 5), (w) => {
      w.int32(0).encoder.writeUVarInt(2) // one group
      w.int16(0).string('g').string('Stable').string('consumer').string('stream')
      w.encoder.writeUVarInt(2) // one member
      w.string('m-1').string('instance-a').string('client').string('/h')
      w.encoder.writeUVarInt(1) // empty metadata
      w.encoder.writeUVarInt(1) // empty assignment
      w.tags()
      w.int32(0).tags()
      w.tags()
    })
    expect(groups).toEqual([
      {
        errorCode: 0,
        groupId: 'g',
        groupState: 'Stable',
        protocolType: 'consumer',
        protocolData: 'stream',
        members: [
          {memberId: 'm-1', groupInstanceId: 'instance-a', clientId: 'client', clientHost: '/h', memberAssignment: Buffer.alloc(0)},
        ],
      },
    ])
  })

  test('DescribeProducers: int64 fields as numbers, per-partition errors kept', async () => {
    const writePartition = (p: Writer, index: number) => {
      p.int32(index)
        .int16(index === 1 ? 6 : 0)
        .string(null)
      if (index === 0) {
        p.encoder.writeUVarInt(2) // one producer
        p.int64(12).int32(0).int32(7).int64(1_700_000_000_123).int32(-1).int64(-1).tags()
      } else p.encoder.writeUVarInt(1) // no producers
      p.tags()
    }
    const partitions = await decode(describeProducers('t', [0, 1]), (w) => {
      w.int32(0).encoder.writeUVarInt(2) // one topic
      w.string('t').array([0, 1], writePartition).tags()
      w.tags()
    })
    expect(partitions).toEqual([
      {
        partitionIndex: 0,
        errorCode: 0,
        errorMessage: null,
        activeProducers: [
          {
            producerId: 12,
            producerEpoch: 0,
            lastSequence: 7,
            lastTimestamp: 1_700_000_000_123,
            coordinatorEpoch: -1,
            currentTxnStartOffset: -1,
          },
        ],
      },
      {partitionIndex: 1, errorCode: 6, errorMessage: null, activeProducers: []},
    ])
  })

  test('Reader and Writer: compact strings, nullable strings, arrays, bytes, uuid', () => {
    const w = new Writer()
      .string('héllo')
      .string(null)
      .array([1, 2, 3], (a, n) => a.int32(n))
      .int64(2 ** 40)
      .tags()
    w.encoder.writeUVarInt(4) // compact bytes of length 3
    w.int8(1).int8(2).int8(3)
    const r = new Reader(w.encoder.buffer)
    expect(r.string()).toBe('héllo')
    expect(r.nullableString()).toBeNull()
    expect(r.array((a) => a.int32())).toEqual([1, 2, 3])
    expect(r.int64()).toBe(2 ** 40)
    r.tags()
    expect([...r.bytes()]).toEqual([1, 2, 3])
  })
})

describe('Kafka Streams groups', () => {
  test('streams groups and classic groups using the Streams assignor are Streams apps; plain consumers are not', () => {
    expect(isKafkaStreamsGroup({type: 'streams', protocolType: 'streams', assignor: ''})).toBe(true)
    expect(isKafkaStreamsGroup({type: 'classic', protocolType: 'consumer', assignor: 'stream'})).toBe(true)
    expect(isKafkaStreamsGroup({type: 'classic', protocolType: 'consumer', assignor: 'range'})).toBe(false)
    expect(isKafkaStreamsGroup({type: 'consumer', protocolType: 'consumer', assignor: 'uniform'})).toBe(false)
    expect(isKafkaStreamsGroup({type: 'classic', protocolType: 'connect', assignor: 'stream'})).toBe(false)
  })
})

describe('kafkajs internals', () => {
  test('the internal Cluster kreorg sends its own requests through is still where kafkajs 2.2 keeps it', () => {
    const cluster = createInternalCluster(new Kafka({brokers: ['127.0.0.1:1'], clientId: 'internals-check'}))
    expect(typeof cluster.findGroupCoordinator).toBe('function')
    expect(typeof cluster.brokerPool.refreshMetadata).toBe('function')
  })
})
