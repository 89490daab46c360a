import {describe, expect, it} from 'vitest'

import {
  amzDate,
  canonicalQueryString,
  EMPTY_PAYLOAD_SHA256,
  presign,
  sha256Hex,
  signRequest,
  uriEncode,
} from '../../src/kafka/auth/sigv4.js'

/**
 * The signer against published vectors: the AWS Signature Version 4 test suite (aws-sig-v4-test-suite,
 * the documented example credentials AKIDEXAMPLE at 20150830T123600Z, us-east-1, service "service")
 * and the presigned-URL example of the Amazon S3 API reference ("Authenticating Requests: Using
 * Query Parameters", GET /test.txt at 20130524T000000Z, 86400 s) — the same query-string signing
 * that MSK IAM uses.
 */

const SUITE_SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
const SUITE_SCOPE = {region: 'us-east-1', service: 'service', amzDate: '20150830T123600Z'}
const SUITE_HEADERS = {Host: 'example.amazonaws.com', 'X-Amz-Date': '20150830T123600Z'}

describe('SigV4 test suite', () => {
  it('get-vanilla: canonical request, string to sign and signature', () => {
    const signed = signRequest(
      {method: 'GET', path: '/', query: {}, headers: SUITE_HEADERS, payloadHash: EMPTY_PAYLOAD_SHA256},
      SUITE_SCOPE,
      SUITE_SECRET,
    )
    // get-vanilla.creq
    expect(signed.canonicalRequest).toBe(
      ['GET', '/', '', 'host:example.amazonaws.com', 'x-amz-date:20150830T123600Z', '', 'host;x-amz-date', EMPTY_PAYLOAD_SHA256].join('\n'),
    )
    // get-vanilla.sts
    expect(signed.stringToSign).toBe(
      [
        'AWS4-HMAC-SHA256',
        '20150830T123600Z',
        '20150830/us-east-1/service/aws4_request',
        'bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63',
      ].join('\n'),
    )
    // get-vanilla.authz
    expect(signed.signedHeaders).toBe('host;x-amz-date')
    expect(signed.signature).toBe('5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31')
  })

  it('get-vanilla-query-order-key-case: parameters are sorted by name', () => {
    const signed = signRequest(
      {method: 'GET', path: '/', query: {Param2: 'value2', Param1: 'value1'}, headers: SUITE_HEADERS, payloadHash: EMPTY_PAYLOAD_SHA256},
      SUITE_SCOPE,
      SUITE_SECRET,
    )
    expect(signed.canonicalRequest.split('\n')[2]).toBe('Param1=value1&Param2=value2')
    expect(signed.signature).toBe('b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500')
  })

  it('post-vanilla', () => {
    const signed = signRequest(
      {method: 'POST', path: '/', query: {}, headers: SUITE_HEADERS, payloadHash: EMPTY_PAYLOAD_SHA256},
      SUITE_SCOPE,
      SUITE_SECRET,
    )
    expect(signed.signature).toBe('5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b')
  })
})

describe('SigV4 query-string signing (presign)', () => {
  it('reproduces the S3 API reference presigned GET example', () => {
    const signed = presign({
      method: 'GET',
      host: 'examplebucket.s3.amazonaws.com',
      path: '/test.txt',
      query: {},
      payloadHash: 'UNSIGNED-PAYLOAD',
      region: 'us-east-1',
      service: 's3',
      credentials: {accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'},
      date: new Date('2013-05-24T00:00:00Z'),
      expiresSeconds: 86_400,
    })
    expect(signed.canonicalRequest).toBe(
      [
        'GET',
        '/test.txt',
        'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host',
        'host:examplebucket.s3.amazonaws.com',
        '',
        'host',
        'UNSIGNED-PAYLOAD',
      ].join('\n'),
    )
    expect(signed.stringToSign.split('\n')[3]).toBe('3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04')
    expect(signed.signature).toBe('aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404')
    expect(signed.query['X-Amz-Signature']).toBe(signed.signature)
  })
})

describe('SigV4 building blocks', () => {
  it('encodes everything but unreserved characters, including what encodeURIComponent leaves alone', () => {
    expect(uriEncode("a-b_c.d~e f/g+h=i:j!k'l(m)n*o")).toBe('a-b_c.d~e%20f%2Fg%2Bh%3Di%3Aj%21k%27l%28m%29n%2Ao')
    expect(canonicalQueryString({b: '2', a: 'x y', A: '1'})).toBe('A=1&a=x%20y&b=2')
  })

  it('formats dates and hashes the empty payload', () => {
    expect(amzDate(new Date('2015-08-30T12:36:00.123Z'))).toEqual({amzDate: '20150830T123600Z', dateStamp: '20150830'})
    expect(sha256Hex('')).toBe(EMPTY_PAYLOAD_SHA256)
  })
})
