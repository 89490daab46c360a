import type {ScenarioResult} from './scenario.js'
import type {JudgeVerdict} from './sequence-judge.js'

/** The four counts that must be 0 for a group, and nothing else (so a failed assertion shows them side by side). */
export function counts(verdict: JudgeVerdict): {group: string; lost: number; reordered: number; duplicated: number; unexpected: number} {
  return {
    group: verdict.group,
    lost: verdict.lost,
    reordered: verdict.reordered,
    duplicated: verdict.duplicated,
    unexpected: verdict.unexpected,
  }
}

/** One line per group for logs and assertion messages. */
export function describeVerdicts(result: ScenarioResult): string {
  const lines = result.groups.map((v) => {
    const bad = [
      v.samples.lost.length > 0 ? `lost e.g. ${v.samples.lost.slice(0, 3).join(' ')}` : '',
      v.samples.reordered.length > 0 ? `reordered e.g. ${v.samples.reordered.slice(0, 2).join(' ')}` : '',
      v.samples.duplicated.length > 0 ? `duplicated e.g. ${v.samples.duplicated.slice(0, 2).join(' ')}` : '',
      v.samples.unexpected.length > 0 ? `unexpected e.g. ${v.samples.unexpected.slice(0, 2).join(' ')}` : '',
    ].filter(Boolean)
    const newFirst = Object.entries(v.firstOffsetByPartition)
      .map(([p, o]) => `p${p}@${o}`)
      .join(' ')
    return `  ${v.group}: consumed ${v.consumed}/${v.expected}, lost ${v.lost}, reordered ${v.reordered}, duplicated ${v.duplicated}, unexpected ${v.unexpected}; first offsets ${newFirst}${bad.length > 0 ? `; ${bad.join('; ')}` : ''}`
  })
  const logs = Object.entries(result.consumerLogs)
    .filter(([, l]) => l.length > 0)
    .map(
      ([group, l]) =>
        `  ${group} log:\n${l
          .slice(-12)
          .map((line) => `    ${line}`)
          .join('\n')}`,
    )
  return [
    `${result.mode} ${result.topic}: exit ${result.exitCode}, ${result.partitionsAfter} partitions, ${result.produced} produced (${result.uncertain} uncertain), blackout ${result.blackoutMs} ms, drain ${result.drainMs} ms, producer stall ${result.producerStallMs} ms, grow ${result.growMs} ms, total ${result.totalMs} ms`,
    ...lines,
    ...(result.failure ? [`  failure: ${result.failure}`] : []),
    ...logs,
  ].join('\n')
}
