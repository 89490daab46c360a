import {setTimeout as sleep} from 'node:timers/promises'
import {z} from 'zod'

import type {Producer} from '../../src/kafka/client.js'
import type {KafkaCluster} from '../../src/kafka/types.js'
import type {Runbook, StepContext} from '../../src/runbook/types.js'

import {KreorgError} from '../../src/core/errors.js'
import {createKafkaClient} from '../../src/kafka/client.js'
import {KafkajsCluster} from '../../src/kafka/kafkajs-cluster.js'

/**
 * A runbook with real, once-only Kafka side effects, used by the engine's crash/resume tests (only
 * registered with KREORG_ENABLE_TEST_RUNBOOKS=1). It creates a topic, writes marker record "a",
 * commits offset 1 for a group, writes marker record "b". Like the real runbooks, every step re-reads
 * live state (the topic's end offset) so a step re-run after a crash does nothing twice.
 *
 * Test knobs (read at step time, so a resume can run at full speed):
 *   KREORG_TEST_STEP_DELAY_MS  sleep this long before and after each step's effect
 *   KREORG_TEST_FAIL_STEP      this step id throws after its delay (before its effect)
 *   KREORG_TEST_CONFIRM=1      create-topic asks for confirmation first (declined: exit 5)
 */

const inputsSchema = z.object({topic: z.string().min(1), group: z.string().min(1)})
export type TestMarkersInputs = z.infer<typeof inputsSchema>

export interface TestMarkersServices {
  cluster: KafkaCluster
  producer: Producer
}

type Ctx = StepContext<TestMarkersInputs, TestMarkersServices>

function delayMs(): number {
  const value = Number(process.env.KREORG_TEST_STEP_DELAY_MS ?? 0)
  return Number.isFinite(value) && value > 0 ? value : 0
}

async function pause(ctx: Ctx): Promise<void> {
  const ms = delayMs()
  if (ms > 0) await sleep(ms, undefined, {signal: ctx.signal})
}

async function around(ctx: Ctx, effect: () => Promise<unknown>): Promise<unknown> {
  ctx.progress('before effect')
  await pause(ctx)
  if (process.env.KREORG_TEST_FAIL_STEP === ctx.step) {
    throw new KreorgError('precondition', `injected failure in ${ctx.step}`, {suggestions: ['unset KREORG_TEST_FAIL_STEP']})
  }
  const result = await effect()
  ctx.progress('effect applied')
  await pause(ctx)
  return result
}

async function endOffset(ctx: Ctx): Promise<number> {
  const offsets = await ctx.services.cluster.endOffsets(ctx.inputs.topic)
  return offsets[0]?.high ?? 0
}

async function writeMarker(ctx: Ctx, marker: string): Promise<{offset: number}> {
  const [sent] = await ctx.services.producer.send({
    topic: ctx.inputs.topic,
    acks: -1,
    messages: [{key: ctx.runId, value: marker}],
  })
  return {offset: Number(sent?.baseOffset ?? -1)}
}

export const testMarkersRunbook: Runbook<TestMarkersInputs, TestMarkersServices> = {
  name: 'test-markers',
  version: 1,
  lockKey: (inputs) => inputs.topic,
  describe: (inputs) => `markers on ${inputs.topic} (group ${inputs.group})`,
  parseInputs: (raw) => inputsSchema.parse(raw),
  async setup(_inputs, env) {
    const cluster = new KafkajsCluster(env.connection)
    await cluster.connect()
    const producer = createKafkaClient(env.connection).producer({allowAutoTopicCreation: false})
    try {
      await producer.connect()
    } catch (error) {
      await cluster.close()
      throw error
    }
    return {
      services: {cluster, producer},
      async close() {
        await producer.disconnect().catch(() => {})
        await cluster.close()
      },
    }
  },
  steps: [
    {
      id: 'create-topic',
      title: 'Create the topic',
      async run(ctx) {
        if (process.env.KREORG_TEST_CONFIRM === '1' && !(await ctx.confirm(`Create topic ${ctx.inputs.topic}?`))) {
          throw new KreorgError('declined', 'declined: the topic was not created')
        }
        return around(ctx, async () => ({
          created: await ctx.services.cluster.createTopic({topic: ctx.inputs.topic, partitions: 1, replicationFactor: 1}),
        }))
      },
      async undo(ctx) {
        await ctx.services.cluster.deleteTopics([ctx.inputs.topic])
      },
    },
    {
      id: 'write-marker-a',
      title: 'Write marker record a',
      check: async (ctx) => (await endOffset(ctx)) >= 1,
      run: (ctx) => around(ctx, () => writeMarker(ctx, 'a')),
    },
    {
      id: 'commit-offset',
      title: 'Commit offset 1 for the group',
      run: (ctx) =>
        around(ctx, async () => {
          await ctx.services.cluster.commitOffsets(ctx.inputs.group, ctx.inputs.topic, [{partition: 0, offset: 1}])
          return {offset: 1}
        }),
    },
    {
      id: 'write-marker-b',
      title: 'Write marker record b',
      check: async (ctx) => (await endOffset(ctx)) >= 2,
      run: (ctx) => around(ctx, () => writeMarker(ctx, 'b')),
    },
  ],
}
