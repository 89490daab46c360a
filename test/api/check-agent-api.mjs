#!/usr/bin/env node
// `npm run api:check` (after `npm run build`): what users of `kreorg/agent` get.
// 1. agent-consumer.ts, an application using the documented API, compiles against the built
//    declarations (strict, library declarations checked), resolved through package.json `exports`.
// 2. Those declarations reach no package but kafkajs, zod and Node's own types.
// 3. The agent's compiled JavaScript imports no package but kafkajs, zod and node: built-ins, so an
//    application never loads the CLI's dependencies (oclif, listr2, inquirer, testcontainers).
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {builtinModules} from 'node:module'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const tsconfig = path.join(root, 'test/api/tsconfig.json')
const entry = path.join(root, 'dist/src/agent/index.js')
const RUNTIME_PACKAGES = new Set(['kafkajs', 'zod'])
const TYPE_PACKAGES = new Set(['kafkajs', 'zod', '@types/node', 'undici-types', 'buffer', 'typescript'])

const problems = []

if (!existsSync(entry)) {
  console.error(`api:check: ${path.relative(root, entry)} is missing; run npm run build first`)
  process.exit(1)
}

const tsc = path.join(root, 'node_modules/typescript/bin/tsc')
const compiled = spawnSync(process.execPath, [tsc, '-p', tsconfig], {cwd: root, encoding: 'utf8'})
if (compiled.status !== 0) problems.push(`a consumer of kreorg/agent no longer compiles:\n${compiled.stdout}${compiled.stderr}`)

const listed = spawnSync(process.execPath, [tsc, '-p', tsconfig, '--listFilesOnly'], {cwd: root, encoding: 'utf8'})
for (const file of listed.stdout.split('\n').filter(Boolean)) {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)
  if (match && !TYPE_PACKAGES.has(match[1])) problems.push(`the kreorg/agent declarations pull in ${match[1]} (${file})`)
}

function packageName(specifier) {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

const IMPORT =
  /(?:^|\s)(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|(?:^|\s)import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm
const seen = new Set()
function walk(file) {
  if (seen.has(file)) return
  seen.add(file)
  const code = readFileSync(file, 'utf8')
    .replaceAll(/\/\*[\s\S]*?\*\//g, '')
    .replaceAll(/^\s*\/\/.*$/gm, '')
  for (const match of code.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2] ?? match[3]
    if (specifier.startsWith('.')) walk(path.resolve(path.dirname(file), specifier))
    else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier) && !RUNTIME_PACKAGES.has(packageName(specifier))) {
      problems.push(`kreorg/agent loads ${specifier} at run time (${path.relative(root, file)})`)
    }
  }
}

walk(entry)

if (problems.length > 0) {
  console.error(problems.map((problem) => `api:check: ${problem}`).join('\n'))
  process.exit(1)
}

console.log(`api:check: kreorg/agent OK (${seen.size} modules; runtime packages: ${[...RUNTIME_PACKAGES].join(', ')})`)
