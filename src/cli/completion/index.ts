import type {CompletionSpec} from './spec.js'

import {bashScript} from './bash.js'
import {fishScript} from './fish.js'
import {zshScript} from './zsh.js'

export const SHELLS = ['bash', 'zsh', 'fish'] as const
export type Shell = (typeof SHELLS)[number]

export function completionScript(shell: Shell, spec: CompletionSpec): string {
  switch (shell) {
    case 'bash': {
      return bashScript(spec)
    }
    case 'zsh': {
      return zshScript(spec)
    }
    case 'fish': {
      return fishScript(spec)
    }
  }
}

/** The shell to generate for when none is named: the login shell's, else bash. */
export function defaultShell(env: NodeJS.ProcessEnv): Shell {
  const name = (env.SHELL ?? '').split('/').pop() ?? ''
  return (SHELLS as readonly string[]).includes(name) ? (name as Shell) : 'bash'
}

export {completionSpec, type CompletionSpec, DYNAMIC_KINDS, type DynamicKind} from './spec.js'
export {dynamicValues} from './values.js'
