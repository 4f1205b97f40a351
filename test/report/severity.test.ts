// Review of issue 6: team notices (mail and chat) show the severity the advisory was
// filed with. With a CVSS vector the old code took its first field, "CVSS:3.1", and
// would have put whatever the report's vector started with into the chat line. Issue 9
// judges the private-fork policy on the same value.
import t from 'tap'
import { filedSeverity } from '../../src/report/process.js'
import { scoreVector, type ScoredVector } from '../../src/triage/cvss.js'

function scored (vector: string): ScoredVector {
  const result = scoreVector(vector)
  if (!('score' in result)) throw new Error(result.reason)
  return result
}

t.test('the filed severity is GitHub\'s enum or nothing', async (t) => {
  t.equal(filedSeverity({ severity: 'high' }), 'high')
  t.equal(filedSeverity({ vector: scored('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), severity: 'low' }), 'critical', 'a vector\'s band wins over a stated severity')
  t.equal(filedSeverity({ vector: scored('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N') }), undefined, 'a 0.0 vector has no severity')
  t.equal(filedSeverity({ severity: '<!channel> see https://evil.example' as never }), undefined, 'anything else is nothing')
  t.equal(filedSeverity({}), undefined)
})
