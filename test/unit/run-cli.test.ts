import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

import {CLI_BIN, NdjsonLineError, PACKAGE_ROOT, parseNdjson, runCli, type RunCliOptions} from '../../src/process/run-cli.js'

// The one CLI-spawning helper, run against a stand-in script (no build, no Kafka): what every caller
// (demo, benchmarks, tests) relies on about timeouts, environment and NDJSON reading.

const FAKE_CLI = path.join(PACKAGE_ROOT, 'test/fixtures/fake-cli.mjs')
const XDG = {configHome: '/tmp/kreorg-unit-xdg/config', stateHome: '/tmp/kreorg-unit-xdg/state'}

function run(args: string[], options: Partial<RunCliOptions> = {}) {
  return runCli(args, {bin: FAKE_CLI, timeoutMs: 10_000, xdg: XDG, ...options})
}

describe('runCli', () => {
  it('finds the package root and bin/run.js from src/ as from dist/', () => {
    expect(CLI_BIN).toBe(path.join(PACKAGE_ROOT, 'bin', 'run.js'))
    expect(PACKAGE_ROOT).toBe(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'))
  })

  it('isolated XDG dirs, FORCE_COLOR=0, caller env on top; undefined removes a variable', async () => {
    process.env.KREORG_UNIT_INHERITED = 'from-parent'
    const result = await run(['env:XDG_CONFIG_HOME', 'env:XDG_STATE_HOME', 'env:FORCE_COLOR', 'env:KREORG_UNIT_INHERITED', 'env:EXTRA'], {
      env: {EXTRA: 'x', KREORG_UNIT_INHERITED: undefined},
    })
    delete process.env.KREORG_UNIT_INHERITED
    expect(parseNdjson(result.stdout, 'fail').map((e) => e.value)).toEqual([XDG.configHome, XDG.stateHome, '0', null, 'x'])
    expect(result).toMatchObject({code: 0, signal: null, timedOut: false})
  })

  it("xdg 'inherit' leaves the parent's XDG dirs alone", async () => {
    const result = await run(['env:XDG_CONFIG_HOME'], {xdg: 'inherit', env: {XDG_CONFIG_HOME: '/parent/config'}})
    expect(parseNdjson(result.stdout, 'fail')).toEqual([{env: 'XDG_CONFIG_HOME', value: '/parent/config'}])
  })

  it('feeds `input` to stdin and closes it; without input stdin is empty, never a TTY', async () => {
    expect(parseNdjson((await run(['stdin'], {input: 'yes\n'})).stdout, 'fail')).toEqual([{stdin: 'yes\n'}])
    expect(parseNdjson((await run(['stdin'])).stdout, 'fail')).toEqual([{stdin: ''}])
  })

  it('reads NDJSON as it arrives, including an unterminated last line', async () => {
    const seen: unknown[] = []
    const result = await run(['line:{"event":"a"}', 'line:', 'line:{"event":"b"}', 'raw:{"event":"c"}'], {
      ndjson: {nonJson: 'fail', onEvent: (e) => void seen.push(e.event)},
    })
    expect(result.events).toEqual([{event: 'a'}, {event: 'b'}, {event: 'c'}])
    expect(seen).toEqual(['a', 'b', 'c'])
  })

  it("nonJson 'fail': a line that is not a JSON object rejects the run, naming the line", async () => {
    const error = await run(['line:{"event":"a"}', 'line:Warning: something', 'sleep:30000'], {ndjson: {nonJson: 'fail'}}).catch(
      (error_: unknown) => error_,
    )
    expect(error).toBeInstanceOf(NdjsonLineError)
    expect((error as Error).message).toContain('Warning: something')
    expect(() => parseNdjson('[1]\n', 'fail')).toThrow(NdjsonLineError)
  })

  it("nonJson 'skip': other lines are ignored (still in stdout and onLine)", async () => {
    const lines: string[] = []
    const result = await run(['line:starting…', 'line:{"event":"a"}', 'line:[1,2]'], {
      ndjson: {nonJson: 'skip'},
      onLine: (line) => void lines.push(line),
    })
    expect(result.events).toEqual([{event: 'a'}])
    expect(lines).toEqual(['starting…', '{"event":"a"}', '[1,2]'])
    expect(result.stdout).toBe('starting…\n{"event":"a"}\n[1,2]\n')
  })

  it('an event callback can kill the child at once (a crash at an exact point)', async () => {
    const result = await run(['line:{"event":"a"}', 'sleep:200', 'line:{"event":"kill-here"}', 'sleep:30000', 'line:{"event":"never"}'], {
      ndjson: {nonJson: 'fail', onEvent: (event, child) => event.event === 'kill-here' && child.kill('SIGKILL')},
    })
    expect(result).toMatchObject({code: null, signal: 'SIGKILL', timedOut: false})
    expect(result.events.map((e) => e.event)).toEqual(['a', 'kill-here'])
    expect(result.durationMs).toBeLessThan(25_000)
  })

  it('a run past its timeout is SIGKILLed and says so', async () => {
    const result = await run(['sleep:30000', 'line:{"event":"never"}'], {timeoutMs: 300, ndjson: {nonJson: 'fail'}})
    expect(result).toMatchObject({signal: 'SIGKILL', timedOut: true, events: []})
  })

  it('reports the exit code and stderr', async () => {
    const result = await run(['exit:3'])
    expect(result).toMatchObject({code: 3, signal: null, stdout: '', stderr: ''})
  })
})
