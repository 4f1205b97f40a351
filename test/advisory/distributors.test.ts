// Issue 9, point 4: the advance notice to the Private Distributors. Two distributors
// with GnuPG keys of their own (each in its own GnuPG home) and one without a key: each
// notice reaches the SMTP sink encrypted to that distributor only and signed by the team;
// the keyless one gets nothing and is named; a second run sends nothing new; every
// notice is an event keyed by a hash of the address. A canary in the report must appear
// in no notice, no clear header, no output and nowhere in Redis.
import t, { type Test } from 'tap'
import { spawn, execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as openpgp from 'openpgp'
import { advisoryCommand } from '../../src/cli/advisory.js'
import { addressKey } from '../../src/advisory/distributor-notice.js'
import { DistributorsError, loadDistributors, parseDistributors } from '../../src/advisory/distributors.js'
import { reportEvents } from '../../src/store/events.js'
import { progressStore } from '../../src/store/progress.js'
import { loadTemplates, TemplateError } from '../../src/mail/templates.js'
import { answersOwnMessage } from '../../src/mail/messages.js'
import type { Config } from '../../src/config.js'
import { mailsTo, report, world, type World } from '../helpers/advisory-world.js'
import { createGpg, type Gpg, type GpgKey } from '../helpers/gpg.js'
import { openMail } from '../helpers/pgp-mail.js'
import { dumpValues } from '../helpers/redis.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'

const ALPHA = 'security@alpha.example'
const BETA = 'secteam@beta.example'
const GAMMA = 'distros@gamma.example'
const SUMMARY = 'Path traversal in the widget archive extractor'

interface Peer { gpg: Gpg, key: GpgKey }

/** A distributor: its own GnuPG home with its key pair, and the team's public key to verify with. */
async function distributorPeer (t: Test, name: string, email: string, teamPublic: string): Promise<Peer> {
  const gpg = await createGpg()
  t.teardown(gpg.close)
  await gpg.importKey(teamPublic)
  return { gpg, key: await gpg.generateKey({ name, email, encryptionSubkey: 'cv25519' }) }
}

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'distributors-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

/** alpha.asc as a file beside the YAML, beta inline, gamma without a key. */
async function distributorsFile (dir: string, alpha: Peer, beta: Peer, opts: { gamma?: boolean } = {}): Promise<string> {
  await writeFile(join(dir, 'alpha.asc'), alpha.key.armoredPublic)
  const inline = beta.key.armoredPublic.trim().split('\n').map((l) => `      ${l}`).join('\n')
  const yaml = `distributors:
  - name: Alpha Linux
    email: ${ALPHA}
    key: alpha.asc
  - name: Beta OS
    email: ${BETA}
    key_armored: |
${inline}
${opts.gamma === false ? '' : `  - name: Gamma Distro\n    email: ${GAMMA}\n`}`
  const file = join(dir, 'distributors.yaml')
  await writeFile(file, yaml)
  return file
}

/** What a maintainer fills in on GitHub before telling distributors. */
function maintainerEdits (w: World, ghsaId: string): void {
  w.stub.changeAdvisory(ghsaId, {
    summary: SUMMARY,
    severity: 'high',
    vulnerabilities: [
      { package: { ecosystem: 'npm', name: '@acme/widget' }, vulnerable_version_range: '>= 2.0.0, < 2.4.1', patched_versions: '2.4.1' },
      { package: { ecosystem: 'go', name: 'github.com/acme/widget-go' }, vulnerable_version_range: '< 0.9.3', patched_versions: '0.9.3' }
    ]
  } as Parameters<World['stub']['changeAdvisory']>[1])
}

/** A release day a week ahead, 16:00 UTC, as `advisory schedule` stores it. */
function releaseDay (): Date {
  const day = new Date(Date.now() + 7 * 86_400_000)
  day.setUTCHours(16, 0, 0, 0)
  return day
}

async function run (config: Config, args: string[]): Promise<{ code: number, output: string }> {
  let output = ''
  const code = await advisoryCommand(config, args, (s) => { output += s })
  return { code, output }
}

/** The header block of a raw message, unfolded: what travels in clear. */
function clearHeaders (raw: Buffer): string {
  const text = raw.toString('latin1')
  return text.slice(0, text.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ')
}

t.test('each distributor gets its own notice, encrypted to its key only and signed by the team; the keyless one is refused by name; a second run sends nothing', async (t) => {
  const w = await world(t)
  const alpha = await distributorPeer(t, 'Alpha Linux', ALPHA, w.team.armoredPublic)
  const beta = await distributorPeer(t, 'Beta OS', BETA, w.team.armoredPublic)
  const dir = await tempDir(t)
  const config: Config = { ...w.gw.config(), distributorsFile: await distributorsFile(dir, alpha, beta) }
  const canary = `CANARY-${Math.random().toString(36).slice(2)}`
  const { intakeId, ghsaId } = await report(w, canary)
  maintainerEdits(w, ghsaId)
  const distributorMail = () => w.smtp.messages.filter((m) => m.envelope.rcptTo.some((r) => [ALPHA, BETA, GAMMA].includes(r.address)))
  const outputs: string[] = []

  const unscheduled = await run(config, ['notify-distributors', ghsaId])
  outputs.push(unscheduled.output)
  t.equal(unscheduled.code, 1, 'no release day: refused')
  t.match(unscheduled.output, /release day of GHSA-\S+ is not set: run `npm run intake -- advisory schedule GHSA-/)
  t.equal(distributorMail().length, 0, 'nothing sent without a release day')

  const release = releaseDay()
  await progressStore(w.gw.redis, w.gw.prefix).set(intakeId, { releaseAt: release.toISOString() })
  const dayText = `${release.toISOString().slice(0, 10)} 16:00 UTC`

  const dry = await run(config, ['notify-distributors', ghsaId, '--dry-run'])
  outputs.push(dry.output)
  t.equal(dry.code, 1, 'dry run: exit 1 since one distributor would be refused')
  t.match(dry.output, /would send\s+Alpha Linux <security@alpha\.example>, encrypted to [0-9A-F]{40}/)
  t.match(dry.output, /would send\s+Beta OS <secteam@beta\.example>/)
  t.match(dry.output, /REFUSED\s+Gamma Distro <distros@gamma\.example>: no key configured/)
  t.match(dry.output, `signed with the team key ${w.team.fingerprint}`)
  t.match(dry.output, `Subject: [embargoed] Advance notice ${ghsaId}`, 'the dry run shows the notice')
  t.match(dry.output, SUMMARY)
  t.equal(distributorMail().length, 0, 'a dry run sends nothing')
  t.equal((await reportEvents(w.gw.redis, w.gw.prefix).list(intakeId)).filter((e) => e.kind === 'distributor-notice').length, 0, 'and records nothing')

  const first = await run(config, ['notify-distributors', ghsaId])
  outputs.push(first.output)
  t.equal(first.code, 1, 'exit 1: a distributor on the list was not notified')
  t.match(first.output, /\n {2}sent\s+Alpha Linux <security@alpha\.example>/)
  t.match(first.output, /\n {2}sent\s+Beta OS <secteam@beta\.example>/)
  t.match(first.output, /REFUSED\s+Gamma Distro <distros@gamma\.example>: no key configured/, 'the keyless distributor is named')
  t.match(first.output, '2 sent, 0 already notified, 1 refused, 0 failed')
  t.equal(mailsTo(w, GAMMA).length, 0, 'the keyless distributor gets nothing')
  t.equal(mailsTo(w, ALPHA).length, 1)
  t.equal(mailsTo(w, BETA).length, 1)
  t.same(mailsTo(w, ALPHA)[0]!.envelope.rcptTo.map((r) => r.address), [ALPHA], 'one recipient per message')

  for (const [peer, other, address, name] of [[alpha, beta, ALPHA, 'Alpha Linux'], [beta, alpha, BETA, 'Beta OS']] as const) {
    const raw = mailsTo(w, address)[0]!.raw
    const notice = await openMail(peer.gpg, raw)
    t.equal(notice.kind, 'encrypted', `${name}: PGP/MIME encrypted`)
    t.same(notice.validSigners, [w.team.fingerprint], `${name}: signed by the team key`)
    t.match(notice.text, `Hello ${name},`)
    t.match(notice.text, ghsaId)
    t.match(notice.text, SUMMARY, 'the summary')
    t.match(notice.text, /Severity: high/, 'the severity')
    t.match(notice.text, /@acme\/widget \(npm\): >= 2\.0\.0, < 2\.4\.1, fixed in\s+2\.4\.1/, 'affected and fixed versions')
    t.match(notice.text, /github\.com\/acme\/widget-go \(go\): < 0\.9\.3, fixed in\s+0\.9\.3/)
    t.match(notice.text, dayText, 'the release day')
    t.match(notice.text, /CVE: not yet assigned/)
    t.match(notice.text, /EMBARGO/)
    t.equal(notice.text.indexOf(canary), -1, `${name}: no report text in the notice`)
    await t.rejects(openMail(other.gpg, raw), `${name}'s notice does not decrypt with the other distributor's key`)
    const head = clearHeaders(raw)
    t.match(head, new RegExp(`^Subject: \\[embargoed\\] Advance notice ${ghsaId}\\r?$`, 'm'), 'a minimal subject')
    t.match(head, /^Auto-Submitted: auto-generated\r?$/m, 'generated, not an auto-reply')
    t.notMatch(head, /auto-replied/)
    t.match(head, /^Message-ID: <distributor-[0-9a-f]{16}\.\S+@example\.org>\r?$/m)
    for (const secret of [canary, SUMMARY, 'widget', '2.4.1', 'acme/security-reports']) t.equal(head.indexOf(secret), -1, `no "${secret}" in the clear headers`)
  }

  const second = await run(config, ['notify-distributors', ghsaId])
  outputs.push(second.output)
  t.equal(second.code, 1, 'still exit 1: Gamma still has no key')
  t.match(second.output, /skipped\s+Alpha Linux <security@alpha\.example>: already notified at \d{4}-/)
  t.match(second.output, /skipped\s+Beta OS <secteam@beta\.example>: already notified at/)
  t.match(second.output, '0 sent, 2 already notified, 1 refused, 0 failed')
  t.equal(distributorMail().length, 2, 'a second run sends nothing new')

  const events = (await reportEvents(w.gw.redis, w.gw.prefix).list(intakeId)).filter((e) => e.kind === 'distributor-notice')
  t.equal(events.length, 2, 'two distributor-notice events')
  t.same(events.map((e) => e.key).sort(), [addressKey(ALPHA), addressKey(BETA)].sort(), 'keyed by a hash of the address')
  t.ok(events.some((e) => e.detail?.startsWith(`Alpha Linux; key ${alpha.key.fingerprint}; release day ${release.toISOString()}; sent`)), 'detail: name, key, release day, outcome')
  for (const e of events) t.notMatch(e.detail ?? '', /@|Message-ID|<.*>/, 'no address, no Message-ID in the detail')
  const timeline = await run(config, ['timeline', ghsaId])
  t.equal((timeline.output.match(/distributor notified/g) ?? []).length, 2, 'the timeline shows both notices')

  const redis = Buffer.concat(await dumpValues(w.gw.redis, w.gw.prefix))
  for (const secret of [canary, ALPHA, BETA, GAMMA, 'alpha.example']) t.equal(redis.indexOf(secret), -1, `no "${secret}" in Redis`)
  const allOutput = outputs.join('')
  t.equal(allOutput.indexOf(canary), -1, 'no report text in the command output')
  t.same(w.stub.invalidRequests, [], 'every GitHub request valid against the schema')
  t.ok(w.stub.requests.some((r) => r.method === 'GET' && r.path === `/repos/acme/security-reports/security-advisories/${ghsaId}`), 'the advisory read from GitHub')
})

t.test('SMTP refusing one distributor: the others are notified, the failure is named, exit 1; the next run sends only the missing one; --resend sends again', async (t) => {
  const w = await world(t)
  const alpha = await distributorPeer(t, 'Alpha Linux', ALPHA, w.team.armoredPublic)
  const beta = await distributorPeer(t, 'Beta OS', BETA, w.team.armoredPublic)
  const dir = await tempDir(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  maintainerEdits(w, ghsaId)
  await progressStore(w.gw.redis, w.gw.prefix).set(intakeId, { releaseAt: releaseDay().toISOString() })
  const refusing = await startSmtpSink({ refuse: { [BETA]: 550 } })
  t.teardown(refusing.close)
  const file = await distributorsFile(dir, alpha, beta, { gamma: false })
  const config: Config = { ...w.gw.config(), distributorsFile: file }

  const partial = await run({ ...config, smtpUrl: refusing.url }, ['notify-distributors', ghsaId])
  t.equal(partial.code, 1, 'partial failure: exit 1')
  t.match(partial.output, /\n {2}sent\s+Alpha Linux/)
  t.match(partial.output, /FAILED\s+Beta OS <secteam@beta\.example>: SMTP 550/, 'the failed one is named')
  t.match(partial.output, '1 sent, 0 already notified, 0 refused, 1 failed')
  t.equal(refusing.messages.length, 1, 'only Alpha accepted')
  const events = reportEvents(w.gw.redis, w.gw.prefix)
  t.ok(await events.has(intakeId, 'distributor-notice', addressKey(ALPHA)))
  t.notOk(await events.has(intakeId, 'distributor-notice', addressKey(BETA)), 'a failed notice is not recorded')

  const retry = await run(config, ['notify-distributors', ghsaId])
  t.equal(retry.code, 0, 'everyone on the list notified: exit 0')
  t.match(retry.output, /skipped\s+Alpha Linux <security@alpha\.example>: already notified at/)
  t.match(retry.output, /\n {2}sent\s+Beta OS/)
  t.equal(mailsTo(w, ALPHA).length, 0, 'Alpha not sent twice')
  t.equal(mailsTo(w, BETA).length, 1)

  // The release day moves: the record says which day each notice named.
  const moved = releaseDay()
  moved.setUTCDate(moved.getUTCDate() + 1)
  await progressStore(w.gw.redis, w.gw.prefix).set(intakeId, { releaseAt: moved.toISOString() })
  const stale = await run(config, ['notify-distributors', ghsaId, '--dry-run'])
  t.equal(stale.code, 0)
  t.match(stale.output, /already notified at \S+ \(it named the release day \w+day \S+ 16:00 UTC; --resend sends the new one\)/)

  const resend = await run(config, ['notify-distributors', ghsaId, '--resend'])
  t.equal(resend.code, 0)
  t.match(resend.output, /\n {2}resent\s+Alpha Linux/)
  t.match(resend.output, /\n {2}resent\s+Beta OS/)
  t.equal(mailsTo(w, ALPHA).length, 1)
  t.equal(mailsTo(w, BETA).length, 2)
  const again = await openMail(beta.gpg, mailsTo(w, BETA)[1]!.raw)
  t.match(again.text, `${moved.toISOString().slice(0, 10)} 16:00 UTC`, 'the resent notice names the new day')
  t.not(again.headers.get('message-id'), (await openMail(beta.gpg, mailsTo(w, BETA)[0]!.raw)).headers.get('message-id'), 'a resent notice is a new message')
  const notices = (await events.list(intakeId)).filter((e) => e.kind === 'distributor-notice')
  t.equal(notices.length, 4, 'every notice sent is on record')
  t.same(notices.map((e) => e.key).filter((k) => k?.endsWith('.2')).length, 2)
})

t.test('preconditions: no team private key, no list, a broken list, a published advisory, a past release day, the template override', async (t) => {
  const w = await world(t)
  const alpha = await distributorPeer(t, 'Alpha Linux', ALPHA, w.team.armoredPublic)
  const beta = await distributorPeer(t, 'Beta OS', BETA, w.team.armoredPublic)
  const dir = await tempDir(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  await progressStore(w.gw.redis, w.gw.prefix).set(intakeId, { releaseAt: releaseDay().toISOString() })
  const file = await distributorsFile(dir, alpha, beta, { gamma: false })
  const config: Config = { ...w.gw.config(), distributorsFile: file }
  const sent = () => mailsTo(w, ALPHA).length + mailsTo(w, BETA).length

  const noKey = await run({ ...config, pgp: {} }, ['notify-distributors', ghsaId])
  t.equal(noKey.code, 1)
  t.match(noKey.output, /the team private key is not available here: set PGP_PRIVATE_KEY_FILE/)
  t.match(noKey.output, /not sent\s+Alpha Linux/)
  const badPass = await run({ ...config, pgp: { privateKey: (await openpgp.generateKey({ userIDs: [{ email: 'security@example.org' }], passphrase: 'right', format: 'armored' })).privateKey, passphrase: 'wrong' } }, ['notify-distributors', ghsaId])
  t.equal(badPass.code, 1)
  t.match(badPass.output, /the team private key could not be loaded: team keyring not usable/)

  const noList = await run(w.gw.config(), ['notify-distributors', ghsaId])
  t.equal(noList.code, 1)
  t.match(noList.output, 'DISTRIBUTORS_FILE is not set')

  await writeFile(join(dir, 'broken.yaml'), 'distributors:\n  - name: Alpha\n    email: not-an-address\n    kye: alpha.asc\n')
  const broken = await run({ ...config, distributorsFile: join(dir, 'broken.yaml') }, ['notify-distributors', ghsaId])
  t.equal(broken.code, 1)
  t.match(broken.output, /distributors\[0\] \(Alpha\)\.email must be one plain e-mail address/)
  t.match(broken.output, /unknown field `kye`/)

  const flag = await run(config, ['notify-distributors', ghsaId, '--force'])
  t.equal(flag.code, 2)
  t.match(flag.output, 'unknown flag --force')

  // TEMPLATES_DIR overrides the notice; a Subject naming the flaw is refused at load.
  const templates = join(dir, 'templates')
  await mkdir(templates)
  await writeFile(join(templates, 'distributor-notice.txt'), 'Subject: Heads-up {{ghsaId}}\n\nDear {{distributorName}}, house style notice for {{summary}} on {{releaseDay}}.\n')
  const custom = await run({ ...config, templatesDir: templates }, ['notify-distributors', ghsaId, '--dry-run'])
  t.equal(custom.code, 0)
  t.match(custom.output, `Subject: Heads-up ${ghsaId}`)
  t.match(custom.output, /Dear Alpha Linux, house style notice for Vulnerability report\s+on\s+\w+day/)
  await writeFile(join(templates, 'distributor-notice.txt'), 'Subject: {{summary}} ({{severity}})\n\nBody\n')
  const leaky = await run({ ...config, templatesDir: templates }, ['notify-distributors', ghsaId])
  t.equal(leaky.code, 1)
  t.match(leaky.output, /template: .*distributor-notice\.txt: \{\{summary\}\} may not be in the Subject, which is not encrypted/)

  await progressStore(w.gw.redis, w.gw.prefix).set(intakeId, { releaseAt: new Date(Date.now() - 86_400_000).toISOString() })
  const past = await run(config, ['notify-distributors', ghsaId])
  t.equal(past.code, 1)
  t.match(past.output, /has passed: set a new one with `advisory schedule`/)

  await progressStore(w.gw.redis, w.gw.prefix).set(intakeId, { releaseAt: releaseDay().toISOString() })
  w.stub.changeAdvisory(ghsaId, { state: 'published' })
  const published = await run(config, ['notify-distributors', ghsaId])
  t.equal(published.code, 1)
  t.match(published.output, `${ghsaId} is published: an advance notice is for an advisory not yet published`)

  // GitHub's refusal in its own words (readAdvisory, the one reader of every step); a 404 as "not found".
  w.stub.failNext(403, 1, {}, { method: 'GET' })
  const forbidden = await run(config, ['notify-distributors', ghsaId])
  t.equal(forbidden.code, 1)
  t.match(forbidden.output, `GitHub read advisory ${ghsaId} failed: 403 Resource not accessible by integration`)
  w.stub.failNext(404, 1, {}, { method: 'GET' })
  const missing = await run(config, ['notify-distributors', ghsaId])
  t.equal(missing.code, 1)
  t.match(missing.output, `${ghsaId} is not found on GitHub (deleted, or no access)`)

  t.equal(sent(), 0, 'none of these sent anything')
  t.same(w.stub.invalidRequests, [])
})

t.test('the distributors file: malformed lists fail whole, with every problem listed', async (t) => {
  const bad = async (yaml: string) => await parseDistributors(yaml, { baseDir: '/nonexistent' }).then(() => [] as string[], (err: unknown) => {
    t.type(err, DistributorsError)
    return (err as DistributorsError).problems
  })
  t.match(await bad('distributors: [\n'), [/^not valid YAML/])
  t.match(await bad('- name: x\n'), [/top level must be a mapping with `distributors:`/])
  t.match(await bad('distributors: {}\n'), ['`distributors` must be a list'])
  t.match(await bad('distributor:\n  - name: x\n'), [/unknown top-level field `distributor`/, '`distributors` must be a list'])
  const many = await bad(`distributors:
  - email: a@a.example
  - name: Dup
    email: "Dup <dup@example.org>"
  - name: Dup
    email: dup@example.org
    key: a.asc
    key_armored: "-----BEGIN"
  - name: Other
    email: DUP@example.org
  - name: Typo
    email: t@t.example
    keyfile: t.asc
  - just a string
  - name: "  "
    email: s@s.example
    key: ""
`)
  t.match(many, [
    /distributors\[0\]\.name is required/,
    /distributors\[1\] \(Dup\)\.email must be one plain e-mail address/,
    /distributors\[2\] \(Dup\): give `key` \(a file\) or `key_armored`, not both/,
    /distributors\[2\] \(Dup\): the same name as distributors\[1\]/,
    /distributors\[3\] \(Other\): the same email as distributors\[2\]/,
    /distributors\[4\]: unknown field `keyfile`/,
    /distributors\[5\] must be a mapping/,
    /distributors\[6\]\.name is required/,
    /distributors\[6\]\.key must be a non-empty string/
  ], 'every problem, each naming its entry')
  t.equal((await parseDistributors('distributors: []\n', { baseDir: '/' })).length, 0, 'an empty list is valid (the command says there is nobody)')
  await t.rejects(loadDistributors('/nonexistent/distributors.yaml'), /distributors\.yaml: not readable \(ENOENT\)/)
})

t.test('the distributors file: unusable keys keep their entry but are refused, each with its reason', async (t) => {
  const dir = await tempDir(t)
  const now = new Date()
  const gen = async (email: string, extra: { date?: Date, keyExpirationTime?: number, subkeys?: [] } = {}) =>
    await openpgp.generateKey({ userIDs: [{ name: 'D', email }], format: 'armored', ...extra })
  const good = await gen('good@d.example')
  const expired = await gen('expired@d.example', { date: new Date(now.getTime() - 10 * 86_400_000), keyExpirationTime: 86_400 })
  const revokedPair = await gen('revoked@d.example')
  const revoked = await openpgp.revokeKey({ key: await openpgp.readPrivateKey({ armoredKey: revokedPair.privateKey }), format: 'armored' })
  const signOnly = await gen('signonly@d.example', { subkeys: [] })
  const otherUid = await gen('someone-else@d.example')
  const gpg = await createGpg()
  t.teardown(gpg.close)
  const gpgSignOnly = await gpg.generateKey({ name: 'GnuPG sign only', email: 'gpgsign@d.example' })
  await writeFile(join(dir, 'good.asc'), good.publicKey)
  await writeFile(join(dir, 'two.asc'), good.publicKey + '\n' + otherUid.publicKey)
  await writeFile(join(dir, 'garbage.asc'), 'not a key at all')
  const entries: Array<[string, string, string]> = [
    ['good@d.example', 'key: good.asc', ''],
    ['expired@d.example', `key_armored: ${JSON.stringify(expired.publicKey)}`, 'the key has expired'],
    ['revoked@d.example', `key_armored: ${JSON.stringify(revoked.publicKey)}`, 'the key is revoked'],
    ['signonly@d.example', `key_armored: ${JSON.stringify(signOnly.publicKey)}`, 'the key has no valid encryption subkey (missing, expired or revoked)'],
    ['gpgsign@d.example', `key_armored: ${JSON.stringify(gpgSignOnly.armoredPublic)}`, 'the key has no valid encryption subkey (missing, expired or revoked)'],
    ['mismatch@d.example', `key_armored: ${JSON.stringify(otherUid.publicKey)}`, 'the key has no valid user ID for mismatch@d.example'],
    ['secret@d.example', `key_armored: ${JSON.stringify(good.privateKey)}`, 'that is a secret key (give the public key only)'],
    ['two@d.example', 'key: two.asc', 'the key file holds 2 keys (give the one key of this address)'],
    ['garbage@d.example', 'key: garbage.asc', 'the key is not an armored OpenPGP public key'],
    ['missing@d.example', 'key: missing.asc', 'key file missing.asc is not readable (ENOENT)'],
    ['nokey@d.example', '', 'no key configured']
  ]
  const yaml = 'distributors:\n' + entries.map(([email, key], i) => `  - name: D${i}\n    email: ${email}\n${key === '' ? '' : `    ${key}\n`}`).join('')
  await writeFile(join(dir, 'list.yaml'), yaml)
  // Judged now, after the keys were made: at `now` (above) a key made a second later is
  // not valid yet, and each would be refused for that instead of its own reason.
  const list = await loadDistributors(join(dir, 'list.yaml'), new Date())
  t.equal(list.length, entries.length, 'every entry stays on the list')
  entries.forEach(([email, , reason], i) => {
    const d = list[i]!
    t.equal(d.email, email)
    if (reason === '') {
      t.equal(d.refused, undefined, `${email}: usable`)
      t.ok(d.key, `${email}: has its key`)
      t.match(d.fingerprint, /^[0-9A-F]{40}$/)
    } else {
      t.equal(d.refused, reason, `${email}: ${reason}`)
      t.equal(d.key, undefined, `${email}: no key to encrypt to`)
    }
  })
})

t.test('the distributors file and key files: bounded reads; a FIFO or a device is refused, never read to its end', async (t) => {
  const dir = await tempDir(t)
  const key = (await openpgp.generateKey({ userIDs: [{ name: 'D', email: 'big@d.example' }], format: 'armored' })).publicKey
  // A FIFO fed 2 MiB by a writer: stat() says size 0, so a size check alone reads it all.
  const fifo = join(dir, 'fifo.asc')
  execFileSync('mkfifo', [fifo])
  const writer = spawn('sh', ['-c', `head -c 2097152 /dev/zero | tr '\\0' A > '${fifo}'`], { detached: true, stdio: 'ignore' })
  t.teardown(() => { try { process.kill(-(writer.pid as number), 'SIGKILL') } catch {} })
  await writeFile(join(dir, 'big.asc'), key + '\n'.repeat(1024 * 1024))
  await writeFile(join(dir, 'list.yaml'), [
    'distributors:',
    '  - { name: Fifo, email: fifo@d.example, key: fifo.asc }',
    '  - { name: Device, email: dev@d.example, key: /dev/null }',
    '  - { name: Big, email: big@d.example, key: big.asc }',
    ''
  ].join('\n'))
  const list = await loadDistributors(join(dir, 'list.yaml'), new Date())
  t.same(list.map((d) => d.refused), ['key file fifo.asc is not a regular file', 'key file /dev/null is not a regular file', 'key file big.asc is larger than 1 MiB'])
  t.ok(list.every((d) => d.key === undefined), 'nobody gets a notice')
  // (A device: /dev/null here; /dev/zero, which never ends, is refused the same way.)
  await t.rejects(loadDistributors('/dev/null'), /\/dev\/null: not a regular file/)
})

t.test('templates: the notice Subject may only name the GHSA id; a reply to a notice is never auto-answered', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'distributor-notice.txt'), 'Subject: [embargoed] {{ghsaId}} in {{repository}}\n\nBody {{summary}}\n')
  t.throws(() => loadTemplates(dir), TemplateError)
  t.throws(() => loadTemplates(dir), /\{\{repository\}\} may not be in the Subject, which is not encrypted \(allowed there: ghsaId\)/)
  await writeFile(join(dir, 'distributor-notice.txt'), 'Subject: Notice {{ghsaId}}\n\nBody {{summary}} {{repository}}\n')
  t.equal(loadTemplates(dir).render('distributor-notice', { ghsaId: 'GHSA-2345-6789-cfgh', summary: 's', repository: 'r' } as never).subject, 'Notice GHSA-2345-6789-cfgh')
  const builtin = loadTemplates().render('distributor-notice', { ghsaId: 'GHSA-2345-6789-cfgh' } as never)
  t.equal(builtin.subject, '[embargoed] Advance notice GHSA-2345-6789-cfgh')

  // An out-of-office from a distributor must not start an acknowledgement loop.
  const headers = new Map([['in-reply-to', '<distributor-0123456789abcdef.in_abc@example.org>']])
  t.ok(answersOwnMessage(headers, 'security@example.org'))
})
