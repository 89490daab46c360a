/**
 * The layer order of docs/architecture.md (and /work/plan/ARCH.md), enforced by `npm run check:deps`.
 * Each folder may import only the folders listed for it (all of them below it) and itself; no cycle
 * is allowed anywhere, not even inside one folder. Adding a folder means adding it here, at its layer.
 */

/** Bottom to top: folder → the folders it may import besides itself. */
const LAYERS = [
  ['src/core', []],
  // Spawning the kreorg CLI and reading its NDJSON (demo, bench, tests): node built-ins only.
  ['src/process', ['src/core']],
  ['src/kafka', ['src/core']],
  ['src/control', ['src/kafka', 'src/core']],
  ['src/agent', ['src/control', 'src/kafka', 'src/core']],
  // The Kafka Connect REST client, connector discovery and what the writer inventory attributes to Connect.
  ['src/connect', ['src/kafka', 'src/core']],
  ['src/config', ['src/connect', 'src/kafka', 'src/core']],
  ['src/local-kafka', ['src/core']],
  ['src/runbook', ['src/control', 'src/kafka', 'src/config', 'src/core']],
  ['src/steps', ['src/runbook', 'src/control', 'src/connect', 'src/kafka', 'src/config', 'src/core']],
  ['runbooks', ['src/steps', 'src/runbook', 'src/control', 'src/connect', 'src/kafka', 'src/config', 'src/core']],
  ['src/audit', ['src/kafka', 'src/core']],
  // Views render step results, so they know the shapes, never the implementations.
  [
    'src/ui',
    ['src/steps', 'src/runbook', 'src/audit', 'src/control', 'src/connect', 'src/kafka', 'src/config', 'src/core'],
    {typesOnly: ['src/steps']},
  ],
  ['src/demo', ['src/process', 'src/agent', 'src/control', 'src/local-kafka', 'src/kafka', 'src/core']],
  [
    'src/cli',
    [
      'src/demo',
      'src/ui',
      'src/audit',
      'runbooks',
      'src/steps',
      'src/runbook',
      'src/local-kafka',
      'src/config',
      'src/agent',
      'src/control',
      'src/connect',
      'src/kafka',
      'src/process',
      'src/core',
    ],
  ],
  [
    'commands',
    [
      'src/cli',
      'src/demo',
      'src/ui',
      'src/audit',
      'runbooks',
      'src/steps',
      'src/runbook',
      'src/local-kafka',
      'src/config',
      'src/agent',
      'src/control',
      'src/connect',
      'src/kafka',
      'src/process',
      'src/core',
    ],
  ],
]

const escape = (folder) => folder.replaceAll(/[.*+?^${}()|[\]\\/-]/g, String.raw`\$&`)
const under = (folders) => `^(${folders.map(escape).join('|')})/`
const KNOWN = LAYERS.map(([folder]) => folder)

const layerRules = LAYERS.flatMap(([folder, allowed, options = {}]) => {
  const rules = [
    {
      name: `layer:${folder}`,
      comment: `${folder} may import only ${allowed.length > 0 ? allowed.join(', ') : 'nothing else in the repo'} (layer order in docs/architecture.md)`,
      severity: 'error',
      from: {path: under([folder])},
      // Anything in the repo that is neither the folder itself nor a folder it may import.
      to: {path: '^(src|runbooks|commands|bench|test)/', pathNot: under([folder, ...allowed])},
    },
  ]
  for (const typesOnly of options.typesOnly ?? []) {
    rules.push({
      name: `types-only:${folder}->${typesOnly}`,
      comment: `${folder} may use ${typesOnly} for types only (import type)`,
      severity: 'error',
      from: {path: under([folder])},
      to: {path: under([typesOnly]), dependencyTypesNot: ['type-only']},
    })
  }
  return rules
})

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycle, at any scale',
      severity: 'error',
      from: {},
      to: {circular: true},
    },
    {
      name: 'known-layer',
      comment: 'every folder under src/ has a place in the layer table above',
      severity: 'error',
      from: {path: '^src/', pathNot: under(KNOWN)},
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to nothing is a broken build waiting to happen',
      severity: 'error',
      from: {},
      to: {couldNotResolve: true},
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    exclude: {path: '^(dist|node_modules)/'},
    // Type-only imports count for cycles and layers too, and are told apart for the types-only rules.
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.json'},
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
    reporterOptions: {text: {highlightFocused: true}},
  },
}
