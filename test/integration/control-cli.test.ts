import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createProducerAgent, type ProducerAgent} from '../../src/agent/index.js'
import {ControlChannel, localHolder} from '../../src/control/channel.js'
import {createKafkaClient} from '../../src/kafka/client.js'
import {parseNdjson, runCli} from '../helpers/cli.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'

const connection = () => ({brokers: testBrokers().split(','), clientId: 'kreorg-test', connectTimeoutMs: 10_000})

describe('kreorg producers / pause / unpause (real broker, compiled CLI)', () => {
  const controlTopic = randomName('ctl')
  const topic = randomName('cli')
  const other = randomName('cli-held')
  let cluster: Awaited<ReturnType<typeof connectTestCluster>>
  let agent: ProducerAgent
  let holder: ControlChannel
  const secret = 'cli-test-secret'
  const env = {KAFKA_BROKERS: testBrokers(), KREORG_CONTROL_SECRET: secret}
  const control = ['--control-topic', controlTopic]

  beforeAll(async () => {
    cluster = await connectTestCluster()
    await cluster.createTopic({topic, partitions: 2, replicationFactor: 1})
    await cluster.createTopic({topic: other, partitions: 1, replicationFactor: 1})
    agent = await createProducerAgent({
      kafka: createKafkaClient(connection()),
      topics: [topic, other],
      controlTopic,
      secret,
      heartbeatMs: 300,
      clientId: 'orders-service',
      logger: {warn() {}},
    })
    holder = await ControlChannel.open(connection(), {controlTopic, create: true, secret})
  })

  afterAll(async () => {
    await agent?.close()
    await holder?.close()
    await cluster.deleteTopics([topic, other, controlTopic]).catch(() => {})
    await cluster.close()
  })

  it('pause acks every agent, producers shows it paused, unpause resumes it', async () => {
    const paused = await runCli(['pause', topic, '--lease', '30s', '--json', ...control], {env})
    expect(paused.stderr).toBe('')
    expect(paused.code).toBe(0)
    const [event] = parseNdjson(paused.stdout)
    expect(event).toMatchObject({event: 'paused', topic, agents: [agent.agentId]})
    expect(agent.topicState(topic).state).toBe('paused')
    expect(agent.topicState(other).state).toBe('running')

    const listed = await runCli(['producers', topic, '--json', ...control], {env})
    expect(listed.code).toBe(0)
    const view = JSON.parse(listed.stdout) as {
      agents: Array<{agentId: string; clientId: string; states: Record<string, {state: string; partitionCount: number}>}>
      lease: {runId: string}
    }
    expect(view.agents).toHaveLength(1)
    expect(view.agents[0]).toMatchObject({agentId: agent.agentId, clientId: 'orders-service'})
    expect(view.agents[0]!.states[topic]).toMatchObject({state: 'paused', partitionCount: 2})
    expect(view.lease.runId).toBe((event as {runId: string}).runId)
    const table = await runCli(['producers', topic, ...control], {env})
    expect(table.stdout).toContain(agent.agentId)
    expect(table.stdout).toMatch(/paused/)
    expect(table.stdout).not.toContain(secret)

    let sent = false
    const pending = agent.send({topic, messages: [{key: 'k', value: 'v'}]}).then(() => (sent = true))
    await new Promise((r) => setTimeout(r, 500))
    expect(sent).toBe(false)
    const resumed = await runCli(['unpause', topic, ...control], {env})
    expect(resumed.code).toBe(0)
    expect(resumed.stdout).toContain(`resumed ${topic}: 1 agent(s) acked`)
    await pending
    expect(agent.topicState(topic).state).toBe('running')
  })

  it('pause and unpause are refused with exit 6 while another run holds the lease', async () => {
    const lease = await holder.acquireLease(other, localHolder('grow-run-1'), 20_000)
    const refused = await runCli(['pause', other, '--lease', '10s', ...control], {env})
    expect(refused.code).toBe(6)
    expect(refused.stderr).toContain('grow-run-1')
    const refusedUnpause = await runCli(['unpause', other, ...control], {env})
    expect(refusedUnpause.code).toBe(6)
    expect(agent.topicState(other).state).toBe('running')
    await lease.release()
  })

  it('without the secret the agent ignores the CLI: its pause times out (exit 4)', async () => {
    const result = await runCli(['pause', topic, '--lease', '5s', '--ack-timeout', '1500ms', ...control], {
      env: {...env, KREORG_CONTROL_SECRET: ''},
    })
    expect(result.code).toBe(4)
    expect(result.stderr).toContain(agent.agentId)
    expect(agent.topicState(topic).state).toBe('running')
  })
})
