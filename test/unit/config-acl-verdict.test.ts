import {describe, expect, it} from 'vitest'

import type {AclBinding} from '../../src/kafka/types.js'

import {aclVerdict, authorizationFailure} from '../../src/kafka/acl.js'

const binding = (overrides: Partial<AclBinding>): AclBinding => ({
  resourceType: 'topic',
  resourceName: 'orders',
  patternType: 'literal',
  principal: 'User:alice',
  host: '*',
  operation: 'read',
  permission: 'allow',
  ...overrides,
})
const orders = {type: 'topic', name: 'orders'} as const

describe('aclVerdict (Kafka authorizer semantics kreorg relies on)', () => {
  it('DENY wins over ALLOW', () => {
    expect(aclVerdict([binding({}), binding({permission: 'deny', operation: 'all'})], 'User:alice', orders, 'read')).toBe('deny')
  })

  it('READ, WRITE, ALTER imply DESCRIBE; ALTER does not imply READ', () => {
    expect(aclVerdict([binding({operation: 'alter'})], 'User:alice', orders, 'describe')).toBe('allow')
    expect(aclVerdict([binding({operation: 'alter'})], 'User:alice', orders, 'read')).toBe('none')
    expect(aclVerdict([binding({operation: 'alter_configs'})], 'User:alice', orders, 'describe_configs')).toBe('allow')
  })

  it('matches prefixed and wildcard patterns and the User:* principal, not other users', () => {
    expect(aclVerdict([binding({patternType: 'prefixed', resourceName: 'ord'})], 'User:alice', orders, 'read')).toBe('allow')
    expect(aclVerdict([binding({patternType: 'prefixed', resourceName: 'pay'})], 'User:alice', orders, 'read')).toBe('none')
    expect(aclVerdict([binding({resourceName: '*', principal: 'User:*'})], 'User:alice', orders, 'read')).toBe('allow')
    expect(aclVerdict([binding({principal: 'User:bob'})], 'User:alice', orders, 'read')).toBe('none')
    expect(aclVerdict([binding({resourceType: 'group'})], 'User:alice', orders, 'read')).toBe('none')
  })

  it('finds authorization failures nested in client errors', () => {
    expect(authorizationFailure({name: 'KafkaJSAggregateError', errors: [{type: 'TOPIC_AUTHORIZATION_FAILED'}]})).toBe(
      'TOPIC_AUTHORIZATION_FAILED',
    )
    expect(authorizationFailure({cause: {type: 'GROUP_AUTHORIZATION_FAILED'}})).toBe('GROUP_AUTHORIZATION_FAILED')
    expect(authorizationFailure({type: 'INVALID_PARTITIONS'})).toBeUndefined()
  })
})
