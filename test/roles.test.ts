// The real entry point, as operators run it: roles, production refusals, and the web
// role working without any private key.
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateSealKeyPair } from '../src/seal/hpke.js'
import { signRaw } from '../src/inbound/hmac.js'
import { startMain as startMainProcess } from './helpers/main-process.js'
import { plainMessage } from './helpers/messages.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from './helpers/redis.js'

// The real entry point as a child process, with a plain SIGTERM for teardown.
function startMain (args: string[], env: Record<string, string>) {
  const run = startMainProcess(args, env)
  return { ...run, kill: () => { run.signal('SIGTERM') } }
}

t.test('production with nothing configured lists every problem and exits non-zero', async (t) => {
  const run = startMain([], { NODE_ENV: 'production' })
  t.equal(await run.code, 2)
  for (const name of ['REDIS_URL', 'INBOUND_SECRET', 'SEAL_PUBLIC_KEY', 'PGP_PRIVATE_KEY', 'GITHUB_TOKEN', 'SMTP_URL']) t.match(run.output(), name)
})

t.test('an unknown role is refused', async (t) => {
  const run = startMain(['both'], {})
  t.equal(await run.code, 2)
  t.match(run.output(), 'unknown role')
})

t.test('the web role runs in production with no private key at all and queues mail', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'intake-roles-'))
  const prefix = uniquePrefix('roles')
  t.teardown(async () => { rmSync(dir, { recursive: true, force: true }); await dropPrefix(prefix) })
  const seal = generateSealKeyPair()
  const run = startMain(['web'], {
    NODE_ENV: 'production', REDIS_URL, QUEUE_PREFIX: prefix, INBOUND_SECRET: 'prod-secret-0123456789abcdef', SEAL_PUBLIC_KEY: seal.publicKey,
    // If the web role ever read the PGP key it would fail on this path.
    PGP_PRIVATE_KEY_FILE: join(dir, 'does-not-exist.asc'), KEYS_DIR: join(dir, 'keys'), DATA_DIR: join(dir, 'data')
  })
  t.teardown(run.kill)
  const port = await run.port
  const raw = plainMessage({ messageId: 'roles@example.org' })
  const ts = Math.floor(Date.now() / 1000)
  const res = await fetch(`http://127.0.0.1:${port}/inbound/raw`, {
    method: 'POST', body: raw, headers: { 'content-type': 'message/rfc822', 'x-intake-timestamp': String(ts), 'x-intake-signature': signRaw('prod-secret-0123456789abcdef', ts, raw) }
  })
  t.equal(res.status, 200)
  t.match(await res.json(), { id: /^[0-9a-f]{24}$/ })
  t.same(readdirSync(dir), [], 'no key generated, no dev secrets written')
  t.notMatch(run.output(), /worker started|DEVELOPMENT KEY/)
  run.kill()
  t.equal(await run.code, 0, 'SIGTERM is a clean shutdown')
})

t.test('each process loads only its role\'s code: a web process never has the worker\'s key-loading modules', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'intake-loaded-'))
  const prefix = uniquePrefix('loaded')
  t.teardown(async () => { rmSync(dir, { recursive: true, force: true }); await dropPrefix(prefix) })
  const seal = generateSealKeyPair()
  const list = join(dir, 'modules.txt')
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/helpers/loaded-modules.mjs', 'src/main.ts', 'web'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', NODE_ENV: 'production', REDIS_URL, QUEUE_PREFIX: prefix, INBOUND_SECRET: 'prod-secret-0123456789abcdef', SEAL_PUBLIC_KEY: seal.publicKey, KEYS_DIR: join(dir, 'keys'), DATA_DIR: join(dir, 'data'), LOADED_MODULES_FILE: list },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  t.teardown(async () => { child.kill('SIGTERM'); await exited })
  let out = ''
  await new Promise<void>((resolve, reject) => {
    const take = (d: Buffer) => { out += d.toString(); if (out.includes('security intake gateway started')) resolve() }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    void exited.then(() => reject(new Error(`web role exited:\n${out}`)))
  })
  const loaded = readFileSync(list, 'utf8').split('\n').filter((u) => u.includes('/src/')).map((u) => u.replace(/^.*\/src\//, 'src/'))
  t.ok(loaded.includes('src/roles/web.ts'), `the web role's modules are loaded (${new Set(loaded).size} of ours)`)
  const forbidden = ['src/roles/worker.ts', 'src/pgp/team-key.ts', 'src/pgp/keyring.ts', 'src/pgp/decrypt.ts', 'src/report/process.ts', 'src/advisory/sink.ts', 'src/keys/publisher.ts']
  t.same(forbidden.filter((m) => loaded.includes(m)), [], 'none of the worker\'s modules, none that loads or uses a secret key')
})

t.test('no configuration (npm start): dev key and secrets generated, a posted report lands in outbox/', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'intake-nocfg-'))
  const prefix = uniquePrefix('nocfg')
  t.teardown(async () => { rmSync(dir, { recursive: true, force: true }); await dropPrefix(prefix) })
  // Only locations are moved into a temp dir (and the queue prefix, to share Redis safely).
  const run = startMain([], { QUEUE_PREFIX: prefix, KEYS_DIR: join(dir, 'keys'), DATA_DIR: join(dir, '.data'), OUTBOX_DIR: join(dir, 'outbox') })
  t.teardown(run.kill)
  const port = await run.port
  t.match(run.output(), 'DEVELOPMENT KEY')
  const secret = (JSON.parse(readFileSync(join(dir, '.data', 'dev-secrets'), 'utf8')) as { inboundSecret: string }).inboundSecret
  t.ok(readdirSync(join(dir, 'keys')).includes('dev-team-key.pub.asc'), 'dev key written to KEYS_DIR')
  const raw = plainMessage({ messageId: 'nocfg@example.org' })
  const ts = Math.floor(Date.now() / 1000)
  const res = await fetch(`http://127.0.0.1:${port}/inbound/raw`, {
    method: 'POST', body: raw, headers: { 'content-type': 'message/rfc822', 'x-intake-timestamp': String(ts), 'x-intake-signature': signRaw(secret, ts, raw) }
  })
  t.equal(res.status, 200)
  const { id } = await res.json() as { id: string }
  const file = join(dir, 'outbox', 'advisories', `${id}.json`)
  for (let i = 0; i < 200 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 50))
  t.ok(existsSync(file), 'advisory request body in outbox/advisories')
  const mails = () => existsSync(join(dir, 'outbox', 'mail')) ? readdirSync(join(dir, 'outbox', 'mail')).filter((f) => !f.startsWith('.')) : []
  for (let i = 0; i < 200 && mails().length === 0; i++) await new Promise((r) => setTimeout(r, 50))
  t.equal(mails().length, 1, 'acknowledgement in outbox/mail')
})
