import type {DynamicKind} from './spec.js'

import {type ConnectionFlags, loadConfigFile, resolveConnection} from '../../config/index.js'
import {KafkajsCluster} from '../../kafka/kafkajs-cluster.js'
import {LocalRunStore, resolveStateDir} from '../../runbook/store/index.js'
import {connectionFlags} from '../config-flags.js'

/**
 * TAB must not hang: the topic lookup (connect, metadata) gives up after this long with nothing.
 * KREORG_COMPLETE_TIMEOUT_MS changes it (a cluster behind a slow VPN).
 */
export const TOPIC_BUDGET_MS = 2000

export function topicBudgetMs(env: NodeJS.ProcessEnv): number {
  const ms = Number(env.KREORG_COMPLETE_TIMEOUT_MS)
  return Number.isFinite(ms) && ms > 0 ? ms : TOPIC_BUDGET_MS
}

/**
 * The `--name value` / `--name=value` / `-c value` flags on the command line being completed, for the
 * names in `known` (last one wins, as oclif does). Booleans: `--tls` true, `--no-tls` false.
 */
export function flagsFromWords(
  words: readonly string[],
  known: Record<string, {char?: string; type: 'boolean' | 'option'}>,
): Record<string, string | boolean> {
  const byName = new Map<string, string>()
  for (const [name, flag] of Object.entries(known)) {
    byName.set(`--${name}`, name)
    if (flag.char) byName.set(`-${flag.char}`, name)
  }
  const found: Record<string, string | boolean> = {}
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    const eq = word.indexOf('=')
    const key = eq > 0 && word.startsWith('--') ? word.slice(0, eq) : word
    if (key.startsWith('--no-') && known[key.slice(5)]?.type === 'boolean') {
      found[key.slice(5)] = false
      continue
    }
    const name = byName.get(key)
    if (!name) continue
    if (known[name]!.type === 'boolean') found[name] = true
    else if (eq > 0 && key !== word) found[name] = word.slice(eq + 1)
    else if (i + 1 < words.length) found[name] = words[++i]!
  }
  return found
}

/** Profile names from the config file; nothing when there is none or it does not parse. */
export function profileNames(env: NodeJS.ProcessEnv): string[] {
  try {
    return Object.keys(loadConfigFile(env)?.config.profiles ?? {}).sort()
  } catch {
    return []
  }
}

/**
 * Topic names from the cluster the command line would connect to (its --profile, --brokers, TLS and
 * SASL flags, else the environment and default profile), internal `__` topics left out. Gives up
 * after `budgetMs` with nothing: completion never blocks the shell and never prints an error.
 */
export async function topicNames(words: readonly string[], env: NodeJS.ProcessEnv, budgetMs = topicBudgetMs(env)): Promise<string[]> {
  const started = Date.now()
  let cluster: KafkajsCluster | undefined
  const lookup = async (): Promise<string[]> => {
    const flags = flagsFromWords(words, connectionFlags as unknown as Record<string, {char?: string; type: 'boolean' | 'option'}>)
    delete flags['connect-timeout']
    const options = resolveConnection(flags as ConnectionFlags, env)
    const remaining = Math.max(200, budgetMs - (Date.now() - started))
    cluster = new KafkajsCluster({...options, connectTimeoutMs: remaining, requestTimeoutMs: remaining})
    await cluster.connect()
    const topics = await cluster.listTopics()
    return topics.filter((t) => !t.startsWith('__')).sort()
  }
  let timer: NodeJS.Timeout | undefined
  const giveUp = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => resolve([]), budgetMs)
  })
  try {
    return await Promise.race([lookup().catch(() => []), giveUp])
  } finally {
    clearTimeout(timer)
    void cluster?.close().catch(() => {})
  }
}

/** Run ids in the local state dir (--state-dir or KREORG_STATE_DIR), newest first. */
export async function runIds(words: readonly string[]): Promise<string[]> {
  try {
    const flags = flagsFromWords(words, {'state-dir': {type: 'option'}})
    const dir = typeof flags['state-dir'] === 'string' ? flags['state-dir'] : undefined
    const runs = await new LocalRunStore(resolveStateDir(dir)).list()
    return runs.map((r) => r.runId)
  } catch {
    return []
  }
}

export async function dynamicValues(kind: DynamicKind, words: readonly string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  switch (kind) {
    case 'profiles': {
      return profileNames(env)
    }
    case 'topics': {
      return topicNames(words, env)
    }
    case 'runs': {
      return runIds(words)
    }
  }
}
