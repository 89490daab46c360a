import {Flags} from '@oclif/core'

import {DEFAULT_CLIENT_ID, DEFAULT_CONNECT_TIMEOUT_MS} from '../config/resolve.js'
import {durationFlag} from './duration.js'

/**
 * `KafkaCommand`'s connection flags. None has an oclif `default` or `env`: the resolver
 * (src/config/resolve.ts) applies env vars, the profile and defaults itself, so it knows which layer
 * each value came from (flags > env > profile > default) and `kreorg config show` can say so.
 * There is deliberately no flag that takes a password, token or client secret.
 */
export const connectionFlags = {
  profile: Flags.string({
    description: 'connection profile from $XDG_CONFIG_HOME/kreorg/config.yaml (env KREORG_PROFILE)',
    helpGroup: 'CONNECTION',
  }),
  brokers: Flags.string({
    char: 'b',
    description: 'Kafka bootstrap brokers, host:port[,host:port] (env KAFKA_BROKERS)',
    helpGroup: 'CONNECTION',
  }),
  'client-id': Flags.string({description: `Kafka client id [default: ${DEFAULT_CLIENT_ID}]`, helpGroup: 'CONNECTION'}),
  'connect-timeout': durationFlag({
    description: `give up reaching the cluster after this long [default: ${DEFAULT_CONNECT_TIMEOUT_MS / 1000}s]`,
    helpGroup: 'CONNECTION',
  }),
  tls: Flags.boolean({
    description: 'connect with TLS (implied by --tls-ca/--tls-cert; --no-tls turns it off) (env KAFKA_TLS)',
    allowNo: true,
    helpGroup: 'CONNECTION',
  }),
  'tls-ca': Flags.string({
    description: "PEM file with the CA that signed the brokers' certificates (env KAFKA_TLS_CA_FILE)",
    helpGroup: 'CONNECTION',
  }),
  'tls-cert': Flags.string({description: 'PEM client certificate for mutual TLS (env KAFKA_TLS_CERT_FILE)', helpGroup: 'CONNECTION'}),
  'tls-key': Flags.string({description: 'PEM private key of --tls-cert (env KAFKA_TLS_KEY_FILE)', helpGroup: 'CONNECTION'}),
  'sasl-mechanism': Flags.string({
    description: 'SASL mechanism: plain, scram-sha-256, scram-sha-512, oauthbearer or aws-msk-iam (env KAFKA_SASL_MECHANISM)',
    helpGroup: 'CONNECTION',
  }),
  'sasl-username': Flags.string({description: 'SASL username (env KAFKA_SASL_USERNAME)', helpGroup: 'CONNECTION'}),
  'sasl-password-env': Flags.string({
    description: 'name of the environment variable holding the SASL password (default: KAFKA_SASL_PASSWORD)',
    helpValue: '<NAME>',
    helpGroup: 'CONNECTION',
  }),
  'sasl-password-file': Flags.string({
    description: 'file holding the SASL password (a trailing newline is ignored)',
    helpValue: '<path>',
    helpGroup: 'CONNECTION',
  }),
  // OAUTHBEARER: one token source; it implies --sasl-mechanism oauthbearer.
  'oauth-token-command': Flags.string({
    description: 'OAUTHBEARER: shell command that prints a token, rerun before it expires (env KAFKA_OAUTH_TOKEN_COMMAND)',
    helpValue: '<command>',
    helpGroup: 'CONNECTION',
  }),
  'oauth-token-file': Flags.string({
    description: 'OAUTHBEARER: file holding a token, reread before it expires (env KAFKA_OAUTH_TOKEN_FILE)',
    helpValue: '<path>',
    helpGroup: 'CONNECTION',
  }),
  'oauth-token-endpoint': Flags.string({
    description: 'OAUTHBEARER: OAuth/OIDC token URL, client-credentials grant (env KAFKA_OAUTH_TOKEN_ENDPOINT)',
    helpValue: '<url>',
    helpGroup: 'CONNECTION',
  }),
  'oauth-client-id': Flags.string({
    description: 'OAuth client id for --oauth-token-endpoint (env KAFKA_OAUTH_CLIENT_ID)',
    helpGroup: 'CONNECTION',
  }),
  'oauth-client-secret-env': Flags.string({
    description: 'name of the environment variable holding the OAuth client secret (default: KAFKA_OAUTH_CLIENT_SECRET)',
    helpValue: '<NAME>',
    helpGroup: 'CONNECTION',
  }),
  'oauth-client-secret-file': Flags.string({
    description: 'file holding the OAuth client secret (a trailing newline is ignored)',
    helpValue: '<path>',
    helpGroup: 'CONNECTION',
  }),
  'oauth-scope': Flags.string({
    description: 'OAuth scope to request from --oauth-token-endpoint (env KAFKA_OAUTH_SCOPE)',
    helpGroup: 'CONNECTION',
  }),
  'aws-region': Flags.string({
    description: 'AWS_MSK_IAM: region to sign for [default: from the MSK broker host names, else AWS_REGION]',
    helpGroup: 'CONNECTION',
  }),
  'aws-profile': Flags.string({
    description: 'AWS_MSK_IAM: profile of ~/.aws/credentials and ~/.aws/config (default: AWS_PROFILE, else the AWS credential chain)',
    helpGroup: 'CONNECTION',
  }),
}
