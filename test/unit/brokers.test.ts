import {describe, expect, test} from 'vitest'

import {KreorgError} from '../../src/core/errors.js'
import {parseBrokers} from '../../src/kafka/brokers.js'

function usageError(raw: string | undefined): KreorgError {
  try {
    parseBrokers(raw)
  } catch (error) {
    expect(error).toBeInstanceOf(KreorgError)
    expect((error as KreorgError).exitCode).toBe(2)
    return error as KreorgError
  }
  throw new Error(`parseBrokers(${JSON.stringify(raw)}) did not throw`)
}

describe('parseBrokers', () => {
  test('accepts host:port lists, IPv4, IPv6 in brackets, and tolerates spaces and empty entries', () => {
    expect(parseBrokers('kafka-1:9092,kafka-2.internal:9093')).toEqual(['kafka-1:9092', 'kafka-2.internal:9093'])
    expect(parseBrokers(' 127.0.0.1:19092 , [::1]:9092,')).toEqual(['127.0.0.1:19092', '[::1]:9092'])
  })

  test('no brokers: names the flag and the variable', () => {
    for (const raw of [undefined, '', '   ']) {
      const error = usageError(raw)
      expect(error.suggestions.join(' ')).toContain('--brokers')
      expect(error.suggestions.join(' ')).toContain('KAFKA_BROKERS')
    }
  })

  test.each(['kafka', 'kafka:', ':9092', 'kafka:0', 'kafka:65536', 'kafka:port', 'http://kafka:9092', 'a b:9092'])(
    'rejects %j naming the entry',
    (entry) => {
      const error = usageError(`ok:9092,${entry}`)
      expect(error.message).toContain(`"${entry.trim()}"`)
    },
  )
})
