// Providers redeliver (timeouts, their own retries): the same message, even after it
// was processed, must not produce a second advisory or acknowledgement.
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { plainMessage } from '../helpers/messages.js'

t.test('a redelivery after processing changes nothing', async (t) => {
  const gw = await startGateway(t, {})
  const raw = plainMessage({ messageId: 'again@example.org' })
  const first = await gw.post(raw)
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 1, 'first run')
  // Relays add headers; the Message-ID is what identifies the message.
  const again = await gw.post(Buffer.concat([Buffer.from('Received: by mx2.example.net\r\n'), raw]))
  const third = await gw.post(raw)
  t.equal(again.id, first.id)
  t.equal(third.id, first.id)
  await new Promise((r) => setTimeout(r, 300))
  t.equal(await gw.queue.getCompletedCount(), 1, 'processed once')
  t.equal(await gw.queue.getWaitingCount(), 0, 'nothing queued again')
  t.same(gw.outbox('advisories'), [`${first.id}.json`])
  t.equal(gw.outbox('mail').length, 1, 'one acknowledgement')
})
