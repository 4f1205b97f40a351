// A worker that dies after GitHub created the advisory but before it recorded the
// GHSA must not open a second advisory when the job runs again.
import t, { type Test } from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { startGithubStub } from '../helpers/github-stub.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { plainMessage } from '../helpers/messages.js'
import { progressStore } from '../../src/store/progress.js'
import { intakeMarker } from '../../src/advisory/marker.js'
import { deliveryHash, intakeIdFor } from '../../src/inbound/intake.js'

async function setup (t: Test) {
  const stub = await startGithubStub({ repos: ['StacklokLabs/security-reports'], token: 'ghp_test' })
  const smtp = await startSmtpSink()
  t.teardown(async () => { await stub.close(); await smtp.close() })
  const gw = await startGateway(t, { GITHUB_API_URL: stub.url, GITHUB_TOKEN: 'ghp_test', GITHUB_OWNER: 'StacklokLabs', GITHUB_DEFAULT_REPO: 'security-reports', SMTP_URL: smtp.url })
  return { stub, smtp, gw }
}

t.test('response lost after GitHub created the advisory: the retry finds it', async (t) => {
  const { stub, smtp, gw } = await setup(t)
  stub.failNext(502, 1, {}, { method: 'POST', applied: true })
  const res = await gw.post(plainMessage({ messageId: 'lost@example.org' }))
  await gw.waitFor(() => smtp.messages.length >= 1, 'acknowledgement')
  t.equal(stub.advisories.length, 1, 'one advisory')
  t.equal(stub.requests.filter((r) => r.method === 'POST').length, 1, 'no second POST')
  const progress = await progressStore(gw.redis, gw.prefix).get(res.id as string)
  t.equal(progress.ghsaId, stub.advisories[0]?.ghsa_id)
})

t.test('state a killed worker leaves behind (pending, advisory exists, nothing recorded)', async (t) => {
  const { stub, smtp, gw } = await setup(t)
  const raw = plainMessage({ messageId: 'killed@example.org' })
  const id = intakeIdFor(deliveryHash(raw))
  // What the dead worker did: marked the POST pending, and GitHub created the advisory.
  await progressStore(gw.redis, gw.prefix).set(id, { advisoryPending: '1' })
  stub.seedAdvisory({ owner: 'StacklokLabs', repo: 'security-reports', body: { summary: 'x', description: `${intakeMarker(id)}\nbody`, vulnerabilities: [{ package: { ecosystem: 'other' } }] } })
  const res = await gw.post(raw)
  t.equal(res.id, id)
  await gw.waitFor(() => smtp.messages.length >= 1, 'acknowledgement')
  t.equal(stub.advisories.length, 1, 'still one advisory')
  t.equal(stub.requests.filter((r) => r.method === 'POST').length, 0, 'no POST at all')
})
