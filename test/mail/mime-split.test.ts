import t from 'tap'
import { decodeBody, describeStructure, parseContentType, splitMime, splitMultipart, toCrlf } from '../../src/mail/mime-split.js'

t.test('headers, content type and body', async (t) => {
  const raw = Buffer.from('Subject: a\r\n folded\r\nContent-Type: Multipart/Signed; boundary="b 1;x"; protocol="application/pgp-signature";\r\n micalg=pgp-sha256\r\n\r\nbody')
  const entity = splitMime(raw)
  t.same(entity.headers[0], { name: 'subject', value: 'a folded' })
  t.same(entity.contentType, { type: 'multipart/signed', params: { boundary: 'b 1;x', protocol: 'application/pgp-signature', micalg: 'pgp-sha256' } })
  t.equal(entity.transferEncoding, '7bit')
  t.same(parseContentType(undefined), { type: 'text/plain', params: {} })
  t.same(parseContentType('garbage'), { type: 'text/plain', params: {} })
  t.same(parseContentType('text/plain; name*0="a"; name*1="b.txt"').params, { name: 'ab.txt' })
  t.equal(splitMime(Buffer.from('\r\nno headers')).body.toString(), 'no headers')
})

t.test('RFC 2046: the line break before a delimiter belongs to the delimiter', async (t) => {
  const body = Buffer.from('preamble\r\n--XY\r\nContent-Type: text/plain\r\n\r\nfirst\r\n\r\n--XY  \r\nsecond\r\n--XYZ not a delimiter\r\n--XY--\r\nepilogue\r\n--XY\r\nignored')
  const parts = splitMultipart(body, 'XY')
  t.same(parts.map(String), ['Content-Type: text/plain\r\n\r\nfirst\r\n', 'second\r\n--XYZ not a delimiter'])
  const lf = splitMultipart(Buffer.from('--b\nContent-Type: text/plain\n\nx\n--b--\n'), 'b')
  t.same(lf.map(String), ['Content-Type: text/plain\n\nx'])
  t.same(splitMultipart(Buffer.from('--b\r\nunterminated'), 'b').map(String), ['unterminated'], 'a missing close delimiter keeps the open part')
  t.same(splitMultipart(Buffer.from('--b\r\n--b--'), 'b').map(String), [''])
})

t.test('transfer decoding and CRLF', async (t) => {
  t.equal(decodeBody({ transferEncoding: 'base64', body: Buffer.from('aGVs\r\nbG8=') }).toString(), 'hello')
  t.equal(decodeBody({ transferEncoding: 'quoted-printable', body: Buffer.from('a=3Db=\r\nc \r\n=C3=A9') }).toString(), 'a=bc\r\né')
  t.equal(toCrlf(Buffer.from('a\nb\r\nc\rd')).toString(), 'a\r\nb\r\nc\r\nd')
})

t.test('describeStructure counts parts and caps depth', async (t) => {
  const inner = 'Content-Type: multipart/alternative; boundary=in\r\n\r\n--in\r\nContent-Type: text/plain\r\n\r\nx\r\n--in\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--in--\r\n'
  const raw = Buffer.from(`Content-Type: multipart/mixed; boundary=out\r\n\r\n--out\r\n${inner}\r\n--out\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\nhi\r\n--out--\r\n`)
  const structure = describeStructure(raw, { maxParts: 10, maxDepth: 5 })
  t.equal(structure.parts, 6)
  t.same([...structure.leafTypes].sort(), ['text/html', 'text/plain'])
  t.throws(() => describeStructure(raw, { maxParts: 5, maxDepth: 5 }), { code: 'too-large' })
  t.throws(() => describeStructure(raw, { maxParts: 10, maxDepth: 1 }), { code: 'too-large' })
})
