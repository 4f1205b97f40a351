// security.txt generation and the RFC 9116 reader: Expires under a year and never past
// the key's expiry, fields as the RFC wants them, and a reader that catches violations.
import t from 'tap'
import { parseSecurityTxt, rfc3339, securityTxtBody, securityTxtExpires } from '../../src/keys/security-txt.js'

const now = new Date('2026-11-28T12:00:00.500Z')
const DAY = 86_400_000

t.test('Expires', async (t) => {
  t.equal(rfc3339(securityTxtExpires(now, 90)), '2027-02-26T12:00:00Z', '90 days, whole seconds')
  t.equal(securityTxtExpires(now, 400).getTime() - now.getTime() <= 365 * DAY, true, 'never more than a year')
  const keyExpires = new Date(now.getTime() + 10 * DAY + 123)
  t.ok(securityTxtExpires(now, 90, keyExpires).getTime() <= keyExpires.getTime(), 'never past the key expiry')
  t.ok(securityTxtExpires(now, 90, keyExpires).getTime() > keyExpires.getTime() - 1000)
})

t.test('the generated body follows RFC 9116', async (t) => {
  const body = securityTxtBody({
    securityEmail: 'security@example.org', publicUrl: 'https://sec.example.org/', fingerprint: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01',
    preferredLanguages: 'en, de', expiresDays: 90, now, development: false,
    policyUrl: 'https://example.org/SECURITY.md', acknowledgmentsUrl: 'https://example.org/thanks'
  })
  const parsed = parseSecurityTxt(body, now)
  t.same(parsed.errors, [])
  t.same(parsed.fields.map((f) => f.name), ['Contact', 'Expires', 'Encryption', 'Encryption', 'Acknowledgments', 'Preferred-Languages', 'Canonical', 'Canonical', 'Policy'])
  t.match(body, 'Encryption: openpgp4fpr:abcdef0123456789abcdef0123456789abcdef01')
  t.match(body, 'Canonical: https://sec.example.org/.well-known/security.txt')
  t.notMatch(body, /DEVELOPMENT/)
  t.match(securityTxtBody({ securityEmail: 'a@b.example', publicUrl: 'http://localhost:8080', fingerprint: 'AB'.repeat(20), preferredLanguages: 'en', expiresDays: 90, now, development: true }), /^# DEVELOPMENT KEY/)
})

t.test('the reader catches what the RFC forbids', async (t) => {
  const base = 'Contact: mailto:s@example.org\nExpires: 2027-01-01T00:00:00Z\n'
  t.same(parseSecurityTxt(base, now).errors, [])
  t.match(parseSecurityTxt('Expires: 2027-01-01T00:00:00Z\n', now).errors, ['Contact is required'])
  t.match(parseSecurityTxt('Contact: mailto:s@example.org\n', now).errors, ['Expires must appear exactly once'])
  t.match(parseSecurityTxt(base + 'Expires: 2027-01-02T00:00:00Z\n', now).errors, ['Expires must appear exactly once'])
  t.match(parseSecurityTxt('Contact: mailto:s@example.org\nExpires: 2028-06-01T00:00:00Z\n', now).errors, ['Expires is more than a year ahead'])
  t.match(parseSecurityTxt('Contact: mailto:s@example.org\nExpires: 2026-01-01T00:00:00Z\n', now).errors, ['Expires is in the past'])
  t.match(parseSecurityTxt('Contact: mailto:s@example.org\nExpires: next year\n', now).errors, ['Expires is not an RFC 3339 date-time'])
  t.match(parseSecurityTxt(base + 'Preferred-Languages: en\nPreferred-Languages: de\n', now).errors, ['Preferred-Languages must appear at most once'])
  t.match(parseSecurityTxt(base + 'Encryption: -----BEGIN PGP PUBLIC KEY BLOCK-----\n', now).errors, ['Encryption must be a URI, not the key itself'])
  t.match(parseSecurityTxt(base + 'Policy: ftp://example.org/p\n', now).errors, [/not a web URI/])
  t.same(parseSecurityTxt(base + 'X-Unknown: whatever\n', now).errors, [], 'unknown fields are ignored')
})
