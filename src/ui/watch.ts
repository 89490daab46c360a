import {setTimeout as sleep} from 'node:timers/promises'

/**
 * Re-renders until SIGINT/SIGTERM. On a terminal the screen is redrawn in place; off one (or with
 * --json) each snapshot is appended, so logs and pipes stay line-oriented.
 */
export async function watchLoop(options: {intervalMs: number; render: () => Promise<string>; inPlace: boolean}): Promise<void> {
  const controller = new AbortController()
  const stop = () => controller.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    while (!controller.signal.aborted) {
      const text = await options.render()
      process.stdout.write(options.inPlace ? `\x1b[H\x1b[2J${text}\n` : `${text}\n`)
      await sleep(options.intervalMs, undefined, {signal: controller.signal}).catch(() => {})
    }
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
}
