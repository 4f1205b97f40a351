// Review of issue 6: team notices (mail and chat) show the severity the advisory was
// filed with. With a CVSS vector the old code took its first field, "CVSS:3.1", and
// would have put whatever the report's vector started with into the chat line.
import t from 'tap'
import { filedSeverity } from '../../src/report/process.js'

t.test('the severity of team notices is GitHub\'s enum or nothing', async (t) => {
  t.equal(filedSeverity({ severity: 'high' }), 'high')
  t.equal(filedSeverity({ cvss_vector_string: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }), undefined, 'a vector is not a severity')
  t.equal(filedSeverity({ cvss_vector_string: '<!channel> see https://evil.example/AV:N' }), undefined)
  t.equal(filedSeverity({}), undefined)
})
