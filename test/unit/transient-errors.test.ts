import kafkajs from 'kafkajs'
import {describe, expect, test} from 'vitest'

import type {GrowContext} from '../../src/steps/grow/context.js'

import {isTransientKafkaError} from '../../src/kafka/errors.js'
import {alreadyGrown} from '../../src/steps/grow/partitions.js'

// kafkajs's own error classes (what the client really throws when a node dies), not look-alikes.
// Its type declarations omit some of them and their constructor shapes, hence the cast.
type ErrorClass = new (...args: unknown[]) => Error
const {KafkaJSConnectionError, KafkaJSConnectionClosedError, KafkaJSNonRetriableError, KafkaJSProtocolError} = kafkajs as unknown as Record<
  'KafkaJSConnectionError' | 'KafkaJSConnectionClosedError' | 'KafkaJSNonRetriableError' | 'KafkaJSProtocolError',
  ErrorClass
>

describe('isTransientKafkaError', () => {
  test('a node dying: reset, refused, closed connections are transient, also when kafkajs wrapped them', () => {
    expect(isTransientKafkaError(new KafkaJSConnectionError('Connection error: read ECONNRESET'))).toBe(true)
    expect(isTransientKafkaError(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1'))).toBe(true)
    expect(isTransientKafkaError(new KafkaJSConnectionClosedError('Closed connection'))).toBe(true)
    // As kafkajs's retrier hands over what it gave up on (src/retry/index.js).
    const reset = new KafkaJSConnectionError('Connection error: read ECONNRESET')
    const wrapped = new KafkaJSNonRetriableError(reset, {cause: reset})
    expect(isTransientKafkaError(wrapped)).toBe(true)
  })

  test('errors a retry would only repeat are not transient', () => {
    expect(isTransientKafkaError(new Error('Connection error: read ECONNRESET'))).toBe(false)
    expect(
      isTransientKafkaError(
        new KafkaJSProtocolError({type: 'INVALID_PARTITIONS', code: 37, retriable: false, message: 'Number of partitions is invalid'}),
      ),
    ).toBe(false)
    expect(isTransientKafkaError('ECONNRESET')).toBe(false)
  })
})

describe("add-partitions's already-done check", () => {
  // The engine runs it before the step: the test kills the controller on step:start, so this is the
  // first request to meet the dying node (fault-bugs 2b: the run failed here after ~100 ms).
  test('rides out a connection reset instead of failing the step', async () => {
    let calls = 0
    const progress: string[] = []
    const ctx = {
      inputs: {topic: 't', to: 8},
      services: {
        cluster: {
          async describeTopic() {
            calls++
            if (calls === 1) throw new KafkaJSConnectionError('Connection error: read ECONNRESET')
            return {
              name: 't',
              partitions: [0, 1, 2, 3].map((partition) => ({partition, leader: 1, replicas: [1], isr: [1], offlineReplicas: []})),
            }
          },
        },
      },
      signal: new AbortController().signal,
      progress: (message: string) => progress.push(message),
    } as unknown as GrowContext
    await expect(alreadyGrown(ctx)).resolves.toBe(false)
    expect(calls).toBe(2)
    expect(progress).toEqual(['Connection error: read ECONNRESET; retrying'])
  }, 10_000)

  test('does not retry an error that is not a failover', async () => {
    let calls = 0
    const ctx = {
      inputs: {topic: 't', to: 8},
      services: {cluster: {describeTopic: async () => (calls++, Promise.reject(new Error('boom')))}},
      signal: new AbortController().signal,
      progress() {},
    } as unknown as GrowContext
    await expect(alreadyGrown(ctx)).rejects.toThrow('boom')
    expect(calls).toBe(1)
  })
})
