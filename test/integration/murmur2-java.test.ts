import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import path from 'node:path'
import {describe, expect, test} from 'vitest'

import {murmur2, partitionForKey} from '../../src/kafka/murmur2.js'
import {cachedKafkaJars, detectJava, detectMaven, ensureKafkaJars, javaCommand, type KafkaJars} from '../../src/local-kafka/index.js'
import {REPO_ROOT} from '../helpers/cli.js'

const PARTITION_COUNTS = [1, 3, 7, 12, 16, 24, 100, 1000]

/**
 * The jars hold the Java client. With a broker from the jars they are cached already; with Docker
 * they are downloaded when Java and Maven exist. Only an external cluster without cached jars (or
 * a machine without Java) skips, and says why.
 */
async function javaClientJars(): Promise<KafkaJars | string> {
  const cached = await cachedKafkaJars()
  if (cached && detectJava().ok) return cached
  if (process.env.KREORG_TEST_KAFKA_MODE === 'external' && !cached) {
    return 'KAFKA_BROKERS is set and no Kafka jars are cached: run the suite once without KAFKA_BROKERS (needs Java 17+ and Maven) to compare with the Java client'
  }
  const java = detectJava()
  const maven = detectMaven()
  if (!java.ok || !maven.ok) return `the Java comparison needs Java 17+ and Maven (${java.detail}, ${maven.detail})`
  return ensureKafkaJars()
}

const jarsOrReason = await javaClientJars()
const skipReason = typeof jarsOrReason === 'string' ? jarsOrReason : undefined
if (skipReason) process.stdout.write(`[murmur2-java] skipped: ${skipReason}\n`)

function randomInt(max: number): number {
  return randomBytes(4).readUInt32LE() % max
}

/** Random text mixing 1-, 2-, 3- and 4-byte UTF-8 characters (no lone surrogates: keys are valid strings). */
function randomUnicode(length: number): string {
  const ranges: Array<[number, number]> = [
    [0x20, 0x7e],
    [0xa0, 0x7_ff], // Latin-1 supplement .. 2-byte
    [0x8_00, 0xd7_ff], // CJK etc., 3-byte
    [0xe0_00, 0xff_fd],
    [0x1_f3_00, 0x1_fa_ff], // emoji, 4-byte
  ]
  let text = ''
  for (let i = 0; i < length; i++) {
    const [low, high] = ranges[randomInt(ranges.length)]!
    text += String.fromCodePoint(low + randomInt(high - low + 1))
  }
  return text
}

function keys(): Array<string | Uint8Array> {
  const result: Array<string | Uint8Array> = ['', new Uint8Array(0), 'a', 'order-1', 'customer-42', 'ключ', '顧客-7', '🚀', 'naïve café']
  // Every length 0..67 so each tail case (length % 4) and multi-block inputs are covered.
  for (let length = 0; length < 68; length++) result.push(randomBytes(length))
  for (let i = 0; i < 3000; i++) result.push(`key-${i}`)
  for (let i = 0; i < 2000; i++) {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/ '
    result.push(Array.from({length: 1 + randomInt(64)}, () => alphabet[randomInt(alphabet.length)]).join(''))
  }
  for (let i = 0; i < 2500; i++) result.push(randomUnicode(1 + randomInt(24)))
  for (let i = 0; i < 3000; i++) result.push(randomBytes(randomInt(300)))
  // High bytes in every position: sign extension is where ports of murmur2 usually go wrong.
  for (let i = 0; i < 200; i++) result.push(Uint8Array.from({length: 1 + (i % 13)}, () => 0x80 + randomInt(0x80)))
  return result
}

function javaMurmur(jars: KafkaJars, hexKeys: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      javaCommand(),
      ['-cp', jars.classpath, path.join(REPO_ROOT, 'test/fixtures/Murmur.java'), ...PARTITION_COUNTS.map(String)],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`java Murmur.java exited ${code}: ${stderr}`))
      else resolve(stdout.split('\n').filter((line) => line !== ''))
    })
    child.stdin.end(`${hexKeys.join('\n')}\n`)
  })
}

const title = skipReason
  ? `murmur2 against the Java client: skipped, ${skipReason}`
  : 'murmur2 against the Java client (Utils.murmur2, BuiltInPartitioner)'

describe.skipIf(skipReason !== undefined)(title, () => {
  test('agrees on >= 10,000 keys: empty, ASCII, multi-byte UTF-8, random binary', async () => {
    const jars = jarsOrReason as KafkaJars
    const all = keys()
    expect(all.length).toBeGreaterThanOrEqual(10_000)
    const bytes = all.map((key) => (typeof key === 'string' ? new TextEncoder().encode(key) : key))
    expect(bytes.some((b) => b.length === 0)).toBe(true)
    expect(bytes.some((b, i) => typeof all[i] === 'string' && b.length > (all[i] as string).length)).toBe(true) // multi-byte text present

    const rows = await javaMurmur(
      jars,
      bytes.map((b) => Buffer.from(b).toString('hex')),
    )
    expect(rows).toHaveLength(all.length)

    const mismatches: string[] = []
    all.forEach((key, index) => {
      const [javaHash, ...javaPartitions] = rows[index]!.split(' ').map(Number)
      const ours = [murmur2(bytes[index]!), ...PARTITION_COUNTS.map((count) => partitionForKey(key, count))]
      const theirs = [javaHash!, ...javaPartitions]
      if (ours.join(' ') !== theirs.join(' ') && mismatches.length < 5) {
        mismatches.push(`key ${Buffer.from(bytes[index]!).toString('hex') || '(empty)'}: ours ${ours.join(' ')}, Java ${theirs.join(' ')}`)
      }
    })
    expect(mismatches).toEqual([])
  })
})
