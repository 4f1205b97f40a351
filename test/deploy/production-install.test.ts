// The image's install path without Docker: the compiled output plus `npm ci --omit=dev`
// in a clean directory, then the roles, the CLI and the healthcheck started from it
// with `node` alone (no tsx, no TypeScript at run time).
import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { generateSealKeyPair } from '../../src/seal/hpke.js'
import { makeTeamKey } from '../helpers/team-key.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'

const exec = promisify(execFile)
/** No NODE_OPTIONS from the test runner (its tsx loader is exactly what must not be
 * needed, and tap's process tracking adds it to every child): `env -u` drops it. */
const cleanEnv = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' })
const NODE = ['env', '-u', 'NODE_OPTIONS', process.execPath] as const
const root = resolve(import.meta.dirname, '..', '..')

function start (cwd: string, args: string[], env: Record<string, string>) {
  const child = spawn(NODE[0], [...NODE.slice(1), ...args], { cwd, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const ports: number[] = []
  let wake: () => void = () => {}
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); for (const m of d.toString().matchAll(/listening at http:\/\/127\.0\.0\.1:(\d+)/g)) ports.push(Number(m[1])); wake() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); wake() })
  const code = new Promise<number | null>((resolve) => child.on('exit', (c) => { resolve(c); wake() }))
  const listening = async (n: number) => {
    while (ports.length < n && child.exitCode === null) await new Promise<void>((resolve) => { wake = resolve })
    if (ports.length < n) throw new Error(`exited before listening: ${out.slice(-2000)}`)
    return ports
  }
  return { code, output: () => out, listening, kill: (sig: NodeJS.Signals = 'SIGTERM') => { if (child.exitCode === null) child.kill(sig) } }
}

t.test('npm ci --omit=dev in a clean copy, then node dist/*.js', async (t) => {
  t.setTimeout(600_000)
  const app = mkdtempSync(join(tmpdir(), 'intake-image-'))
  const prefix = uniquePrefix('image')
  t.teardown(async () => { rmSync(app, { recursive: true, force: true }); await dropPrefix(prefix) })

  // What the Dockerfile's runtime stage holds: package files, dist/ from the build stage, templates/, keys/.
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(root, f), join(app, f))
  await exec(NODE[0], [...NODE.slice(1), join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(app, 'dist')], { cwd: root, env: cleanEnv() })
  cpSync(join(root, 'keys', 'README.md'), join(app, 'keys', 'README.md'))
  cpSync(join(root, 'templates'), join(app, 'templates'), { recursive: true })
  await exec('env', ['-u', 'NODE_OPTIONS', 'npm', 'ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, env: { ...cleanEnv(), NODE_ENV: 'production' }, maxBuffer: 16 * 1024 * 1024 })
  // (typescript itself may appear: valibot, under bull-board, lists it as a peer.)
  for (const dev of ['tsx', 'tap', 'playwright-core', 'smol-toml', '@types/node']) t.notOk(existsSync(join(app, 'node_modules', dev)), `no ${dev} in the runtime`)
  t.ok(existsSync(join(app, 'node_modules', 'fastify')), 'runtime dependencies installed')

  const seal = generateSealKeyPair()
  const team = await makeTeamKey()
  writeFileSync(join(app, 'team.secret.asc'), team.armoredSecret, { mode: 0o600 })
  const common = { NODE_ENV: 'production', REDIS_URL, QUEUE_PREFIX: prefix, HOST: '127.0.0.1', PORT: '0', KEYS_DIR: join(app, 'keys'), LOG_LEVEL: 'info', ADMIN_BASIC_AUTH: 'ops:image-test-pass' }

  // The web role.
  const web = start(app, ['dist/main.js', 'web'], { ...common, INBOUND_SECRET: 'image-test-inbound-secret', SEAL_PUBLIC_KEY: seal.publicKey })
  t.teardown(() => web.kill('SIGKILL'))
  const [webPort] = await web.listening(1)
  t.equal((await fetch(`http://127.0.0.1:${webPort}/healthz`)).status, 200)
  t.equal((await fetch(`http://127.0.0.1:${webPort}/readyz`)).status, 200)
  t.match(web.output(), /^\{"level":/m, 'JSON log lines in production')
  const health = await exec(NODE[0], [...NODE.slice(1), 'dist/ops/healthcheck.js'], { cwd: app, env: { PATH: process.env.PATH ?? '', PORT: String(webPort) } }).then(() => 0, (e: { code: number }) => e.code)
  t.equal(health, 0, 'the HEALTHCHECK script passes against the web role')

  // The worker role, reachable only on its METRICS_PORT listener.
  const workerEnv = {
    ...common, SEAL_PRIVATE_KEY: seal.privateKey, PGP_PRIVATE_KEY_FILE: join(app, 'team.secret.asc'),
    GITHUB_TOKEN: 'image-test-token', GITHUB_API_URL: 'http://127.0.0.1:9', GITHUB_OWNER: 'acme', GITHUB_DEFAULT_REPO: 'widget', SMTP_URL: 'smtp://127.0.0.1:9'
  }
  const worker = start(app, ['dist/main.js', 'worker'], { ...workerEnv, METRICS_PORT: '0' })
  t.teardown(() => worker.kill('SIGKILL'))
  const [metricsPort] = await worker.listening(1)
  // Ready once its Redis connection is up (it may still be connecting when the port opens).
  let ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`)
  for (let i = 0; i < 100 && ready.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100))
    ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`)
  }
  t.equal(ready.status, 200)
  t.match(await ready.json(), { ok: true, checks: { 'team-key': { ok: true }, 'worker-running': { ok: true } } })
  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: { authorization: 'Basic ' + Buffer.from('ops:image-test-pass').toString('base64') } })
  t.equal(metrics.status, 200)
  t.match(await metrics.text(), 'intake_queue_jobs')
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status, 401)

  // The operator CLI from the same install (the image's `intake` wrapper runs this).
  const status = await exec(NODE[0], [...NODE.slice(1), 'dist/cli/main.js', 'status', '--json'], { cwd: app, env: { ...cleanEnv(), ...workerEnv } })
  t.match(JSON.parse(status.stdout), { queue: { name: 'reports' }, key: { fingerprint: team.fingerprint } })

  web.kill()
  worker.kill()
  t.equal(await web.code, 0, 'web: clean SIGTERM exit')
  t.equal(await worker.code, 0, 'worker: clean SIGTERM exit')
})
