import {Flags} from '@oclif/core'

import {DEFAULT_CONTROL_TOPIC} from '../control/schema.js'

/** Flags every command that talks to producer agents shares (grow declares the same names). */
export const controlFlags = {
  'control-topic': Flags.string({
    description: 'control topic the producer agents follow',
    default: DEFAULT_CONTROL_TOPIC,
    helpGroup: 'CONTROL',
  }),
  'control-secret-env': Flags.string({
    description: 'environment variable holding the shared secret that signs control messages (never printed)',
    default: 'KREORG_CONTROL_SECRET',
    helpGroup: 'CONTROL',
  }),
}

export {controlSecret} from '../control/secret.js'
