import {Flags} from '@oclif/core'
import {durationFlag} from '../cli/duration.js'
import {DEFAULT_CLIENT_ID, DEFAULT_CONNECT_TIMEOUT_MS} from './resolve.js'

/**
 * `KafkaCommand`'s connection flags. None has an oclif `default` or `env`: the resolver
 * (src/config/resolve.ts) applies env vars, the profile and defaults itself, so it knows which layer
 * each value came from (flags > env > profile > default) and `kreorg config show` can say so.
 * There is deliberately no flag that takes a password.
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
  'tls-ca': Flags.string({description: 'PEM file with the CA that signed the brokers\' certificates (env KAFKA_TLS_CA_FILE)', helpGroup: 'CONNECTION'}),
  'tls-cert': Flags.string({description: 'PEM client certificate for mutual TLS (env KAFKA_TLS_CERT_FILE)', helpGroup: 'CONNECTION'}),
  'tls-key': Flags.string({description: 'PEM private key of --tls-cert (env KAFKA_TLS_KEY_FILE)', helpGroup: 'CONNECTION'}),
  'sasl-mechanism': Flags.string({
    description: 'SASL mechanism: plain, scram-sha-256 or scram-sha-512 (env KAFKA_SASL_MECHANISM)',
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
}
