// The release announcement's once-only rule when two runs meet (the `announce` job and
// `advisory announce`): the one that finds the other's marker must tell "already
// announced" from "may have been posted". Real Redis; GitHub and Discord stand-ins.
import t from 'tap'
import type { Octokit } from '@octokit/rest'
import { Redis } from 'ioredis'
import { announce, type AnnounceDeps } from '../../src/timeline/announce.js'
import type { WebhookOutcome } from '../../src/notify/chat.js'
import { loadTemplates } from '../../src/mail/templates.js'
import { reportEvents } from '../../src/store/events.js'
import { progressStore } from '../../src/store/progress.js'
import { gatewayKeys } from '../../src/queue/jobs.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.js'

const ref = { owner: 'acme', repo: 'widget', ghsaId: 'GHSA-2345-6789-cfgh' }
const intakeId = 'in_race'

/** Only the advisory read announce() makes: published. */
const octokit = {
  rest: {
    securityAdvisories: {
      getRepositoryAdvisory: async () => ({
        data: { ghsa_id: ref.ghsaId, state: 'published', summary: 'SSRF in the fetch tool', description: '', html_url: `https://github.com/acme/widget/security/advisories/${ref.ghsaId}`, cve_id: null, severity: 'high', vulnerabilities: [] }
      })
    }
  }
} as unknown as Octokit

function discord () {
  const posts: string[] = []
  return { posts, post: async (content: string): Promise<WebhookOutcome> => { posts.push(content); return { posted: true } } }
}

t.test('a run that loses the marker to a run that has just posted says "already announced", not "unconfirmed"', async (t) => {
  const prefix = uniquePrefix('announce-race')
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => { redis.disconnect(); await dropPrefix(prefix) })
  const base = { prefix, octokit, progress: progressStore(redis, prefix), events: reportEvents(redis, prefix), templates: loadTemplates() }
  const stateKey = gatewayKeys(prefix).state(intakeId)

  // The other run (the command) posts between our read of the done record and our marker.
  const other = discord()
  let raced = false
  const racing = new Proxy(redis, {
    get (target, prop, receiver) {
      if (prop === 'hsetnx' && !raced) {
        return async (...args: Parameters<Redis['hsetnx']>) => {
          raced = true
          t.match(await announce(intakeId, ref, { ...base, redis, discord: other } satisfies AnnounceDeps), { outcome: 'posted' }, 'the other run posts')
          return await target.hsetnx(...args)
        }
      }
      const value = Reflect.get(target, prop, receiver) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  const mine = discord()
  const result = await announce(intakeId, ref, { ...base, redis: racing, discord: mine })
  t.ok(raced)
  t.match(result, { outcome: 'already announced' }, 'not "may have been posted": the team is not asked to check the channel')
  t.equal(other.posts.length, 1)
  t.equal(mine.posts.length, 0, 'posted once')
  t.ok(await redis.hget(stateKey, 'timeline.announced'))
})
