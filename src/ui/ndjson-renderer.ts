import type {RunListener} from '../runbook/types.js'
import type {RunRenderer} from './renderer.js'

import {maskSecrets} from '../core/redact.js'

/** `--json`: every engine event as one NDJSON line on stdout, exactly as emitted, secrets masked. */
export class NdjsonRenderer implements RunRenderer {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  readonly listener: RunListener = (event) => {
    this.out.write(`${maskSecrets(JSON.stringify(event))}\n`)
  }

  async done(): Promise<void> {}
}
