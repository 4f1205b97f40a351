// The triage corpus: realistic reports (plain and GnuPG-encrypted; vectors, CWE ids,
// links, logins, several candidate repositories, attachments, hostile text) through the
// whole gateway against the schema-validating GitHub stub. For each, the advisory that
// lands is asserted field by field: repository, package, severity or vector, CWE ids,
// credits, collaborators, and what the description says.
import t from 'tap'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { OWNER, stacklokLabs } from '../helpers/stackloklabs.js'
import { plainMessage } from '../helpers/messages.js'
import { attachmentPart, message, multipart, pgpMimeEncrypted, reporterPeer, textPart } from '../helpers/gpg.js'
import { teamKey } from '../helpers/team-key.js'
import { REDIS_URL, dumpValues } from '../helpers/redis.js'
import { intakeMarker } from '../../src/advisory/marker.js'
import { writeAttachment } from '../../src/cli/attachment.js'
import type { StubRequest } from '../helpers/github-stub.js'
import { Queue } from 'bullmq'
import { TIMELINE_QUEUE } from '../../src/queue/jobs.js'

interface Expect {
  repo: string
  package: { ecosystem: string, name: string | null }
  range?: string
  patched?: string
  severity?: string
  cvss?: string
  cwe?: string[]
  credits?: string[]
  users?: string[]
  teams?: string[]
  summary?: RegExp
  says?: Array<string | RegExp>
  never?: Array<string | RegExp>
  urgent?: boolean
}

interface Case { name: string, raw: () => Promise<Buffer> | Buffer, expect: Expect }

const VECTOR_31 = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N'
const VECTOR_40 = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N'
const VECTOR_LOW = 'CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N'
const DEFAULT_TEAM = { users: [], teams: ['security-team'] }
const other = { ecosystem: 'other', name: null }

t.test('corpus of reports -> advisories, field by field', async (t) => {
  const team = await teamKey()
  const { gpg, reporter } = await reporterPeer(t, team.armoredPublic, 'Ada Reporter')
  const { stub, gw, advisoryOf } = await stacklokLabs(t, { PGP_PRIVATE_KEY: team.armoredSecret })
  const log = 'level=info msg="fetching http://169.254.169.254/latest/meta-data" status=200\n'
  const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0xff, 0x10, 0x00, 0x42])

  const cases: Case[] = [
    {
      name: 'subject tag, CVSS 3.1, CWE, GitHub login',
      raw: () => plainMessage({ messageId: 'c1@example.org', subject: '[fetch] SSRF via redirects', body: `The fetch tool follows redirects to 169.254.169.254.\n${VECTOR_31}\nCWE-918\n\nRita\nGitHub: @rita-sec\n` }),
      expect: { repo: 'fetch', package: { ecosystem: 'npm', name: '@stacklok/fetch-mcp' }, cvss: VECTOR_31, cwe: ['CWE-918'], credits: ['rita-sec'], users: ['alice'], teams: [], says: ['score **8.6** (high)', '` rita-sec ` credited as reporter'] }
    },
    {
      name: 'repository link, stated severity, CODEOWNERS in .github/',
      raw: () => plainMessage({ messageId: 'c2@example.org', subject: 'Path traversal in workload config', body: 'See https://github.com/StacklokLabs/toolhive/blob/main/pkg/config/load.go#L42\nSeverity: High\nCWE-22\n' }),
      expect: { repo: 'toolhive', package: { ecosystem: 'go', name: 'github.com/stacklok/toolhive' }, severity: 'high', cwe: ['CWE-22'], users: ['jhrozek'], teams: ['maintainers'], says: ['**high** (stated by the reporter)'] }
    },
    {
      name: 'Go module path, CODEOWNERS in docs/',
      raw: () => plainMessage({ messageId: 'c3@example.org', subject: 'Header injection', body: 'import "github.com/stackloklabs/gofetch/pkg/client"\nclient.Get(userInput) lets CRLF through.\nCWE-113\n' }),
      expect: { repo: 'gofetch', package: { ecosystem: 'go', name: 'github.com/StacklokLabs/gofetch' }, cwe: ['CWE-113'], users: ['gopher'], teams: ['security-team'] }
    },
    {
      name: 'no repository named: default repository',
      raw: () => plainMessage({ messageId: 'c4@example.org', subject: 'XSS on your website', body: 'The search box reflects input. CWE-79.\n' }),
      expect: { repo: 'security-reports', package: other, cwe: ['CWE-79'], ...DEFAULT_TEAM, says: ['no repository of the organisation was named'] }
    },
    {
      name: 'several candidates: default repository, candidates listed',
      raw: () => plainMessage({ messageId: 'c5@example.org', subject: 'Shared library bug', body: 'Both https://github.com/StacklokLabs/fetch and https://github.com/StacklokLabs/mkp vendor the same parser.\n' }),
      expect: { repo: 'security-reports', package: other, ...DEFAULT_TEAM, says: ['several repositories were named', '` fetch ` (` link `; exists)', '` mkp ` (` link `; exists)'] }
    },
    {
      name: 'CVSS 4.0 vector and an alias',
      raw: () => plainMessage({ messageId: 'c6@example.org', subject: 'Query injection in osv-mcp-server', body: `Score: ${VECTOR_40}\n` }),
      expect: { repo: 'osv-mcp', package: { ecosystem: 'go', name: 'github.com/StacklokLabs/osv-mcp' }, cvss: VECTOR_40, users: [], teams: [], says: ['CVSS 4.0', 'score **9.3** (critical)'] }
    },
    {
      name: 'invalid vector reported, not sent; stated severity used',
      raw: () => plainMessage({ messageId: 'c7@example.org', subject: '[mkp] resource exhaustion', body: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:Q\nSeverity: medium\n' }),
      expect: { repo: 'mkp', package: { ecosystem: 'rust', name: 'mkp' }, severity: 'medium', users: [], teams: [], says: ['Invalid CVSS vectors (not sent)', 'Unknown component value Q for component A'] }
    },
    {
      name: 'score under 4.0 marked low',
      raw: () => plainMessage({ messageId: 'c8@example.org', subject: '[thv] local info leak', body: `Needs physical access. ${VECTOR_LOW}\n` }),
      expect: { repo: 'toolhive', package: { ecosystem: 'go', name: 'github.com/stacklok/toolhive' }, cvss: VECTOR_LOW, users: ['jhrozek'], teams: ['maintainers'], says: ['score **1.6** (low) **LOW: score under 4.0**'] }
    },
    {
      name: 'already public: floor high, summary prefixed, team told urgent',
      raw: () => plainMessage({ messageId: 'c9@example.org', subject: '[fetch] open redirect', body: 'This is already public: someone posted it on a forum.\nSeverity: medium\n' }),
      expect: { repo: 'fetch', package: { ecosystem: 'npm', name: '@stacklok/fetch-mcp' }, severity: 'high', users: ['alice'], teams: [], summary: /^\[PUBLICLY DISCLOSED\] \[fetch\] open redirect$/, says: ['**YES: publicly disclosed**', 'raised from medium by the disclosure floor'], urgent: true }
    },
    {
      name: 'exploited in the wild: critical',
      raw: () => plainMessage({ messageId: 'c10@example.org', subject: '0day in gofetch', body: 'We see this exploited in the wild against github.com/StacklokLabs/gofetch users.\n' }),
      expect: { repo: 'gofetch', package: { ecosystem: 'go', name: 'github.com/StacklokLabs/gofetch' }, severity: 'critical', users: ['gopher'], teams: ['security-team'], summary: /^\[EXPLOITED\] 0day in gofetch$/, urgent: true }
    },
    {
      name: 'profile link and a wish to collaborate',
      raw: () => plainMessage({ messageId: 'c11@example.org', subject: '[fetch] DNS rebinding', body: "Found by me (https://github.com/carol-h).\nI'd be happy to help with the fix, please add me as a collaborator.\n" }),
      expect: { repo: 'fetch', package: { ecosystem: 'npm', name: '@stacklok/fetch-mcp' }, credits: ['carol-h'], users: ['alice', 'carol-h'], teams: [], says: ['asked to collaborate'] }
    },
    {
      name: 'unknown login: not credited',
      raw: () => plainMessage({ messageId: 'c12@example.org', subject: '[mkp] crash', body: 'GitHub: @no-such-user-x\n' }),
      expect: { repo: 'mkp', package: { ecosystem: 'rust', name: 'mkp' }, users: [], teams: [], says: ['` no-such-user-x ` **not found** (not credited)'] }
    },
    {
      name: 'version range and fix version',
      raw: () => plainMessage({ messageId: 'c13@example.org', subject: '[mkp] auth bypass', body: 'Affected versions: >= 0.1.0, < 0.4.2\nFixed in 0.4.2 (my patch)\n' }),
      expect: { repo: 'mkp', package: { ecosystem: 'rust', name: 'mkp' }, range: '>= 0.1.0, < 0.4.2', patched: '0.4.2', users: [], teams: [] }
    },
    {
      name: 'unlisted subject tag of an existing repository',
      raw: () => plainMessage({ messageId: 'c14@example.org', subject: '[yardstick] pickle load', body: 'CWE-502\n' }),
      expect: { repo: 'yardstick', package: { ecosystem: 'pip', name: 'yardstick' }, cwe: ['CWE-502'], users: [], teams: [] }
    },
    {
      name: 'unlisted subject tag of a missing repository: default, listed as not found',
      raw: () => plainMessage({ messageId: 'c15@example.org', subject: '[nope-repo] bug', body: 'details\n' }),
      expect: { repo: 'security-reports', package: other, ...DEFAULT_TEAM, says: ['` nope-repo ` (` subject tag [nope-repo] (unlisted) `; **not found**)'] }
    },
    {
      name: 'links outside the organisation never route',
      raw: () => plainMessage({ messageId: 'c16@example.org', subject: 'fork issue', body: 'https://github.com/evil/fetch and https://github.com/someone/toolhive-fork\n' }),
      expect: { repo: 'security-reports', package: other, ...DEFAULT_TEAM, never: ['evil/fetch`'] }
    },
    {
      name: 'GnuPG PGP/MIME encrypted report with vector, CWE and tag',
      raw: async () => {
        const inner = textPart(`Hello,\nthe thv proxy leaks tokens.\n${VECTOR_31}\nCWE-200\nGitHub: @bob42\n`)
        const ciphertext = await gpg.encrypt(inner, { to: [team.fingerprint] })
        return message({ from: 'Ada Reporter <reporter@example.net>', to: 'security@stacklok.com', subject: '[toolhive] token leak', messageId: 'c17@example.net' }, pgpMimeEncrypted(ciphertext))
      },
      expect: { repo: 'toolhive', package: { ecosystem: 'go', name: 'github.com/stacklok/toolhive' }, cvss: VECTOR_31, cwe: ['CWE-200'], credits: ['bob42'], users: ['jhrozek'], teams: ['maintainers'], says: [/\| Encrypted \| yes/] }
    },
    {
      name: 'GnuPG inline-armored, signed report',
      raw: async () => {
        const armored = await gpg.encrypt('npm i @stacklok/fetch-mcp then send ../../ paths.\nCWE-22 and CWE-23\nGitHub handle: dave-sec\n', { to: [team.fingerprint], signer: reporter.fingerprint })
        return message({ from: 'Ada Reporter <reporter@example.net>', to: 'security@stacklok.com', subject: 'traversal', messageId: 'c18@example.net' }, textPart(armored.toString()))
      },
      expect: { repo: 'fetch', package: { ecosystem: 'npm', name: '@stacklok/fetch-mcp' }, cwe: ['CWE-22', 'CWE-23'], credits: ['dave-sec'], users: ['alice'], teams: [], says: ['` package @stacklok/fetch-mcp `'] }
    },
    {
      name: 'attachments: a log inline, a zip listed and kept sealed',
      raw: () => message({ from: 'Reporter <reporter@example.net>', to: 'security@stacklok.com', subject: '[gofetch] metadata SSRF', messageId: 'c19@example.net' }, multipart('mixed', [
        textPart('See the attached log and reproducer.\n'),
        attachmentPart({ filename: 'server.log', contentType: 'text/plain', content: log }),
        attachmentPart({ filename: 'repro.zip', contentType: 'application/zip', content: zip })
      ])),
      expect: { repo: 'gofetch', package: { ecosystem: 'go', name: 'github.com/StacklokLabs/gofetch' }, users: ['gopher'], teams: ['security-team'], says: ['#### Attachment 1: ` server.log `', '```text\n' + log + '```', createHash('sha256').update(zip).digest('hex'), '| inline below |', '| sealed |'] }
    },
    {
      name: 'hostile text: injection, mentions, fence breaking, forged table, invalid metrics',
      raw: () => message({ from: 'Mallory <m@example.net>', to: 'security@stacklok.com', subject: '@StacklokLabs/maintainers <img src=x onerror=alert(1)> see org/repo#1', messageId: 'c20@example.net' }, multipart('mixed', [
        textPart([
          '<!-- intake-id: 000000000000000000000000 -->',
          '| Field | Value |', '| --- | --- |', '| Repository | `StacklokLabs/toolhive` |', '| Severity | critical |',
          '````', '</pre><script>alert(1)</script>', '@alice please look', '[click](javascript:alert(1))',
          'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/XX:Y', 'GitHub: @the-real-attacker-that-does-not-exist', ''
        ].join('\n')),
        attachmentPart({ filename: 'evil`name.txt', contentType: 'text/plain', content: '`````\n# heading outside?\n' })
      ])),
      expect: { repo: 'security-reports', package: other, ...DEFAULT_TEAM, summary: /^@\u200DStacklokLabs\/maintainers <img src=x onerror=alert\(1\)> see org\/repo#\u200D1$/, says: ['Invalid CVSS vectors (not sent)', '~~~text\n`````\n# heading outside?\n~~~', /### Report text\n~~~text\n<\u200D!-- intake\u200D-id: 0{24} -->\n\| Field \| Value \|/, '| Reporter on GitHub | ` the-real-attacker-that-does-not-exist ` **not found**'], never: ['<!-- intake-id: 000000000000000000000000 -->'] }
    },
    {
      name: 'several CWE ids and a CVE link (public)',
      raw: () => plainMessage({ messageId: 'c21@example.org', subject: '[fetch] CSRF + XSS', body: 'Same class as https://nvd.nist.gov/vuln/detail/CVE-2024-12345\nCWE-352, CWE-79\n' }),
      expect: { repo: 'fetch', package: { ecosystem: 'npm', name: '@stacklok/fetch-mcp' }, cwe: ['CWE-352', 'CWE-79'], severity: 'high', users: ['alice'], teams: [], summary: /^\[PUBLICLY DISCLOSED\]/, says: ['` CVE-2024-12345 `'], urgent: true }
    }
  ]

  const ids: string[] = []
  for (const c of cases) {
    const res = await gw.post(await c.raw())
    t.equal(res.status, 200, `${c.name}: accepted`)
    ids.push(res.id as string)
  }
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === cases.length, 'all processed', 60_000)
  t.equal(await gw.queue.getFailedCount(), 0, 'no job failed')
  t.same(stub.invalidRequests.map((r) => r.invalid), [], 'every request valid against GitHub\'s schema and rules')
  t.equal(stub.advisories.length, cases.length, 'one advisory per report')

  const timeline = new Queue(TIMELINE_QUEUE, { connection: gw.redis, prefix: gw.prefix })
  t.teardown(async () => { await timeline.close() })
  const reminders = await timeline.getJobs(['delayed', 'waiting'])
  const posts = stub.requests.filter((r) => r.method === 'POST' && r.status === 201)
  const patches = stub.requests.filter((r) => r.method === 'PATCH')
  const mails = gw.outbox('mail').map((f) => readFileSync(join(gw.dir, 'outbox', 'mail', f), 'utf8'))

  cases.forEach((c, i) => {
    const id = ids[i] as string
    const e = c.expect
    t.test(c.name, async (t) => {
      const advisory = advisoryOf(id)
      if (advisory === undefined) return t.fail('advisory filed')
      t.match(advisory.html_url, `/${OWNER}/${e.repo}/security/advisories/`, 'repository')
      const post = posts.find((r) => (r.body as { description: string }).description.startsWith(intakeMarker(id))) as StubRequest
      t.equal(post.path, `/repos/${OWNER}/${e.repo}/security-advisories`)
      const body = post.body as Record<string, any>
      t.same(body.vulnerabilities, [{
        package: e.package,
        ...(e.range === undefined ? {} : { vulnerable_version_range: e.range }),
        ...(e.patched === undefined ? {} : { patched_versions: e.patched })
      }], 'package and versions')
      t.equal(body.severity, e.severity, 'severity')
      t.equal(body.cvss_vector_string, e.cvss, 'vector')
      t.notOk(body.severity !== undefined && body.cvss_vector_string !== undefined, 'never both')
      t.same(body.cwe_ids, e.cwe, 'CWE ids')
      t.same(body.credits, e.credits?.map((login) => ({ login, type: 'reporter' })), 'credits')
      if (e.summary !== undefined) t.match(body.summary, e.summary, 'summary')
      const patch = patches.find((r) => r.path.endsWith(`/${advisory.ghsa_id}`))
      const users = e.users ?? []
      const teams = e.teams ?? []
      if (users.length + teams.length === 0) t.notOk(patch, 'no collaborators to add')
      else t.same(patch?.body, { collaborating_users: users, collaborating_teams: teams }, 'collaborators from CODEOWNERS (and the reporter who asked)')
      t.equal(advisory.description?.split('<!-- intake-id:').length, 2, 'exactly one intake marker')
      for (const s of e.says ?? []) t.match(advisory.description, s)
      for (const s of e.never ?? []) t.notMatch(advisory.description, s)
      const notice = mails.find((m) => m.includes(`New report ${id}`))?.replace(/=\r?\n/g, '') // quoted-printable soft breaks
      t.ok(notice, 'team notified')
      t.equal(/URGENT/.test(notice ?? ''), e.urgent === true, 'urgent when public or exploited')
      t.match(notice, `Repository: ${OWNER}/${e.repo}`, 'the notice names the routed repository')
      const first = reminders.find((j) => j.data.intakeId === id)
      t.match(first?.data, { owner: OWNER, repo: e.repo, ghsaId: advisory.ghsa_id, urgent: e.urgent === true }, 'reminders watch the routed advisory, short intervals when urgent')
    })
  })

  t.test('CLI: the zip of the attachment report comes back byte for byte; the log too', async (t) => {
    const id = ids[cases.findIndex((c) => c.name.startsWith('attachments'))] as string
    const dir = mkdtempSync(join(tmpdir(), 'attachment-'))
    const redis = new Redis(REDIS_URL)
    t.teardown(() => { redis.disconnect(); rmSync(dir, { recursive: true, force: true }) })
    let said = ''
    t.equal(await writeAttachment(gw.config(), redis, team.keyring, { id, n: 2, file: join(dir, 'repro.zip') }, (s) => { said += s }), 0)
    t.same(readFileSync(join(dir, 'repro.zip')), zip)
    t.match(said, createHash('sha256').update(zip).digest('hex'))
    t.equal(await writeAttachment(gw.config(), redis, team.keyring, { id, n: 1 }, () => {}), 1 - 1, 'default file name in the working directory')
    const made = readdirSync('.').filter((f) => f.startsWith(`${id}-1-`))
    t.same(made, [`${id}-1-server.log`])
    for (const f of made) rmSync(f)
    t.equal(await writeAttachment(gw.config(), redis, team.keyring, { id, n: 3 }, () => {}), 1, 'no such attachment')
  })

  t.test('repository facts are cached: each manifest and CODEOWNERS read once for many reports', async (t) => {
    const reads = stub.requests.filter((r) => r.method === 'GET' && r.path.startsWith(`/repos/${OWNER}/fetch/contents/`)).map((r) => r.path)
    t.ok(reads.length > 0)
    t.equal(new Set(reads).size, reads.length, 'no file of fetch read twice though six reports went there')
  })

  t.test('no report text in Redis or logs', async (t) => {
    const values = Buffer.concat(await dumpValues(gw.redis, gw.prefix))
    for (const canary of ['169.254.169.254', 'rita-sec', 'onerror', 'pickle']) {
      t.equal(values.indexOf(canary), -1, `${canary} not in Redis`)
      t.equal(gw.logs.join('').indexOf(canary), -1, `${canary} not in logs`)
    }
  })
})
