import {chmod, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, test} from 'vitest'

import {KreorgError} from '../../src/core/errors.js'
import {cachedKafkaJars, ensureKafkaJars, kafkaCacheDir, startLocalKafka} from '../../src/local-kafka/index.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kreorg-lk-unit-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('startLocalKafka: how the broker is chosen', () => {
  test('KAFKA_BROKERS set: that cluster, mode external, stop() is a no-op and nodes cannot be killed', async () => {
    const kafka = await startLocalKafka({env: {KAFKA_BROKERS: ' kafka-1:9092, kafka-2:9092 ', XDG_CACHE_HOME: dir}})
    expect(kafka).toMatchObject({
      mode: 'external',
      brokers: 'kafka-1:9092,kafka-2:9092',
      nodes: [
        {id: 1, address: 'kafka-1:9092'},
        {id: 2, address: 'kafka-2:9092'},
      ],
    })
    expect(kafka.toolsClasspath).toBeUndefined()
    await expect(kafka.stop()).resolves.toBeUndefined()
    await expect(kafka.killNode(1)).rejects.toThrow(/external cluster/)
  })

  test('no Java, no Maven (and mode jars): the error says exactly what to install', async () => {
    const error = await startLocalKafka({mode: 'jars', env: {PATH: dir, HOME: dir, XDG_CACHE_HOME: dir}}).catch((error_: unknown) => error_)
    expect(error).toBeInstanceOf(KreorgError)
    const {message, suggestions, exitCode} = error as KreorgError
    expect(exitCode).toBe(3)
    expect(message).toContain('java not found')
    const text = suggestions.join('\n')
    expect(text).toContain('Java 17+ and Maven')
    expect(text).toContain('Docker')
    expect(text).toContain('KAFKA_BROKERS')
  })

  test('an old Java is named as such', async () => {
    const bin = path.join(dir, 'bin')
    await mkdir(bin)
    await writeFile(path.join(bin, 'java'), '#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    await chmod(path.join(bin, 'java'), 0o755)
    const error = (await startLocalKafka({mode: 'jars', env: {PATH: bin, HOME: dir, XDG_CACHE_HOME: dir}}).catch(
      (error_: unknown) => error_,
    )) as Error
    expect(error.message).toContain('Java 11 found, 17+ needed')
  })
})

describe('the jar cache', () => {
  test('lives in $XDG_CACHE_HOME/kreorg/kafka-<version>, else ~/.cache/kreorg/kafka-<version>', () => {
    expect(kafkaCacheDir({XDG_CACHE_HOME: '/x/cache'})).toBe('/x/cache/kreorg/kafka-4.3.1')
    expect(kafkaCacheDir({})).toBe(path.join(os.homedir(), '.cache/kreorg/kafka-4.3.1'))
  })

  /**
   * A stand-in `mvn` that writes the broker jar into -DoutputDirectory and logs each call; with
   * FAKE_MVN_FAIL set it dies half way, like an interrupted download.
   */
  async function fakeMaven(): Promise<{env: NodeJS.ProcessEnv; calls: () => Promise<string[]>}> {
    const bin = path.join(dir, 'bin')
    await mkdir(bin)
    const calls = path.join(dir, 'calls')
    await writeFile(
      path.join(bin, 'mvn'),
      `#!/bin/sh
[ "$1" = "-v" ] && { echo "Apache Maven 3.9.0"; exit 0; }
for arg in "$@"; do case "$arg" in -DoutputDirectory=*) out="\${arg#-DoutputDirectory=}";; esac; done
echo "$out" >> "${calls}"
mkdir -p "$out" && echo jar > "$out/kafka_2.13-4.3.1.jar"
[ -n "$FAKE_MVN_FAIL" ] && { echo "[ERROR] Could not transfer artifact" >&2; exit 1; }
echo jar > "$out/kafka-tools-4.3.1.jar"
exit 0
`,
    )
    await chmod(path.join(bin, 'mvn'), 0o755)
    return {
      env: {PATH: `${bin}:/usr/bin:/bin`, HOME: dir, XDG_CACHE_HOME: path.join(dir, 'cache')},
      calls: async () => (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean),
    }
  }

  test('an interrupted download leaves no usable cache and is redone; a complete one is reused without Maven', async () => {
    const {env, calls} = await fakeMaven()
    await expect(ensureKafkaJars({env: {...env, FAKE_MVN_FAIL: '1'}})).rejects.toThrow(/Could not transfer artifact/)
    expect(await cachedKafkaJars(env)).toBeUndefined()

    const jars = await ensureKafkaJars({env})
    expect(jars.libDir).toBe(path.join(dir, 'cache/kreorg/kafka-4.3.1/lib'))
    expect(jars.classpath).toBe(`${jars.libDir}${path.sep}*`)
    expect(await cachedKafkaJars(env)).toEqual(jars)
    expect(await calls()).toHaveLength(2)

    await ensureKafkaJars({env})
    expect(await calls()).toHaveLength(2)
  })

  test('a lib dir without the completion marker (a download killed before it finished) is not trusted', async () => {
    const {env, calls} = await fakeMaven()
    const lib = path.join(dir, 'cache/kreorg/kafka-4.3.1/lib')
    await mkdir(lib, {recursive: true})
    await writeFile(path.join(lib, 'kafka_2.13-4.3.1.jar'), 'half')
    expect(await cachedKafkaJars(env)).toBeUndefined()
    await ensureKafkaJars({env})
    expect(await calls()).toHaveLength(1)
    expect(await readFile(path.join(lib, 'kafka-tools-4.3.1.jar'), 'utf8')).toBe('jar\n')
  })
})
