import type {Command} from '@oclif/core'

import {describe, expect, it} from 'vitest'

import {completionScript, completionSpec, defaultShell} from '../../src/cli/completion/index.js'
import {commandPrefixes, nextCommandWords} from '../../src/cli/completion/spec.js'
import {flagsFromWords, topicNames} from '../../src/cli/completion/values.js'

/** The parts of oclif's manifest entries completion reads. */
function command(id: string, flags: Record<string, object>, args: Record<string, object> = {}, hidden = false): Command.Loadable {
  const withNames = (record: Record<string, object>) => Object.fromEntries(Object.entries(record).map(([name, f]) => [name, {name, ...f}]))
  return {id, hidden, summary: `${id} summary`, flags: withNames(flags), args: withNames(args)} as unknown as Command.Loadable
}

const spec = completionSpec({
  bin: 'kreorg',
  topicSeparator: ' ',
  commands: [
    command(
      'lag',
      {
        profile: {type: 'option'},
        watch: {type: 'boolean', char: 'w'},
        output: {type: 'option', char: 'o', options: ['table', 'json', 'yaml']},
        tls: {type: 'boolean', allowNo: true},
      },
      {topic: {}},
    ),
    command('config:show', {'sasl-password-file': {type: 'option'}}),
    command('status', {'state-dir': {type: 'option'}}, {'run-id': {}}),
    command('__complete', {}, {kind: {}}, true),
  ],
})

describe('completion spec', () => {
  it('takes commands, flags and argument kinds from the manifest; hidden commands stay out', () => {
    expect(spec.commands.map((c) => c.id)).toEqual(['config show', 'lag', 'status'])
    const lag = spec.commands.find((c) => c.id === 'lag')!
    expect(lag.args).toEqual(['topics'])
    expect(lag.flags.map((f) => [f.names, f.value])).toEqual([
      [['--profile'], 'profiles'],
      [['--watch', '-w'], null],
      [['--output', '-o'], {options: ['table', 'json', 'yaml']}],
      [['--tls'], null],
      [['--no-tls'], null],
      [['--help', '-h'], null],
    ])
    expect(spec.commands.find((c) => c.id === 'config show')!.flags[0]!.value).toBe('files')
    expect(spec.commands.find((c) => c.id === 'status')!.args).toEqual(['runs'])
    expect(spec.commands.find((c) => c.id === 'status')!.flags[0]!.value).toBe('dirs')
  })

  it('walks multi-word commands one word at a time', () => {
    expect(commandPrefixes(spec)).toEqual(['', 'config'])
    expect(nextCommandWords(spec, '')).toEqual(['config', 'lag', 'status'])
    expect(nextCommandWords(spec, 'config')).toEqual(['show'])
  })

  it('generates a script per shell, registered for the bin', () => {
    expect(completionScript('bash', spec)).toContain("complete -F _kreorg 'kreorg'")
    expect(completionScript('zsh', spec)).toMatch(/^#compdef kreorg/)
    expect(completionScript('fish', spec)).toContain(
      String.raw`complete -c 'kreorg' -n '__kreorg_is '\''lag'\''; and __kreorg_arg '\''lag'\'' 0' -x -a '(__kreorg_dynamic topics)'`,
    )
    expect(defaultShell({SHELL: '/usr/bin/zsh'})).toBe('zsh')
    expect(defaultShell({SHELL: '/bin/tcsh'})).toBe('bash')
  })
})

describe('dynamic values', () => {
  const known = {profile: {type: 'option' as const}, brokers: {type: 'option' as const, char: 'b'}, tls: {type: 'boolean' as const}}

  it('reads connection flags off the line being completed, in every spelling; the last one wins', () => {
    expect(flagsFromWords(['lag', '--profile', 'a', '-b', 'h:1', 'orders', '--profile=b', '--tls'], known)).toEqual({
      profile: 'b',
      brokers: 'h:1',
      tls: true,
    })
    expect(flagsFromWords(['lag', '--no-tls', '--brokers'], known)).toEqual({tls: false})
  })

  it('topic lookup gives up quietly within its budget when the cluster never answers', async () => {
    const started = Date.now()
    // 10.255.255.1 is unroutable: only the budget ends the attempt.
    const topics = await topicNames(['lag', '--brokers', '10.255.255.1:9092'], {HOME: '/nonexistent'}, 700)
    expect(topics).toEqual([])
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('a line that cannot name a cluster offers nothing', async () => {
    expect(await topicNames(['lag', '--brokers', 'not a broker'], {HOME: '/nonexistent'}, 700)).toEqual([])
  })
})
