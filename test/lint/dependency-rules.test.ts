// The dependency rules of .dependency-cruiser.cjs catch what they say they catch: each
// test adds one forbidden import to a copy of src/ and runs the real checker over it.
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve('.')
const depcruise = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs')

interface Violation { rule: string, from: string }

/** A throw-away copy of src/ with the checker's config, tsconfig and node_modules. */
function copyOfSrc (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'intake-deps-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  cpSync(join(root, 'src'), join(dir, 'src'), { recursive: true })
  for (const file of ['.dependency-cruiser.cjs', 'tsconfig.json', 'package.json']) cpSync(join(root, file), join(dir, file))
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
  return dir
}

/** Runs the checker as `npm run lint` does (its `err` report sets the exit code). */
function check (dir: string): Promise<{ code: number, violations: Violation[] }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [depcruise, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: dir, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      const violations = [...stdout.matchAll(/^\s*error ([a-z-]+): (\S+)/gm)].map((m) => ({ rule: m[1] as string, from: m[2] as string }))
      resolve({ code, violations })
    })
  })
}

function addImport (dir: string, file: string, line: string): void {
  const path = join(dir, 'src', file)
  writeFileSync(path, `${line}\n${readFileSync(path, 'utf8')}`)
}

t.test('src/ as it is breaks no rule', async (t) => {
  const { code, violations } = await check(copyOfSrc(t))
  t.same(violations, [])
  t.equal(code, 0)
})

const cases: Array<{ rule: string, file: string, line: string, why: string }> = [
  { rule: 'domain-is-the-bottom', file: 'domain/report.ts', line: "import type { ProgressStore } from '../store/progress.js'", why: 'the domain room imports a room above it' },
  { rule: 'web-role-never-reaches-the-worker', file: 'inbound/forms.ts', line: "import '../mail/open-report.js'", why: 'an inbound file reaches decryption through mail/' },
  { rule: 'web-role-never-reaches-the-worker', file: 'keys/published.ts', line: "import { loadWorkerKeyring } from '../pgp/team-key.js'", why: 'the key routes reach the module that loads the secret key' },
  { rule: 'no-circular', file: 'pgp/types.ts', line: "import type { DecryptOptions } from './decrypt.js'", why: 'a type-only import closes a cycle' },
  { rule: 'config-imports-no-room', file: 'config.ts', line: "import type { Routing } from './triage/routing.js'", why: 'config.ts imports a capability room' },
  { rule: 'triage-is-pure', file: 'triage/manifest.ts', line: "import '../advisory/render.js'", why: 'triage imports rendering' },
  { rule: 'pgp-and-mail-stay-below-orchestration', file: 'mail/parse.ts', line: "import { QUEUE } from '../queue/jobs.js'", why: 'mail/ imports the queue' },
  { rule: 'store-is-shared-state-only', file: 'store/seen.ts', line: "import '../inbound/hmac.js'", why: 'the shared store imports a capability room' },
  { rule: 'only-main-starts-a-role', file: 'cli/status.ts', line: "import '../roles/worker.js'", why: 'the CLI starts a role' }
]

for (const c of cases) {
  t.test(`${c.rule}: fails when ${c.why}`, async (t) => {
    const dir = copyOfSrc(t)
    addImport(dir, c.file, c.line)
    const { code, violations } = await check(dir)
    t.not(code, 0, 'the check fails')
    t.ok(violations.some((v) => v.rule === c.rule), `${c.rule} is named (got ${[...new Set(violations.map((v) => v.rule))].join(', ')})`)
  })
}

t.test('a new module nothing imports is reported as an orphan', async (t) => {
  const dir = copyOfSrc(t)
  appendFileSync(join(dir, 'src', 'triage', 'unused.ts'), 'export const unused = 1\n')
  const { code, violations } = await check(dir)
  t.not(code, 0)
  t.ok(violations.some((v) => v.rule === 'no-orphans' && v.from === 'src/triage/unused.ts'))
})

t.test('npm test runs the linter and the dependency check', async (t) => {
  const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }
  t.match(scripts.test, 'npm run lint')
  t.match(scripts.lint, /\beslint\b/)
  t.match(scripts.lint, 'depcruise src --config .dependency-cruiser.cjs')
})
