// The advisory world of the timeline tests: a gateway with the GitHub stub, an SMTP sink,
// a chat sink, a GnuPG reporter (whose key arrives by Autocrypt) and the timeline queue.
// The clock is the queue's: `fire` promotes the delayed job a test wants to run next.
import type { Test } from 'tap'
import { simpleParser } from 'mailparser'
import { Queue, type Job } from 'bullmq'
import { startGateway, type Gateway } from './gateway.js'
import { startGithubStub, type GithubStub } from './github-stub.js'
import { startSmtpSink, type SmtpSink } from './smtp-sink.js'
import { startChatSink, type ChatSink } from './chat-sink.js'
import { createGpg, message, pgpMimeEncrypted, textPart, type Gpg, type GpgKey } from './gpg.js'
import { teamKey } from './team-key.js'
import { TIMELINE_QUEUE } from '../../src/queue/jobs.js'

export interface World { gw: Gateway, smtp: SmtpSink, chat: ChatSink, stub: GithubStub, timeline: Queue, gpg: Gpg, reporter: GpgKey, team: Awaited<ReturnType<typeof teamKey>> }

export async function world (t: Test, env: Record<string, string> = {}): Promise<World> {
  const team = await teamKey()
  const smtp = await startSmtpSink()
  const chat = await startChatSink()
  const stub = await startGithubStub({ repos: ['acme/security-reports'], token: 'ghp_test' })
  t.teardown(async () => { await smtp.close(); await chat.close(); await stub.close() })
  const gw = await startGateway(t, {
    PGP_PRIVATE_KEY: team.armoredSecret, SECURITY_EMAIL: 'security@example.org',
    GITHUB_API_URL: stub.url, GITHUB_TOKEN: 'ghp_test', GITHUB_OWNER: 'acme', GITHUB_DEFAULT_REPO: 'security-reports',
    SMTP_URL: smtp.url, TEAM_NOTIFY_EMAIL: 'team@example.org', NOTIFY_WEBHOOK_URL: chat.url,
    REMINDER_DELAYS: '1h,2h,3h', REMINDER_DELAYS_URGENT: '10m,20m,30m', REMINDER_REPEAT: '1h', RETROSPECTIVE_DELAY: '1d',
    ...env
  })
  const timeline = new Queue(TIMELINE_QUEUE, { connection: gw.redis, prefix: gw.prefix })
  t.teardown(async () => { await timeline.close() })
  const gpg = await createGpg()
  t.teardown(gpg.close)
  await gpg.importKey(team.armoredPublic)
  const reporter = await gpg.generateKey({ name: 'Reporter', email: 'rita@example.net', encryptionSubkey: 'cv25519' })
  return { gw, smtp, chat, stub, timeline, gpg, reporter, team }
}

/** An encrypted report with the reporter's key in Autocrypt; resolves once it is acknowledged. */
export async function report (w: World, secret: string): Promise<{ intakeId: string, ghsaId: string }> {
  const keydata = (await w.gpg.run(['--export', w.reporter.fingerprint])).toString('base64')
  const raw = message({ from: 'rita@example.net', to: 'security@example.org', messageId: 'rita-1@example.net', headers: { Autocrypt: `addr=rita@example.net; keydata=${keydata}` } },
    pgpMimeEncrypted(await w.gpg.encrypt(textPart(`SSRF in the fetch tool. ${secret}\n`), { to: [w.team.fingerprint] })))
  const res = await w.gw.post(raw)
  await w.gw.waitFor(() => mailsTo(w, 'rita@example.net').length === 1, 'acknowledgement')
  const intakeId = res.id as string
  // The timeline starts right after the acknowledgement and the team notice.
  await w.gw.waitFor(async () => await w.timeline.getJob(`remind-${intakeId}-0`), 'timeline started')
  return { intakeId, ghsaId: w.stub.advisories[0]!.ghsa_id }
}

export function mailsTo (w: World, address: string) {
  return w.smtp.messages.filter((m) => m.envelope.rcptTo.some((r) => r.address === address))
}

export async function teamSubjects (w: World): Promise<string[]> {
  return await Promise.all(mailsTo(w, 'team@example.org').map(async (m) => (await simpleParser(m.raw)).subject ?? ''))
}

/** "Time passes" for one delayed job: promote it and wait for its result. */
export async function fire (w: World, jobId: string): Promise<unknown> {
  const job = await w.gw.waitFor(async () => await w.timeline.getJob(jobId), `job ${jobId}`) as Job
  if (await job.isDelayed()) await job.promote()
  return await w.gw.waitFor(async () => {
    const state = await job.getState()
    if (state === 'failed') throw new Error(`${jobId} failed: ${(await w.timeline.getJob(jobId))?.failedReason}`)
    return state === 'completed' ? (await w.timeline.getJob(jobId))?.returnvalue : undefined
  }, `job ${jobId} to finish`)
}

