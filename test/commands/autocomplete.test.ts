import {spawn, spawnSync} from 'node:child_process'
import {promises as fs} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KafkaCluster} from '../../src/kafka/types.js'

import {BIN, runCli} from '../helpers/cli.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'

const hasShell = (shell: string) => spawnSync(shell, ['-c', 'exit 0']).status === 0

/**
 * The completion scripts as a shell runs them: a temp dir holds the generated script, a `kreorg` on
 * PATH (the built CLI) and a profile file; each case sets COMP_WORDS/COMP_CWORD the way bash does on
 * TAB (bash splits `--flag=value` at "=") and calls the function `complete -p kreorg` names.
 */
describe('kreorg autocomplete', () => {
  let cluster: KafkaCluster
  let dir: string
  const topic = randomName('complete')

  beforeAll(async () => {
    cluster = await connectTestCluster()
    await cluster.createTopic({topic, partitions: 1, replicationFactor: 1})
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kreorg-complete-'))
    await fs.mkdir(path.join(dir, 'bin'))
    await fs.writeFile(path.join(dir, 'bin', 'kreorg'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, {mode: 0o755})
    await fs.mkdir(path.join(dir, 'config', 'kreorg'), {recursive: true})
    await fs.writeFile(
      path.join(dir, 'config', 'kreorg', 'config.yaml'),
      `profiles:\n  staging:\n    brokers: [${testBrokers()}]\n  prod:\n    brokers: [10.255.255.1:9092]\n`,
    )
    for (const shell of ['bash', 'zsh', 'fish']) {
      const result = await runCli(['autocomplete', shell])
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).toBe('')
      await fs.writeFile(path.join(dir, `kreorg.${shell}`), result.stdout)
    }
  })

  afterAll(async () => {
    await cluster?.deleteTopics([topic]).catch(() => {})
    await cluster?.close()
    if (dir) await fs.rm(dir, {recursive: true, force: true})
  })

  /** What TAB offers after `words` (the last one is the word being completed), and how long it took. */
  async function complete(
    words: string[],
    env: Record<string, string | undefined> = {},
  ): Promise<{candidates: string[]; stderr: string; ms: number}> {
    const script = [
      `source ${JSON.stringify(path.join(dir, 'kreorg.bash'))}`,
      `fn=$(complete -p kreorg | sed -E 's/.*-F ([^ ]+).*/\\1/')`,
      'COMP_WORDS=("$@")',
      'COMP_CWORD=$((${#COMP_WORDS[@]} - 1))',
      'COMPREPLY=()',
      '"$fn"',
      `printf '%s\\n' "\${COMPREPLY[@]}"`,
    ].join('\n')
    const started = Date.now()
    const child = spawn('bash', ['--norc', '--noprofile', '-c', script, 'bash', ...words], {
      env: {
        ...process.env,
        PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`,
        XDG_CONFIG_HOME: path.join(dir, 'config'),
        XDG_STATE_HOME: path.join(dir, 'state'),
        KAFKA_BROKERS: undefined,
        KREORG_PROFILE: undefined,
        ...env,
      },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code, stderr).toBe(0)
    return {candidates: stdout.split('\n').filter((l) => l !== ''), stderr, ms: Date.now() - started}
  }

  it('bash: `complete -p kreorg` is registered; commands, subcommands and flags complete without a cluster', async () => {
    const registered = spawnSync(
      'bash',
      ['--norc', '-c', `source ${JSON.stringify(path.join(dir, 'kreorg.bash'))} && complete -p kreorg`],
      {encoding: 'utf8'},
    )
    expect(registered.stdout).toMatch(/^complete -F \S+ kreorg$/m)
    const [gr, config, flags, output, outputEq] = await Promise.all([
      complete(['kreorg', 'gr']),
      complete(['kreorg', 'config', '']),
      complete(['kreorg', 'lag', topic, '--wa']),
      complete(['kreorg', 'runs', '-o', '']),
      complete(['kreorg', 'audit', 'x', '--output', '=', 'y']),
    ])
    expect(gr.candidates).toEqual(['grow'])
    expect(config.candidates).toEqual(['show'])
    expect(flags.candidates).toEqual(['--watch'])
    expect(output.candidates).toEqual(['table', 'json', 'yaml'])
    expect(outputEq.candidates).toEqual(['yaml'])
  })

  it('bash: topic names come from the cluster the line names (--brokers, a profile, or KAFKA_BROKERS)', async () => {
    const prefix = topic.slice(0, -3)
    // A shared test machine can be slower than the 2 s meant for a terminal: give this lookup longer.
    const slow = {KREORG_COMPLETE_TIMEOUT_MS: '20000'}
    const [byFlag, byProfile, byEnv] = await Promise.all([
      complete(['kreorg', 'lag', '--brokers', testBrokers(), prefix], slow),
      complete(['kreorg', 'audit', '--profile', 'staging', prefix], slow),
      complete(['kreorg', 'grow', prefix], {...slow, KAFKA_BROKERS: testBrokers()}),
    ])
    for (const result of [byFlag, byProfile, byEnv]) {
      expect(result.candidates).toEqual([topic])
      expect(result.stderr).toBe('')
    }
  })

  it('bash: profile names complete from the config file, with `--profile value` and `--profile=value`', async () => {
    const [all, split] = await Promise.all([
      complete(['kreorg', 'lag', '--profile', '']),
      complete(['kreorg', 'lag', '--profile', '=', 'st']),
    ])
    expect(all.candidates).toEqual(['prod', 'staging'])
    expect(split.candidates).toEqual(['staging'])
  })

  it('bash: an unreachable cluster offers nothing, quietly, and gives up after 2 s', async () => {
    // The same walk with no network (profile names): what start-up alone costs on this machine now.
    const baseline = await complete(['kreorg', 'lag', '--profile', ''])
    const result = await complete(['kreorg', 'lag', '--profile', 'prod', ''])
    expect(result.candidates).toEqual([])
    expect(result.stderr).toBe('')
    expect(result.ms - baseline.ms).toBeLessThan(2000 + 1500)
  })

  it('__complete prints nothing and exits 0 on nonsense', async () => {
    const result = await runCli(['__complete', 'nonsense', '--', 'lag'])
    expect(result).toMatchObject({code: 0, stdout: '', stderr: ''})
  })

  /** The environment each shell runs in: the built CLI first on PATH, the test profiles, no default brokers. */
  function shellEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`,
      XDG_CONFIG_HOME: path.join(dir, 'config'),
      XDG_STATE_HOME: path.join(dir, 'state'),
      KAFKA_BROKERS: undefined,
      KREORG_PROFILE: undefined,
      KREORG_COMPLETE_TIMEOUT_MS: '20000',
      ...extra,
    }
  }

  // zsh's compadd works only inside a completion widget: stubs print what the script offers, and
  // compadd's own prefix filtering is left to the test.
  it.runIf(hasShell('zsh'))('zsh: commands, fixed values, profiles and topics (where zsh is installed)', async () => {
    const script = [
      'compdef() { :; }',
      `source ${JSON.stringify(path.join(dir, 'kreorg.zsh'))}`,
      'compset() { :; }',
      '_files() { :; }',
      'compadd() { local a arr=0; for a in "$@"; do [[ $a == -- ]] && continue; if [[ $a == -a ]]; then arr=1; continue; fi; if ((arr)); then print -rl -- "${(@P)a}"; else print -r -- "$a"; fi; done; }',
      'words=("$@"); CURRENT=${#words}; _kreorg',
    ].join('\n')
    const offered = (words: string[]) =>
      spawnSync('zsh', ['-f', '-c', script, 'zsh', ...words], {encoding: 'utf8', env: shellEnv()})
        .stdout.split('\n')
        .filter((l) => l !== '' && l.startsWith(words.at(-1)!))
    expect(offered(['kreorg', 'gr'])).toEqual(['grow'])
    expect(offered(['kreorg', 'lag', '-o', 'y'])).toEqual(['yaml'])
    expect(offered(['kreorg', 'lag', '--profile', 's'])).toEqual(['staging'])
    expect(offered(['kreorg', 'lag', '--brokers', testBrokers(), topic.slice(0, -3)])).toEqual([topic])
  })

  it.runIf(hasShell('fish'))('fish: commands, fixed values, profiles and topics (where fish is installed)', async () => {
    const offered = (line: string) =>
      spawnSync(
        'fish',
        ['--no-config', '-c', `source ${JSON.stringify(path.join(dir, 'kreorg.fish'))}; complete -C ${JSON.stringify(line)}`],
        {encoding: 'utf8', env: shellEnv()},
      )
        .stdout.split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split('\t')[0])
    expect(offered('kreorg gr')).toEqual(['grow'])
    expect(offered('kreorg config ')).toEqual(['show'])
    expect(offered('kreorg lag -o y')).toEqual(['yaml'])
    expect(offered('kreorg lag --profile s')).toEqual(['staging'])
    expect(offered(`kreorg lag --brokers ${testBrokers()} ${topic.slice(0, -3)}`)).toEqual([topic])
  })
})
