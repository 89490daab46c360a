import type {TestProject} from 'vitest/node'

import {isKreorgError} from '../src/core/errors.js'
import {type LocalKafka, startLocalKafka} from '../src/local-kafka/index.js'

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string
    kafkaMode: 'external' | 'docker' | 'jars'
  }
}

/**
 * The integration and e2e projects both name this file, and vitest loads it once per project (as a
 * separate module instance), so the broker is kept on globalThis: the first project starts it, the
 * last teardown stops it.
 */
interface SharedKafka {
  kafka: Promise<LocalKafka>
  users: number
}
const SHARED = Symbol.for('kreorg.test.sharedKafka')
type SharedGlobal = typeof globalThis & {[SHARED]?: SharedKafka}

function startOnce(): Promise<LocalKafka> {
  return startLocalKafka({log: (line) => process.stdout.write(`[local-kafka] ${line}\n`)}).catch((error: unknown) => {
    // vitest prints only the message: put what to install (the suggestions) into it.
    const suggestions = isKreorgError(error) ? error.suggestions.map((s) => `\n  - ${s}`).join('') : ''
    throw new Error(`${error instanceof Error ? error.message : String(error)}${suggestions}`, {cause: error})
  })
}

/**
 * One real Kafka for the whole run (KAFKA_BROKERS from outside, else Docker, else the jars), shared
 * by every test file; tests use random topic and group names. Workers are forked after this runs,
 * so they inherit KAFKA_BROKERS; `provide` carries the same values for `inject` too.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const global = globalThis as SharedGlobal
  const first = global[SHARED] === undefined
  global[SHARED] ??= {kafka: startOnce(), users: 0}
  const shared = global[SHARED]
  shared.users++
  const kafka = await shared.kafka
  process.env.KAFKA_BROKERS = kafka.brokers
  process.env.KREORG_TEST_KAFKA_MODE = kafka.mode
  project.provide('kafkaBrokers', kafka.brokers)
  project.provide('kafkaMode', kafka.mode)
  if (first) {
    const version = kafka.mode === 'external' ? 'version not checked' : `Apache Kafka ${kafka.version}`
    process.stdout.write(`[local-kafka] tests run against ${version} (${kafka.mode}) at ${kafka.brokers}\n`)
  }
  return async () => {
    if (--shared.users > 0) return
    delete global[SHARED]
    await kafka.stop()
  }
}
