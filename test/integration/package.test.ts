import {execFile} from 'node:child_process'
import {existsSync, promises as fs} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KafkaCluster} from '../../src/kafka/types.js'

import {REPO_ROOT, TEST_XDG_ENV} from '../helpers/cli.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'

const run = promisify(execFile)
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** The app an operator's service would be: strict TypeScript against the installed declarations. */
const APP = `import {Kafka, logLevel} from 'kafkajs'
import {createProducerAgent, type ProducerAgent} from 'kreorg/agent'

const [brokers, topic, controlTopic] = process.argv.slice(2) as [string, string, string]
const kafka = new Kafka({clientId: 'pack-test-app', brokers: brokers.split(','), logLevel: logLevel.NOTHING})
const agent: ProducerAgent = await createProducerAgent({kafka, topics: [topic], controlTopic, agentId: 'pack-test-app-1', createControlTopic: true})
try {
  const sent = await agent.send({topic, messages: [{key: 'customer-1', value: '{}'}]})
  console.log(JSON.stringify({partition: sent[0]?.partition, expected: agent.partitionFor(topic, 'customer-1')}))
} finally {
  await agent.close()
}
`

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    // @types/node from the checkout: the installed package brings only its runtime dependencies.
    typeRoots: [path.join(REPO_ROOT, 'node_modules', '@types')],
    strict: true,
    skipLibCheck: false,
    outDir: '.',
  },
  files: ['app.ts'],
}

/**
 * The npm package as a user gets it: `npm pack` of the built checkout, installed into an empty
 * directory, then the installed `kreorg` and `kreorg/agent` used from there (nothing from the
 * checkout but tsc and @types/node). Normal commands print nothing on stderr: no update notices,
 * no warnings.
 */
describe('packaged install (npm pack → npm install → run)', () => {
  let dir: string
  let cluster: KafkaCluster
  const topic = randomName('pack')
  const controlTopic = randomName('pack-control')
  let kreorg: string

  beforeAll(async () => {
    cluster = await connectTestCluster()
    await cluster.createTopic({topic, partitions: 3, replicationFactor: 1})
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kreorg-pack-'))
    // --ignore-scripts: `prepare` would rebuild dist/ under the other tests' feet; npm test built it.
    const packed = await run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: REPO_ROOT,
      maxBuffer: 64 * 1024 * 1024,
    })
    const [info] = JSON.parse(packed.stdout) as Array<{filename: string; files: Array<{path: string}>}>
    const files = info!.files.map((f) => f.path)
    expect(files).toContain('bin/run.js')
    expect(files).toContain('oclif.manifest.json')
    expect(files.some((f) => f.startsWith('dist/test/') || f.startsWith('src/') || f.endsWith('.map'))).toBe(false)
    const app = path.join(dir, 'app')
    await fs.mkdir(app)
    await fs.writeFile(path.join(app, 'package.json'), JSON.stringify({name: 'kreorg-pack-test', private: true, type: 'module'}))
    await run(
      NPM,
      [
        'install',
        path.join(dir, info!.filename),
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--no-update-notifier',
        '--loglevel=error',
      ],
      {
        cwd: app,
        maxBuffer: 64 * 1024 * 1024,
      },
    )
    dir = app
    kreorg = path.join(dir, 'node_modules', '.bin', process.platform === 'win32' ? 'kreorg.cmd' : 'kreorg')
  }, 600_000)

  afterAll(async () => {
    await cluster?.deleteTopics([topic, controlTopic]).catch(() => {})
    await cluster?.close()
    if (dir) await fs.rm(path.dirname(dir), {recursive: true, force: true})
  })

  /** The installed CLI, outside the checkout, with the developer's profiles and state out of reach. */
  async function installed(args: string[]): Promise<{stdout: string; stderr: string}> {
    const env = {
      ...process.env,
      ...TEST_XDG_ENV,
      KREORG_ENABLE_TEST_RUNBOOKS: undefined,
      KAFKA_BROKERS: undefined,
      DEBUG: undefined,
      FORCE_COLOR: '0',
    }
    return run(kreorg, args, {cwd: dir, env, timeout: 120_000})
  }

  it('installs the CLI from the tarball, not the checkout', () => {
    expect(existsSync(kreorg)).toBe(true)
    expect(existsSync(path.join(dir, 'node_modules', 'kreorg', 'dist', 'commands', 'lag.js'))).toBe(true)
    expect(existsSync(path.join(dir, 'node_modules', 'kreorg', 'dist', 'test'))).toBe(false)
  })

  it('`kreorg --version` and `--help` print only what was asked, nothing on stderr', async () => {
    const pkg = JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {version: string}
    const version = await installed(['--version'])
    expect(version.stdout).toMatch(new RegExp(`^kreorg/${pkg.version.replaceAll('.', String.raw`\.`)} `))
    expect(version.stderr).toBe('')
    const help = await installed(['--help'])
    expect(help.stdout).toContain('COMMANDS')
    expect(help.stdout).toMatch(/^\s+lag\s/m)
    expect(help.stdout).toMatch(/^\s+autocomplete\s/m)
    expect(help.stdout).not.toContain('__complete')
    expect(help.stderr).toBe('')
  })

  it('`kreorg lag <topic> --brokers …` reads the test broker, nothing on stderr', async () => {
    const lag = await installed(['lag', topic, '--brokers', testBrokers()])
    expect(lag.stdout).toContain(`topic ${topic}: 3 partitions`)
    expect(lag.stderr).toBe('')
    const yaml = await installed(['lag', topic, '--brokers', testBrokers(), '-o', 'yaml'])
    expect(yaml.stdout).toContain(`topic: ${topic}`)
    expect(yaml.stderr).toBe('')
  })

  it('a TypeScript app compiles against the installed `kreorg/agent` types and produces through the agent', async () => {
    await fs.writeFile(path.join(dir, 'app.ts'), APP)
    await fs.writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2))
    const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    const compiled = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], {cwd: dir}).catch((error: {stdout?: string}) => {
      throw new Error(`tsc failed:\n${error.stdout ?? String(error)}`)
    })
    expect(compiled.stdout).toBe('')
    const ran = await run(process.execPath, ['app.js', testBrokers(), topic, controlTopic], {cwd: dir, timeout: 120_000})
    const result = JSON.parse(ran.stdout.trim().split('\n').pop()!) as {partition: number; expected: number}
    expect(result.partition).toBe(result.expected)
    expect(ran.stderr).toBe('')
  })
})
