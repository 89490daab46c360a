import type {AuditReport, Verdict} from '../audit/verdicts.js'

import {percent} from '../audit/verdicts.js'
import {formatDuration} from '../core/duration.js'
import {renderTable} from '../core/table.js'

const MARK: Record<Verdict, string> = {pass: 'PASS', warn: 'WARN', fail: 'FAIL'}

/** The audit as text: one row per check with its reason, then the candidate counts. */
export function renderAudit(report: AuditReport): string {
  const lines: string[] = []
  lines.push(
    `Audit of ${report.topic}: ${report.partitionCount} partitions, ${report.sample.records} records sampled (last ≤${report.sample.perPartition} per partition)`,
  )
  lines.push('')
  lines.push(
    renderTable(
      ['', 'check', 'why'],
      report.checks.map((c) => [MARK[c.verdict], c.title, c.why]),
    ),
  )
  if (report.candidates.length > 0) {
    lines.push('')
    lines.push(
      renderTable(
        ['to', 'keys moved', 'records moved', 'uniform estimate', 'skew (records)', 'skew (bytes)', ''],
        report.candidates.map((c) => [
          c.to,
          c.sampledKeys > 0 ? `${percent(c.movedShare)} (${c.movedKeys}/${c.sampledKeys})` : 'n/a',
          c.sampledKeys > 0 ? percent(c.movedRecordShare) : 'n/a',
          percent(c.uniformMovedShare),
          c.skew.records.toFixed(2),
          c.skew.bytes.toFixed(2),
          c.to === report.recommended ? '← recommended' : c.acceptable ? '' : 'skew too high',
        ]),
        {alignRight: [0, 3, 4, 5]},
      ),
    )
  }
  lines.push('')
  const {pass, warn, fail} = report.counts
  lines.push(`${MARK[report.verdict]}: ${pass} passed, ${warn} warned, ${fail} failed`)
  return lines.join('\n')
}

/**
 * A one-line progress meter on stderr, only when stderr is a terminal: offsets read, rate and time
 * left, so a whole-topic sample (`--sample all`) shows it is moving.
 */
export function progressMeter(
  stream: NodeJS.WriteStream,
  label: string,
): {update: (done: number, total: number) => void; done: () => void} {
  if (!stream.isTTY) return {update() {}, done() {}}
  const started = Date.now()
  let last = 0
  let shown = false
  return {
    update(done, total) {
      const now = Date.now()
      if (now - last < 100 && done < total) return
      last = now
      shown = true
      stream.write(`\r${progressLine(label, done, total, now - started)}\x1b[K`)
    },
    done() {
      if (shown) stream.write('\r\x1b[K')
    },
  }
}

/** `sampling orders: 1200000/9000000 offsets (13%), 240k/s, ~33s left` (rate and ETA once measurable). */
export function progressLine(label: string, done: number, total: number, elapsedMs: number): string {
  const pct = total === 0 ? 100 : Math.floor((done / total) * 100)
  const head = `${label}: ${done}/${total} offsets (${pct}%)`
  if (elapsedMs < 1000 || done === 0) return head
  const perSec = done / (elapsedMs / 1000)
  const left = done < total ? `, ~${formatDuration(((total - done) / perSec) * 1000)} left` : ''
  return `${head}, ${compact(perSec)}/s${left}`
}

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`
  if (n >= 1e3) return `${Math.round(n / 1e3)}k`
  return `${Math.round(n)}`
}
