// RFC 3834 loop safety with real parties: two gateways whose security@ addresses write
// to each other, and vacation auto-responders, all wired through real SMTP servers and
// the inbound endpoint. A relay delivers every mail until nothing moves any more.
import t, { type Test } from 'tap'
import { simpleParser } from 'mailparser'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js'
import { plainMessage } from '../helpers/messages.js'

interface Party { address: string, gw: Gateway, smtp: SmtpSink, posted: number }
type Responder = (mail: Buffer, to: string) => Promise<Buffer | undefined>

async function gateway (t: Test, address: string, env: Record<string, string> = {}): Promise<Party> {
  const smtp = await startSmtpSink()
  t.teardown(smtp.close)
  const gw = await startGateway(t, { SECURITY_EMAIL: address, SMTP_URL: smtp.url, ...env })
  return { address, gw, smtp, posted: 0 }
}

async function post (party: Party, raw: Buffer): Promise<void> {
  const res = await party.gw.post(raw)
  if (res.status !== 200) throw new Error(`inbound answered ${res.status}`)
  party.posted++
  await party.gw.waitFor(async () => (await party.gw.queue.getCompletedCount()) + (await party.gw.queue.getFailedCount()) >= party.posted, 'processed')
}

/**
 * Delivers what each gateway sent to the other gateway or to a responder, until a round
 * moves nothing. Returns every delivery as "from -> to".
 */
async function relay (parties: Party[], responders: Record<string, Responder>, mangle: (raw: Buffer) => Buffer = (raw) => raw): Promise<string[]> {
  const log: string[] = []
  const seen = new Map<Party, number>(parties.map((p) => [p, 0]))
  for (let round = 0; round < 20; round++) {
    let moved = false
    for (const from of parties) {
      const fresh = from.smtp.messages.slice(seen.get(from))
      seen.set(from, from.smtp.messages.length)
      for (const mail of fresh) {
        for (const rcpt of mail.envelope.rcptTo.map((r) => r.address)) {
          const target = parties.find((p) => p.address === rcpt)
          if (target !== undefined) {
            log.push(`${from.address} -> ${rcpt} [${kindOf(mail.raw)}]`)
            await post(target, mangle(mail.raw))
            moved = true
          } else if (responders[rcpt] !== undefined) {
            log.push(`${from.address} -> ${rcpt} [${kindOf(mail.raw)}]`)
            const answer = await responders[rcpt](mail.raw, rcpt)
            if (answer !== undefined) {
              log.push(`${rcpt} -> ${from.address}`)
              await post(from, answer)
              moved = true
            }
          }
        }
      }
    }
    if (!moved) return log
  }
  throw new Error(`still looping after 20 rounds: ${log.join(', ')}`)
}

/** Deliveries along an edge ("a -> b"), optionally of one kind of reply ("a -> b [ack]"). */
function count (log: string[], edge: string): number {
  return log.filter((l) => l === edge || l.startsWith(`${edge} [`)).length
}

/** The kind of our automatic mail, from its Message-ID (`<ack.<intake>@domain>`). */
function kindOf (raw: Buffer): string {
  return /^Message-ID: <([a-z-]+)\./im.exec(raw.toString('latin1'))?.[1] ?? 'other'
}

/** A vacation responder: answers every mail it gets, the way it was configured. */
function vacation (style: 'rfc3834' | 'threading-only' | 'naive'): Responder {
  return async (raw, me) => {
    const parsed = await simpleParser(raw)
    const sender = parsed.from?.value[0]?.address ?? ''
    const headers: Record<string, string> = {}
    if (style === 'rfc3834') headers['Auto-Submitted'] = 'auto-replied'
    if (style !== 'naive' && parsed.messageId !== undefined) {
      headers['In-Reply-To'] = parsed.messageId
      headers.References = parsed.messageId
    }
    return Buffer.from(plainMessage({ from: me, subject: 'Out of office', messageId: `vac-${Math.random().toString(36).slice(2)}@example.net`, body: 'I am away until Monday.', headers }).toString().replace('To: security@stacklok.com', `To: ${sender}`))
  }
}

t.test('two gateways addressed to each other exchange at most one mail each', async (t) => {
  const a = await gateway(t, 'security@a.example')
  const b = await gateway(t, 'security@b.example')
  // Someone writes to A with B's address as sender (a forged From, or B's team forwarding).
  await post(a, plainMessage({ from: 'security@b.example', messageId: 'start-1@b.example' }))
  const log = await relay([a, b], {})
  t.ok(count(log, 'security@a.example -> security@b.example') <= 1, log.join(', '))
  t.ok(count(log, 'security@b.example -> security@a.example') <= 1, log.join(', '))
  t.equal(count(log, 'security@a.example -> security@b.example'), 1, 'A acknowledged once')
})

t.test('even when a relay strips Auto-Submitted and the threading headers, the per-sender windows end the exchange: one reply of each kind', async (t) => {
  const env = { AUTO_REPLY_ACK_LIMIT: '1' }
  const a = await gateway(t, 'security@a.example', env)
  const b = await gateway(t, 'security@b.example', env)
  const strip = (raw: Buffer) => Buffer.from(raw.toString('latin1').replace(/^(Auto-Submitted|In-Reply-To|References|X-Auto-Response-Suppress):[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*/gim, ''), 'latin1')
  await post(a, plainMessage({ from: 'security@b.example', messageId: 'start-2@b.example' }))
  const log = await relay([a, b], {}, strip)
  // Our acknowledgement mentions our OpenPGP key, so the other side also sends its key
  // once (key by e-mail): each kind of reply at most once per direction.
  for (const [x, y] of [['a', 'b'], ['b', 'a']]) {
    for (const kind of ['ack', 'key']) {
      t.ok(count(log, `security@${x}.example -> security@${y}.example [${kind}]`) <= 1, `${x} -> ${y} ${kind}: ${log.join(', ')}`)
    }
    t.equal(count(log, `security@${x}.example -> security@${y}.example [other]`), 0)
  }
})

t.test('a vacation responder and the gateway exchange at most one mail each', async (t) => {
  for (const style of ['rfc3834', 'threading-only'] as const) {
    const a = await gateway(t, 'security@a.example')
    await post(a, plainMessage({ from: 'away@example.net', messageId: `report-${style}@example.net` }))
    const log = await relay([a], { 'away@example.net': vacation(style) })
    t.equal(count(log, 'security@a.example -> away@example.net'), 1, `${style}: one acknowledgement`)
    t.equal(count(log, 'away@example.net -> security@a.example'), 1, `${style}: one vacation notice, not answered`)
  }
})

t.test('a responder that ignores RFC 3834 entirely is stopped by the acknowledgement limit', async (t) => {
  const a = await gateway(t, 'security@a.example', { AUTO_REPLY_ACK_LIMIT: '2' })
  await post(a, plainMessage({ from: 'naive@example.net', messageId: 'report-naive@example.net' }))
  const log = await relay([a], { 'naive@example.net': vacation('naive') })
  t.equal(count(log, 'security@a.example -> naive@example.net'), 2, 'acknowledgements stop at AUTO_REPLY_ACK_LIMIT')
})
