// Prometheus metrics. One registry per process, made by `createMetrics` and passed to
// whatever records into it (never prom-client's global default registry, so tests and
// several in-process roles never share or double-register series).
//
// Labels are bounded sets we choose (route templates, provider names, our own reason
// codes); nothing a sender writes ever becomes a label value.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Queue } from 'bullmq'

export interface Metrics {
  registry: Registry
  inboundRequests: Counter<'provider' | 'status'>
  messagesQueued: Counter<'source'>
  messagesRedelivered: Counter<'source'>
  reportsProcessed: Counter<'outcome'>
  messagesDecrypted: Counter
  messagesQuarantined: Counter<'reason'>
  advisories: Counter<'action'>
  replies: Counter<'kind' | 'result' | 'reason'>
  githubRequests: Counter<'method' | 'route' | 'status'>
  githubRateLimitWaits: Counter<'kind' | 'retried'>
  jobDuration: Histogram<'queue' | 'outcome'>
  /** Queues whose depth and age are read at scrape time. */
  watchQueue: (queue: Queue) => void
}

export function createMetrics (opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry()
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'intake_' })
  const registers = [registry]
  const queues = new Map<string, Queue>()

  const metrics: Metrics = {
    registry,
    inboundRequests: new Counter({ name: 'intake_inbound_requests_total', help: 'Inbound webhook answers by provider and HTTP status', labelNames: ['provider', 'status'], registers }),
    messagesQueued: new Counter({ name: 'intake_messages_queued_total', help: 'Messages sealed and queued (first delivery)', labelNames: ['source'], registers }),
    messagesRedelivered: new Counter({ name: 'intake_messages_redelivered_total', help: 'Redeliveries answered with the known id, nothing queued', labelNames: ['source'], registers }),
    reportsProcessed: new Counter({ name: 'intake_reports_processed_total', help: 'Report jobs by outcome (advisory, quarantined, retry, returned)', labelNames: ['outcome'], registers }),
    messagesDecrypted: new Counter({ name: 'intake_messages_decrypted_total', help: 'Reports that arrived encrypted and were decrypted', registers }),
    messagesQuarantined: new Counter({ name: 'intake_messages_quarantined_total', help: 'Reports put in the quarantine, by reason code', labelNames: ['reason'], registers }),
    advisories: new Counter({ name: 'intake_advisories_total', help: 'Draft advisories created or updated', labelNames: ['action'], registers }),
    replies: new Counter({ name: 'intake_replies_total', help: 'Replies to reporters (ack, unreadable) sent or suppressed, by reason', labelNames: ['kind', 'result', 'reason'], registers }),
    githubRequests: new Counter({ name: 'intake_github_requests_total', help: 'GitHub API requests by method, route template and status (one per attempt)', labelNames: ['method', 'route', 'status'], registers }),
    githubRateLimitWaits: new Counter({ name: 'intake_github_rate_limit_waits_total', help: 'GitHub rate limits hit, and whether the request waited and retried', labelNames: ['kind', 'retried'], registers }),
    jobDuration: new Histogram({ name: 'intake_job_duration_seconds', help: 'Time one job run took, by queue and outcome', labelNames: ['queue', 'outcome'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers }),
    watchQueue: (queue) => { queues.set(queue.name, queue) }
  }

  // prom-client registers a metric when it is constructed: the registry holds these two.
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'intake_queue_jobs',
    help: 'Jobs per queue and state, read from Redis at scrape time',
    labelNames: ['queue', 'state'],
    registers,
    async collect () {
      this.reset()
      for (const [name, queue] of queues) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children')
        for (const [state, n] of Object.entries(counts)) this.set({ queue: name, state }, n)
      }
    }
  })
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'intake_queue_oldest_waiting_age_seconds',
    help: 'Age of the oldest job waiting to be processed (0 when none waits)',
    labelNames: ['queue'],
    registers,
    async collect () {
      this.reset()
      for (const [name, queue] of queues) {
        const [oldest] = await queue.getJobs(['wait'], 0, 0, true)
        this.set({ queue: name }, oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest.timestamp) / 1000))
      }
    }
  })
  return metrics
}

/** `/inbound/mailgun/mime` -> `mailgun`: the provider is the path segment after /inbound. */
export function providerOfRoute (routeUrl: string | undefined): string | undefined {
  if (routeUrl === undefined || !routeUrl.startsWith('/inbound/')) return undefined
  const provider = routeUrl.slice('/inbound/'.length).split('/', 1)[0]
  return provider === undefined || provider === '' ? undefined : provider
}

/** Our reason strings ("refused by the mail server (550)") as a bounded label. */
export function reasonLabel (reason: string): string {
  const slug = reason.split('(', 1)[0]?.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') ?? ''
  return slug === '' ? 'other' : slug.slice(0, 48)
}
