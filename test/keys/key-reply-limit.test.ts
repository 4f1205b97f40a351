// The key reply goes to an unauthenticated From, so it must not let a stranger make the
// gateway mail one inbox again and again (sub-addresses are one inbox) or mail many
// forged addresses in bulk (an hourly cap across all addresses). Real Redis, real key.
import t from 'tap'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { createKeyReplier } from '../../src/keys/key-request.js'
import { createKeySource } from '../../src/keys/published.js'
import { teamKey } from '../helpers/team-key.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'

function asker (address: string, n: number) {
  return { headers: new Map<string, string>(), from: { address, name: '' }, messageId: `<ask-${n}@example.net>`, references: [], subject: 'PGP key?' }
}

t.test('key replies: one inbox per 3 days, and a global hourly cap', async (t) => {
  const team = await teamKey()
  const dir = mkdtempSync(join(tmpdir(), 'intake-keylimit-'))
  const keysDir = join(dir, 'keys')
  mkdirSync(keysDir)
  writeFileSync(join(keysDir, 'team.asc'), team.armoredPublic)
  const prefix = uniquePrefix('keylimit')
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => {
    redis.disconnect()
    await dropPrefix(prefix)
    rmSync(dir, { recursive: true, force: true })
  })
  const replier = createKeyReplier({
    keySource: createKeySource({ keysDir, production: false }),
    keyring: team.keyring,
    redis,
    prefix,
    securityEmail: 'security@example.org',
    publicUrl: 'https://security.example.org',
    from: 'security@example.org',
    maxRepliesPerHour: 3,
    now: () => new Date('2026-11-28T21:30:00Z') // one hour window, whatever the clock says
  })
  const sent = (r: unknown) => !('suppressed' in (r as object))

  t.ok(sent(await replier.build(asker('alice@example.net', 1), 'id-1')), 'first reply to alice')
  t.ok(sent(await replier.build(asker('alice@example.net', 1), 'id-1')), 'a retry of the same intake still sends')
  t.match(await replier.build(asker('Alice+again@Example.NET', 2), 'id-2'), { suppressed: /already sent/ }, 'a sub-address of the same inbox is the same inbox')
  t.match(await replier.build(asker('alice+x@example.net', 3), 'id-3'), { suppressed: /already sent/ })

  t.ok(sent(await replier.build(asker('bob@example.net', 4), 'id-4')))
  t.ok(sent(await replier.build(asker('carol@example.net', 5), 'id-5')))
  t.match(await replier.build(asker('dave@example.net', 6), 'id-6'), { suppressed: /hourly limit/ }, 'the fourth stranger this hour gets nothing')
  t.match(await replier.build(asker('erin@example.net', 7), 'id-7'), { suppressed: /hourly limit/ })
})
