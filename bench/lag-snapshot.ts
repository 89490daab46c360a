/**
 * Benchmark: one lag snapshot of a 64-partition topic read by 10, 100, 200 and 500 consumer groups.
 * `kreorg lag <topic> --json` vs Kafka's `kafka-consumer-groups --describe --all-groups`
 * (org.apache.kafka.tools.consumer.group.ConsumerGroupCommand from the broker's jars), interleaved.
 *
 * Groups get committed offsets through KafkaCluster.commitOffsets (an OffsetCommit for an empty
 * group, the same request `kafka-consumer-groups --reset-offsets` sends), 16 groups at a time.
 *
 *   npm run build && node dist/bench/lag-snapshot.js [--groups 10,100,200,500] [--reps 5]
 */
import {createKafkaClient, javaCompatiblePartitioner} from '../src/kafka/client.js'
import {KafkajsCluster} from '../src/kafka/kafkajs-cluster.js'
import {arg, type BenchContext, isMain, kafkaInfo, kafkaTool, kreorg, machine, round, runStandalone, summary} from './common.js'

const PARTITIONS = 64
const RECORDS_PER_PARTITION = 100

async function mapLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({length: Math.min(limit, items.length)}, async () => {
      while (next < items.length) await fn(items[next++]!)
    }),
  )
}

/** Group ids on `topic` in `kafka-consumer-groups --describe` output (one row per partition). */
function groupsInToolOutput(stdout: string, topic: string): number {
  const groups = new Set<string>()
  for (const line of stdout.split('\n')) {
    const cols = line.trim().split(/\s+/)
    if (cols[1] === topic) groups.add(cols[0]!)
  }
  return groups.size
}

export async function lagSnapshotBench(ctx: BenchContext): Promise<object> {
  const sizes = arg('groups', ctx.quick ? '10,50' : '10,100,200,500')
    .split(',')
    .map(Number)
    .sort((a, b) => a - b)
  const reps = Math.max(5, Number(arg('lag-reps', '5')))
  const connection = {brokers: ctx.brokers.split(','), clientId: 'kreorg-bench-lag', connectTimeoutMs: 10_000}
  const cluster = new KafkajsCluster(connection)
  await cluster.connect()
  const suffix = Math.random().toString(16).slice(2, 8)
  const topic = `bench-lag-${suffix}`
  const results = []
  try {
    await cluster.createTopic({topic, partitions: PARTITIONS, replicationFactor: 1})
    const producer = createKafkaClient(connection).producer({createPartitioner: javaCompatiblePartitioner})
    await producer.connect()
    for (let p = 0; p < PARTITIONS; p++) {
      await producer.send({
        topic,
        messages: Array.from({length: RECORDS_PER_PARTITION}, (_, i) => ({partition: p, key: `k${i}`, value: String(i)})),
      })
    }
    await producer.disconnect()
    let created = 0
    for (const size of sizes) {
      const setupStarted = Date.now()
      const ids = Array.from({length: size - created}, (_, i) => `bench-lag-${suffix}-g${String(created + i).padStart(4, '0')}`)
      await mapLimited(ids, 16, async (groupId) => {
        // Each group is somewhere in the log: lag between 0 and RECORDS_PER_PARTITION per partition.
        const offsets = Array.from({length: PARTITIONS}, (_, partition) => ({
          partition,
          offset: (partition * 7 + groupId.length * 13 + created) % (RECORDS_PER_PARTITION + 1),
        }))
        await cluster.commitOffsets(groupId, topic, offsets)
      })
      created = size
      const setupMs = Date.now() - setupStarted
      ctx.log(`lag-snapshot: ${size} groups ready (${ids.length} committed in ${setupMs}ms)`)
      const repetitions = []
      for (let rep = 1; rep <= reps; rep++) {
        const runKreorg = async () => {
          const r = await kreorg(['lag', topic, '--json', '--brokers', ctx.brokers], {timeoutMs: 300_000})
          if (r.code !== 0) throw new Error(`kreorg lag exited ${r.code}: ${r.stderr.slice(0, 500)}`)
          const groups = (JSON.parse(r.stdout) as {groups: unknown[]}).groups.length
          if (groups !== size) throw new Error(`kreorg lag saw ${groups} groups, expected ${size}`)
          return r.ms
        }
        const runTool = async () => {
          const r = await kafkaTool(ctx, 'consumerGroups', ['--bootstrap-server', ctx.brokers, '--describe', '--all-groups'], 600_000)
          if (r.code !== 0) throw new Error(`kafka-consumer-groups exited ${r.code}: ${r.stderr.slice(0, 500)}`)
          const groups = groupsInToolOutput(r.stdout, topic)
          if (groups !== size) throw new Error(`kafka-consumer-groups showed ${groups} groups on ${topic}, expected ${size}`)
          return r.ms
        }
        // Alternate which goes first so neither always follows the other's cache warm-up.
        const [kreorgMs, toolMs] =
          rep % 2 === 1
            ? [await runKreorg(), await runTool()]
            : await (async () => {
                const t = await runTool()
                return [await runKreorg(), t]
              })()
        repetitions.push({rep, kreorgMs: round(kreorgMs, 1), kafkaConsumerGroupsMs: round(toolMs, 1), ratio: round(toolMs / kreorgMs)})
        ctx.log(
          `lag-snapshot groups=${size} rep ${rep}/${reps}: kreorg lag ${round(kreorgMs, 0)}ms, kafka-consumer-groups ${round(toolMs, 0)}ms`,
        )
      }
      const kreorgSummary = summary(repetitions.map((r) => r.kreorgMs))
      const toolSummary = summary(repetitions.map((r) => r.kafkaConsumerGroupsMs))
      results.push({
        groups: size,
        partitions: PARTITIONS,
        offsetRows: size * PARTITIONS,
        setupMs,
        kreorg: kreorgSummary,
        kafkaConsumerGroups: toolSummary,
        ratio: round(toolSummary.median / kreorgSummary.median),
        kreorgMsPerThousandRows: round((kreorgSummary.median / (size * PARTITIONS)) * 1000),
        toolMsPerThousandRows: round((toolSummary.median / (size * PARTITIONS)) * 1000),
        repetitions,
      })
    }
  } finally {
    await cluster.deleteTopics([topic]).catch(() => {})
    await cluster.close()
  }
  const at200 = results.find((r) => r.groups === 200)
  return {
    kafka: kafkaInfo(ctx),
    machine: machine(),
    params: {
      partitions: PARTITIONS,
      recordsPerPartition: RECORDS_PER_PARTITION,
      groupCounts: sizes,
      repetitions: reps,
      kreorg: `kreorg lag <topic> --json --brokers <b> (spawned CLI, Node ${process.version})`,
      baseline: 'kafka-consumer-groups --bootstrap-server <b> --describe --all-groups (only the benchmark groups exist on the broker)',
      groupsAreEmpty: 'groups have committed offsets and no members (state Empty), as a group between restarts',
    },
    definition:
      'wall clock from spawn to exit; both print every group × partition row; ratio = kafka-consumer-groups / kreorg (above 1: kreorg is faster)',
    results,
    targets: at200 ? {'kreorg lag ≥ 3× faster at 200 groups × 64 partitions': at200.ratio >= 3, measuredRatio: at200.ratio} : {},
  }
}

if (isMain(import.meta.url)) runStandalone('lag-snapshot', lagSnapshotBench)
