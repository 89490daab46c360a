#!/usr/bin/env node
// `npm run docs` regenerates docs/commands.md from the built commands with oclif's readme generator;
// `npm run docs:check` (`--check`) generates a copy in a temp dir and fails when the committed file
// differs, so the reference cannot drift from the flags. Both need `npm run build` first.
import {spawnSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const committed = path.join(root, 'docs/commands.md')
const check = process.argv.includes('--check')

if (!existsSync(path.join(root, 'oclif.manifest.json'))) {
  console.error('docs: oclif.manifest.json is missing; run npm run build first')
  process.exit(1)
}

function generate(readmePath) {
  const oclif = path.join(root, 'node_modules/oclif/bin/run.js')
  const args = [oclif, 'readme', '--readme-path', readmePath, '--no-aliases', '--no-source-links']
  // Help text wraps at COLUMNS: pin it so every machine generates the same file.
  const env = {...process.env, COLUMNS: '120', OCLIF_COLUMNS: '120'}
  const result = spawnSync(process.execPath, args, {cwd: root, env, encoding: 'utf8'})
  if (result.status !== 0) {
    console.error(`docs: oclif readme failed\n${result.stdout}${result.stderr}`)
    process.exit(1)
  }
}

if (!check) {
  generate(committed)
  console.log('docs: wrote docs/commands.md')
  process.exit(0)
}

const dir = mkdtempSync(path.join(tmpdir(), 'kreorg-docs-'))
try {
  const fresh = path.join(dir, 'commands.md')
  copyFileSync(committed, fresh)
  generate(fresh)
  if (readFileSync(fresh, 'utf8') !== readFileSync(committed, 'utf8')) {
    const diff = spawnSync('git', ['diff', '--no-index', '--', committed, fresh], {encoding: 'utf8'})
    console.error(`docs: docs/commands.md is stale; run npm run docs and commit it\n${diff.stdout}`)
    process.exit(1)
  }
  console.log('docs: docs/commands.md is current')
} finally {
  rmSync(dir, {recursive: true, force: true})
}
