// Follow-ups: replies to a report or to its acknowledgement join the report's advisory
// as dated, signature-checked sections (updateRepositoryAdvisory), never a second
// advisory; also when replies arrive together, before the report is filed, or when a
// PATCH's answer is lost.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { stacklokLabs } from '../helpers/stackloklabs.js'
import { plainMessage } from '../helpers/messages.js'
import { message, reporterPeer, textPart } from '../helpers/gpg.js'
import { teamKey } from '../helpers/team-key.js'
import { followUpMarker } from '../../src/advisory/follow-up-section.js'

const REPORT = { from: 'Rita <rita@example.org>', subject: '[fetch] SSRF' }

function sections (description: string): string[] {
  return [...description.matchAll(/<!-- follow-up-intake-id: ([0-9a-f]{24}) -->/g)].map((m) => m[1] as string)
}

t.test('three follow-ups (reply to the report, to the ack, GHSA id in the subject) -> one advisory, three sections', async (t) => {
  const team = await teamKey()
  const { gpg, reporter } = await reporterPeer(t, team.armoredPublic, 'Rita')
  const { stub, gw, advisoryOf } = await stacklokLabs(t, { PGP_PRIVATE_KEY: team.armoredSecret })
  const root = await gw.post(plainMessage({ ...REPORT, messageId: 'root-1@example.org', body: 'The fetch tool follows redirects. FIRST-TEXT\n' }))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 1, 'report filed')
  const advisory = advisoryOf(root.id as string)
  if (advisory === undefined) return t.fail('advisory')

  const a = await gw.post(plainMessage({ from: REPORT.from, subject: 'Re: [fetch] SSRF', messageId: 'f1@example.org', headers: { 'In-Reply-To': '<root-1@example.org>', References: '<root-1@example.org>' }, body: 'More detail: FOLLOW-ONE\nSomeone posted it, so it is already public now.\n' }))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 2, 'first follow-up')
  const b = await gw.post(plainMessage({ from: 'Someone Else <other@example.com>', subject: 'Re: your vulnerability report', messageId: 'f2@example.com', headers: { 'In-Reply-To': `<ack.${root.id}@stacklok.com>` }, body: 'I can reproduce it too: FOLLOW-TWO\n' }))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 3, 'second follow-up')
  const signed = await gpg.sign('Patch attached in my next mail. FOLLOW-THREE\n', { signer: reporter.fingerprint, mode: 'clear' })
  const keydata = (await gpg.run(['--export', reporter.fingerprint])).toString('base64').replace(/.{72}/g, '$&\r\n ')
  const c = await gw.post(message({
    from: 'Rita <reporter@example.net>', to: 'security@stacklok.com', subject: `Update on ${advisory.ghsa_id}`, messageId: 'f3@example.net',
    headers: { Autocrypt: `addr=reporter@example.net; keydata=\r\n ${keydata}` }
  }, textPart(signed.toString())))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 4, 'third follow-up')

  t.equal(stub.advisories.length, 1, 'never a second advisory')
  t.same(stub.invalidRequests.map((r) => r.invalid), [])
  const description = advisory.description as string
  t.same(sections(description), [a.id, b.id, c.id], 'three sections, in order, once each')
  const [, one = '', two = '', three = ''] = description.split(/<!-- follow-up-intake-id: /)
  t.match(one, 'FOLLOW-ONE')
  t.match(one, '| Same sender as the report | yes |')
  t.match(one, '| Public disclosure | **YES: publicly disclosed', 'a follow-up saying it is public is flagged')
  t.notMatch(two, 'Public disclosure')
  const notices = gw.outbox('mail').map((f) => readFileSync(join(gw.dir, 'outbox', 'mail', f), 'utf8'))
  t.match(notices.find((m) => m.includes(`New report ${a.id}`)), /Subject: \[security intake\] URGENT New report/, 'and the team told urgently')
  t.notMatch(notices.find((m) => m.includes(`New report ${b.id}`)), 'URGENT')
  t.match(two, 'FOLLOW-TWO')
  t.match(two, '(different sender)')
  t.match(two, '**NO: a different address sent this follow-up**')
  t.match(three, 'FOLLOW-THREE')
  t.match(three, /\| Signature \| valid, by key ` [0-9A-F]{40} ` taken from the message/, 'signature checked')
  t.match(three, /### Follow-up received \d{4}-\d\d-\d\d \d\d:\d\d UTC/, 'dated')
  t.ok(description.startsWith(`<!-- intake-id: ${root.id} -->`), 'the report stays first')
  t.match(description, 'FIRST-TEXT')
  t.equal(stub.requests.filter((r) => r.method === 'PATCH' && (r.body as { description?: string }).description !== undefined).length, 3, 'one description PATCH per follow-up')
})

t.test('replies at once, a reply before its report is filed, and a lost PATCH answer: no lost or doubled sections', async (t) => {
  const { stub, gw, advisoryOf } = await stacklokLabs(t)
  // The report and a reply posted back to back: the reply waits for the advisory.
  const root = await gw.post(plainMessage({ ...REPORT, messageId: 'root-2@example.org', body: 'report\n' }))
  const early = await gw.post(plainMessage({ from: REPORT.from, subject: 'Re: [fetch] SSRF', messageId: 'e1@example.org', headers: { 'In-Reply-To': '<root-2@example.org>' }, body: 'EARLY\n' }))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 2, 'report and early reply', 30_000)
  // Two replies at once (the worker runs four jobs in parallel).
  const [x = { status: 0 }, y = { status: 0 }] = await Promise.all(['x', 'y'].map(async (n) => await gw.post(plainMessage({ from: REPORT.from, subject: 'Re: [fetch] SSRF', messageId: `${n}@example.org`, headers: { 'In-Reply-To': '<root-2@example.org>' }, body: `AT-ONCE-${n}\n` }))))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 4, 'two replies at once', 30_000)
  // GitHub applies the PATCH but the answer is lost: the retry must not append twice.
  stub.failNext(502, 1, {}, { method: 'PATCH', applied: true })
  const lost = await gw.post(plainMessage({ from: REPORT.from, subject: 'Re: [fetch] SSRF', messageId: 'lost@example.org', headers: { References: '<root-2@example.org> <x@example.org>' }, body: 'LOST-ANSWER\n' }))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 5, 'lost-answer reply', 30_000)

  t.equal(stub.advisories.length, 1, 'one advisory')
  const description = advisoryOf(root.id as string)?.description ?? ''
  t.same(sections(description).sort(), [early.id, x.id, y.id, lost.id].sort(), 'every section once')
  t.ok(!description.includes(`follow-up-intake-id: ${root.id}`), 'the report itself is no section')
  for (const id of [early.id, x.id, y.id, lost.id]) t.equal(description.split(followUpMarker(id as string)).length, 2, `${id} once`)
  t.equal(await gw.queue.getFailedCount(), 0)
  t.same(stub.invalidRequests.map((r) => r.invalid), [])
})

t.test('mail quoting a published advisory\'s (public) GHSA id is not written into it: it is a new report with its own draft', async (t) => {
  const { stub, gw, advisoryOf } = await stacklokLabs(t)
  const root = await gw.post(plainMessage({ ...REPORT, messageId: 'root-3@example.org', body: 'report\n' }))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 1, 'report filed')
  const advisory = advisoryOf(root.id as string)
  if (advisory === undefined) return t.fail('advisory')
  stub.changeAdvisory(advisory.ghsa_id, { state: 'published' })
  const before = advisory.description
  const reply = await gw.post(plainMessage({ from: 'Stranger <x@example.com>', subject: `Re: ${advisory.ghsa_id}`, messageId: 'pub@example.com', body: 'STRANGER-TEXT\n' }))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 2, 'reply handled')
  t.equal(advisoryOf(root.id as string)?.description, before, 'the public description is unchanged')
  t.notOk(stub.requests.some((r) => r.method === 'PATCH' && JSON.stringify(r.body).includes('STRANGER-TEXT')), 'no PATCH carries the reply')
  t.equal(stub.advisories.length, 2, 'a draft of its own ("bypass of GHSA-…" is a new report)')
  const own = advisoryOf(reply.id as string)
  t.equal(own?.state, 'draft')
  t.match(own?.description, 'STRANGER-TEXT')
  t.equal(await gw.queue.getFailedCount(), 0)
  t.same(stub.invalidRequests.map((r) => r.invalid), [])
})
