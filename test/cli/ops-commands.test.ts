// The operator commands added for running in production: status, replay-failed and
// send-test (the last against a running gateway, through the real CLI entry point).
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { readKey } from 'openpgp'
import { startGateway } from '../helpers/gateway.js'
import { plainMessage } from '../helpers/messages.js'
import { startMain } from '../helpers/main-process.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'
import { statusCommand } from '../../src/cli/status.js'
import { replayFailedCommand } from '../../src/cli/replay-failed.js'
import { run, usage } from '../../src/cli/main.js'

const exec = promisify(execFile)

async function capture (fn: (out: (s: string) => void) => Promise<number>): Promise<{ code: number, text: string }> {
  let text = ''
  const code = await fn((s) => { text += s })
  return { code, text }
}

t.test('usage lists every command', async (t) => {
  const { code, text } = await capture(async (out) => await run([], out))
  t.equal(code, 0)
  for (const name of ['status', 'send-test', 'replay-failed', 'quarantine list', 'export', 'seal-keygen']) t.match(text, name)
  t.equal(text, usage())
  t.equal((await capture(async (out) => await run(['nonsense'], out))).code, 2)
})

t.test('status: queue counts, failed jobs, quarantine size, key fingerprint and expiry', async (t) => {
  const gw = await startGateway(t, {})
  const ok = await gw.post(plainMessage({ messageId: 'status-ok@example.org' }))
  t.equal(ok.status, 200)
  await gw.waitFor(async () => (await gw.queue.getJobCounts('completed')).completed === 1, 'first report filed')
  // A job whose sealed message is gone fails for good (and is quarantined).
  await gw.queue.add('process-report', { intakeId: 'f'.repeat(24), receivedAt: new Date().toISOString(), source: 'raw' }, { jobId: 'f'.repeat(24), attempts: 1 })
  await gw.waitFor(async () => (await gw.queue.getJobCounts('failed')).failed === 1, 'failed job')
  await gw.waitFor(async () => await gw.redis.hlen(`${gw.prefix}:gw:quarantine`) === 1, 'quarantined')

  const key = await readKey({ armoredKey: readFileSync(join(gw.config().keysDir, 'dev-team-key.pub.asc'), 'utf8') })
  const fingerprint = key.getFingerprint().toUpperCase()
  const expires = await key.getExpirationTime() as Date

  const human = await capture(async (out) => await statusCommand(gw.config(), [], out))
  t.equal(human.code, 0)
  t.match(human.text, /waiting 0 {2}active 0 .* failed 1 {2}completed 1/)
  t.match(human.text, `failed ${'f'.repeat(24)}`)
  t.match(human.text, 'sealed-missing')
  t.match(human.text, 'quarantine: 1 report(s)')
  t.match(human.text, `team key: ${fingerprint}  expires ${expires.toISOString()}`)

  const json = JSON.parse((await capture(async (out) => await statusCommand(gw.config(), ['--json'], out))).text)
  t.match(json, { queue: { name: 'reports', paused: false, failed: 1, completed: 1 }, quarantined: 1, key: { fingerprint, expires: expires.toISOString(), expired: false } })
  t.equal(json.failed[0].intakeId, 'f'.repeat(24))
})

t.test('replay-failed: failed jobs go back to waiting and are filed, once', async (t) => {
  const gw = await startGateway(t, {})
  // The outbox cannot be written (a file where its directory should be): every attempt fails.
  mkdirSync(join(gw.dir, 'outbox'), { recursive: true })
  writeFileSync(join(gw.dir, 'outbox', 'advisories'), 'not a directory')
  const res = await gw.post(plainMessage({ messageId: 'replay-failed@example.org' }))
  t.equal(res.status, 200)
  await gw.waitFor(async () => (await gw.queue.getJobCounts('failed')).failed === 1, 'job failed for good', 30_000)
  t.match(JSON.parse(await gw.redis.hget(`${gw.prefix}:gw:quarantine`, String(res.id)) ?? '{}'), { code: 'failed' })

  const dry = await capture(async (out) => await replayFailedCommand(gw.config(), ['--dry-run'], out))
  t.match(dry.text, `would replay ${res.id}`)
  t.equal((await gw.queue.getJobCounts('failed')).failed, 1, 'dry run changes nothing')

  rmSync(join(gw.dir, 'outbox', 'advisories'))
  const replay = await capture(async (out) => await replayFailedCommand(gw.config(), [], out))
  t.equal(replay.code, 0)
  t.match(replay.text, `replayed ${res.id}`)
  t.match(replay.text, '1 job(s) went back to waiting')
  await gw.waitFor(() => existsSync(join(gw.dir, 'outbox', 'advisories', `${res.id}.json`)), 'advisory filed after the replay')
  await gw.waitFor(async () => (await gw.queue.getJobCounts('completed')).completed === 1, 'completed')
  t.equal((await gw.queue.getJobCounts('failed')).failed, 0)
  t.equal(await gw.redis.hexists(`${gw.prefix}:gw:quarantine`, String(res.id)), 0, 'its "failed" quarantine entry is gone')
  t.equal(gw.outbox('mail').length, 1, 'one acknowledgement')
  t.match((await capture(async (out) => await replayFailedCommand(gw.config(), [], out))).text, 'no failed jobs')
})

t.test('send-test: an encrypted, signed sample report through a running gateway', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'intake-send-test-'))
  const prefix = uniquePrefix('sendtest')
  t.teardown(async () => { rmSync(dir, { recursive: true, force: true }); await dropPrefix(prefix) })
  // Zero configuration, as in the README quick start: dev key, dev secrets, outboxes.
  const env = { QUEUE_PREFIX: prefix, KEYS_DIR: join(dir, 'keys'), DATA_DIR: join(dir, '.data'), OUTBOX_DIR: join(dir, 'outbox'), REDIS_URL }
  const gateway = startMain([], env)
  t.teardown(() => gateway.signal('SIGKILL'))
  const url = `http://127.0.0.1:${await gateway.port}`

  const cli = await exec(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'send-test', '--url', url], { env: { PATH: process.env.PATH ?? '', ...env } })
  const id = /intake id: ([0-9a-f]{24})/.exec(cli.stdout)?.[1]
  t.ok(id, `printed the intake id: ${cli.stdout.trim()}`)
  const file = join(dir, 'outbox', 'advisories', `${id}.json`)
  for (let i = 0; i < 300 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 50))
  const advisory = JSON.parse(readFileSync(file, 'utf8')) as { summary: string, description: string }
  t.match(advisory.description, 'This is a test report sent by', 'decrypted by the worker')
  t.notMatch(advisory.description, 'BEGIN PGP MESSAGE')

  const wrongSecret = await exec(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'send-test', '--url', url], { env: { PATH: process.env.PATH ?? '', ...env, INBOUND_SECRET: 'not-the-secret' } }).then(() => ({ code: 0, stdout: '' }), (e: { code: number, stdout: string }) => e)
  t.equal(wrongSecret.code, 1)
  t.match(wrongSecret.stdout, 'gateway answered 401')
  gateway.signal('SIGTERM')
  t.equal(await gateway.code, 0)
})
