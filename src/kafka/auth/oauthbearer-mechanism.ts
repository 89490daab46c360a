import {brokerMessage, type CustomMechanism, framedRequest, rawServerBytes} from './mechanism.js'
import {SaslAuthError} from './sasl-auth-error.js'

/**
 * SASL OAUTHBEARER (RFC 7628) as a kafkajs custom mechanism rather than kafkajs's built-in one,
 * which does not finish the exchange when the broker refuses a token: the broker then answers with
 * an error document instead of an error code and waits for the client's closing %x01, kafkajs sends
 * its next request instead, and the user sees "No brokers in the broker pool". Here a refusal ends
 * the exchange properly and becomes one error naming the broker's status (invalid_token, …).
 */

const SOH = '\x01'

/** The client's first message: GS2 header without authzid, then the bearer token (RFC 7628 section 3.1). */
export function initialClientResponse(token: string): Buffer {
  return Buffer.from(`n,,${SOH}auth=Bearer ${token}${SOH}${SOH}`, 'utf8')
}

/** The `status` of the broker's error document ({"status":"invalid_token"}), never the whole text. */
function errorStatus(challenge: Buffer): string {
  try {
    const status = (JSON.parse(challenge.toString('utf8')) as {status?: unknown}).status
    return typeof status === 'string' && /^[\w.-]{1,64}$/.test(status) ? status : 'refused'
  } catch {
    return 'refused'
  }
}

export function oauthBearerMechanism(token: () => Promise<{value: string}>): CustomMechanism {
  return {
    mechanism: 'OAUTHBEARER',
    authenticationProvider: ({host, port, logger, saslAuthenticate}) => ({
      async authenticate() {
        const {value} = await token()
        let challenge: Buffer | void
        try {
          challenge = await saslAuthenticate({request: framedRequest(initialClientResponse(value)), response: rawServerBytes})
        } catch (error) {
          throw new SaslAuthError('OAUTHBEARER', `the broker refused the token: ${brokerMessage(error)}`)
        }
        if (!challenge || challenge.length === 0) {
          logger.debug('OAUTHBEARER authentication successful', {broker: `${host}:${port}`})
          return
        }
        // RFC 7628 section 3.2.3: answer the error with a lone %x01; the broker then fails the authentication.
        let detail = ''
        try {
          await saslAuthenticate({request: framedRequest(Buffer.from(SOH, 'utf8'))})
        } catch (error) {
          detail = `: ${brokerMessage(error)}`
        }
        throw new SaslAuthError('OAUTHBEARER', `the broker refused the token (${errorStatus(challenge)})${detail}`)
      },
    }),
  }
}
