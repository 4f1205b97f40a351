// The open threads: started by the first report, ended after a quiet spell (an idle
// thread holds its own copy of openpgp.js, the parsers and the keys), started again.
import t from 'tap'
import { createOpenPool } from '../../src/mail/open-pool.js'
import { message, openpgpEncrypt, pgpMimeEncrypted, textPart } from '../helpers/gpg.js'
import { teamKey } from '../helpers/team-key.js'

const reportText = 'Path traversal in the export endpoint.'

t.test('open threads start on demand and end when idle', async (t) => {
  const team = await teamKey()
  const pool = createOpenPool({ threads: 2, armored: [team.armoredSecret], heapMb: 128, idleMs: 300 })
  t.teardown(() => pool.close())
  const raw = async (): Promise<Buffer> => message({}, pgpMimeEncrypted(await openpgpEncrypt(textPart(reportText), { to: [team.keyring.published] })))
  const deps = { keyring: team.keyring }
  t.equal(pool.threadCount(), 0, 'no thread before the first report')
  t.equal((await pool.open(await raw(), deps)).text.trim(), reportText)
  t.ok(pool.threadCount() >= 1, 'a thread opened it')
  const until = Date.now() + 10_000
  while (pool.threadCount() > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(pool.threadCount(), 0, 'the idle thread ended')
  t.equal((await pool.open(await raw(), deps)).text.trim(), reportText, 'and a new one opens the next report')
})
