// Issue 15 finding 8: forged senders used to drain the one hourly acknowledgement budget.
// A share (AUTO_REPLY_RESERVED_PERCENT) is kept for authenticated senders: once the
// unauthenticated share is used up, a report whose DMARC pass the provider reported still
// gets its acknowledgement, and the team notice of a report that got none says so.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startGateway } from '../helpers/gateway.js'
import { plainMessage } from '../helpers/messages.js'
import { TOPIC, sesNotification, snsSigner } from '../helpers/providers.js'

t.test('unauthenticated senders use at most their share; a DMARC-pass report still gets its acknowledgement', async (t) => {
  const signer = await snsSigner()
  const gw = await startGateway(t, { AUTO_REPLY_MAX_PER_HOUR: '4', AUTO_REPLY_RESERVED_PERCENT: '25', TEAM_NOTIFY_EMAIL: 'team@stacklok.com', SES_TOPIC_ARN: TOPIC }, { fetchText: signer.fetchText })
  const mail = () => gw.outbox('mail').map((f) => ({ name: f, text: readFileSync(join(gw.dir, 'outbox', 'mail', f), 'utf8') }))
  const acks = () => mail().filter((m) => /^To: .*forged|^To: .*genuine/m.test(m.text) && !m.text.includes('team@stacklok.com'))

  // Four forged senders (raw: no verdicts at all); the share for them is 3 of 4.
  const forged: string[] = []
  for (let i = 1; i <= 4; i++) {
    const res = await gw.post(plainMessage({ from: `forged${i}@victim.example`, messageId: `forged-${i}@victim.example`, body: `report ${i}` }))
    forged.push(res.id as string)
    await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === i, `forged report ${i} processed`)
  }
  t.equal(acks().length, 3, 'three acknowledgements: the unauthenticated share')
  const notice = mail().find((m) => m.text.includes(`notify.${forged[3]}`) || (m.text.includes('team@stacklok.com') && m.text.includes(forged[3] as string)))
  t.ok(notice, 'team notice of the fourth report')
  t.match(notice?.text.replace(/=\r?\n/g, '').replace(/\s+/g, ' '), /Acknowledgement NOT sent to the reporter: hourly limit of automatic replies to unauthenticated senders reached/, 'the team is told the reporter got no acknowledgement')

  // A genuine reporter whose domain passed DMARC at the provider (SES verdict field).
  const genuine = plainMessage({ from: 'genuine@reporter.example', messageId: 'genuine-1@reporter.example', body: 'a real report' })
  const req = sesNotification(signer, genuine, { source: 'genuine@reporter.example', dmarc: 'PASS', snsMessageId: 'genuine-1' })
  const res = await gw.inject({ method: 'POST', url: '/inbound/ses', headers: req.headers, payload: req.payload })
  t.equal(res.statusCode, 200, res.body)
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 5, 'genuine report processed')
  t.equal(acks().filter((m) => /^To: .*genuine@reporter\.example/m.test(m.text)).length, 1, 'the authenticated reporter is acknowledged from the reserve')
})
