import type {GrowTarget} from '../steps/grow/inputs.js'

import {KreorgError} from '../core/errors.js'

const COUNT = /^\d+$/
const PER_TOPIC = /^([A-Za-z0-9._-]+)=(\d+)$/

function count(text: string, what: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 2) throw new KreorgError('usage', `${what}: a partition count must be an integer of at least 2`)
  return n
}

/**
 * `grow a b --to 16` (every topic to 16) or `grow a b --to a=16 --to b=24` (a count per topic; a bare
 * count is the default for the topics not named). Every topic must end up with exactly one target.
 */
export function parseGrowTargets(topics: readonly string[], to: readonly string[]): GrowTarget[] {
  const flag = topics.find((t) => t.startsWith('-'))
  if (flag !== undefined) throw new KreorgError('usage', `unknown flag ${flag}`, {suggestions: ['see kreorg grow --help']})
  const seen = new Set<string>()
  for (const topic of topics) {
    if (seen.has(topic)) throw new KreorgError('usage', `${topic} is named twice; name each topic once`)
    seen.add(topic)
  }
  let fallback: number | undefined
  const explicit = new Map<string, number>()
  for (const value of to) {
    if (COUNT.test(value)) {
      if (fallback !== undefined) throw new KreorgError('usage', `--to ${value}: only one --to without a topic name is allowed`)
      fallback = count(value, `--to ${value}`)
      continue
    }
    const match = PER_TOPIC.exec(value)
    if (!match) throw new KreorgError('usage', `--to ${value}: expected a count (--to 16) or topic=count (--to orders=16)`)
    const [, topic, n] = match as unknown as [string, string, string]
    if (!seen.has(topic)) throw new KreorgError('usage', `--to ${value}: ${topic} is not one of the topics to grow (${topics.join(', ')})`)
    if (explicit.has(topic)) throw new KreorgError('usage', `--to names ${topic} twice`)
    explicit.set(topic, count(n, `--to ${value}`))
  }
  return topics.map((topic) => {
    const target = explicit.get(topic) ?? fallback
    if (target === undefined) throw new KreorgError('usage', `no --to for ${topic}: pass --to <count> or --to ${topic}=<count>`)
    return {topic, to: target}
  })
}
