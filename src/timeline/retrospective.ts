// The `retrospective` job, RETROSPECTIVE_DELAY after publication (SECURITY.md: 1-3 days
// after the release): a prepared draft for the team, by mail (encrypted to the members'
// keys when TEAM_NOTIFY_KEYS_FILE is set): the report's timeline from the event record,
// how long each step took, who was involved (the advisory's collaborators and credits,
// read from GitHub now, never stored), links, and SECURITY.md's open questions as
// headings. Ids, logins and times only: nothing of the report. The team chat gets a
// content-free reminder.
import type { Job } from 'bullmq'
import { retrospectiveNotice } from '../mail/messages.js'
import type { JobMap } from '../queue/jobs.js'
import { formatTimeline, type EventKind, type ReportEvent } from '../store/events.js'
import { readAdvisory, safeLogin, type RepositoryAdvisory } from '../advisory/github-advisory.js'
import type { TimelineDeps } from './deps.js'

const PEOPLE_MAX = 50

export async function runRetrospective (job: Job<JobMap['retrospective']>, deps: TimelineDeps): Promise<string> {
  const data = job.data
  const progress = await deps.progress.open(data.intakeId)
  const repository = `${data.owner}/${data.repo}`
  let htmlUrl = `https://github.com/${repository}/security/advisories/${data.ghsaId}`
  if (deps.team.email !== undefined && progress.state['timeline.retro.mail'] === undefined) {
    let advisory: RepositoryAdvisory | undefined
    let unavailable = false
    try {
      advisory = await readAdvisory(deps.octokit, data)
    } catch (err) {
      // The draft still goes on the last attempt, with the people left for the team to add.
      if (job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw err
      unavailable = true
    }
    if (advisory !== undefined && /^https:\/\//.test(advisory.html_url)) htmlUrl = advisory.html_url
    const events = await deps.events.list(data.intakeId)
    await deps.team.mail(retrospectiveNotice({
      intakeId: data.intakeId,
      advisory: { ghsaId: data.ghsaId, htmlUrl },
      repo: repository,
      to: deps.team.email,
      from: deps.mail.from,
      templates: deps.templates,
      publishedAt: data.publishedAt,
      cveId: advisory?.cve_id ?? null,
      timeline: events.length === 0 ? ['(no events on record)'] : formatTimeline(events),
      durations: durations(events),
      people: advisory !== undefined ? people(advisory, data.owner) : [unavailable ? '(GitHub did not answer: see the advisory)' : '(the advisory is gone)'],
      links: links(htmlUrl, advisory)
    }))
    await progress.record({ 'timeline.retro.mail': new Date().toISOString() })
  }
  // Also on a retry after a crash between the two writes (recorded once, at the mail's time).
  const mailed = progress.state['timeline.retro.mail']
  if (mailed !== undefined) await deps.events.record(data.intakeId, 'retrospective-sent', { at: mailed, detail: 'draft mailed to the team' })
  if (deps.team.chat !== undefined && progress.state['chat.retro'] === undefined) {
    const outcome = await deps.team.chat({ title: `Retrospective due: ${data.ghsaId}`, lines: [`Repository: ${repository}`, `Published: ${data.publishedAt}`, 'SECURITY.md: a blameless retrospective 1-3 days after the release (draft in the team mail)'], url: htmlUrl })
    await progress.record({ 'chat.retro': `${outcome} ${new Date().toISOString()}` })
  }
  return 'reminded'
}

const SPANS: Array<[label: string, to: EventKind]> = [
  ['Time to acknowledge', 'acknowledged'],
  ['Time to advisory', 'advisory-created'],
  ['Time to publish', 'published']
]

/** From the report's arrival to each milestone, as "2d 4h 10m". */
export function durations (events: readonly ReportEvent[]): string[] {
  const at = (kind: EventKind) => events.find((e) => e.kind === kind && e.key === undefined)?.at
  const received = at('received')
  return SPANS.map(([label, kind]) => {
    const end = at(kind)
    // GitHub's times have whole seconds: up to a second "before" the report is the same second.
    const raw = received === undefined || end === undefined ? NaN : Date.parse(end) - Date.parse(received)
    const ms = raw < 0 && raw > -1000 ? 0 : raw
    return `${`${label}:`.padEnd(21)}${Number.isFinite(ms) && ms >= 0 ? formatDuration(ms) : 'unknown (not on record)'}`
  })
}

export function formatDuration (ms: number): string {
  const minutes = Math.floor(ms / 60_000)
  const [d, h, m] = [Math.floor(minutes / 1440), Math.floor(minutes / 60) % 24, minutes % 60]
  if (minutes === 0) return `${Math.round(ms / 1000)}s`
  return [d > 0 ? `${d}d` : '', h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : ''].filter(Boolean).join(' ')
}

/** Collaborators, teams, credits and the publisher, as GitHub lists them now. */
function people (advisory: RepositoryAdvisory, owner: string): string[] {
  const list = (values: Array<string | undefined>) => {
    const unique = [...new Set(values.filter((v): v is string => v !== undefined))]
    return unique.length === 0 ? 'none' : unique.slice(0, PEOPLE_MAX).join(', ') + (unique.length > PEOPLE_MAX ? `, and ${unique.length - PEOPLE_MAX} more` : '')
  }
  const credits = (advisory.credits_detailed ?? []).length > 0
    ? (advisory.credits_detailed ?? []).map((c) => at(safeLogin(c.user.login), c.type))
    : (advisory.credits ?? []).map((c) => at(safeLogin(c.login), c.type))
  const publisher = safeLogin(advisory.publisher?.login)
  return [
    `Collaborators: ${list((advisory.collaborating_users ?? []).map((u) => at(safeLogin(u.login))))}`,
    `Teams:         ${list((advisory.collaborating_teams ?? []).map((t) => { const slug = safeLogin(t.slug); return slug === undefined ? undefined : `@${owner}/${slug}` }))}`,
    `Credited:      ${list(credits)}`,
    ...(publisher === undefined ? [] : [`Published by:  @${publisher}`])
  ]
}

function at (login: string | undefined, role?: string): string | undefined {
  if (login === undefined) return undefined
  return role === undefined || !/^[a-z_]{1,40}$/.test(role) ? `@${login}` : `@${login} (${role.replace(/_/g, ' ')})`
}

function links (htmlUrl: string, advisory: RepositoryAdvisory | undefined): string[] {
  const cve = advisory?.cve_id
  const fork = advisory?.private_fork?.html_url
  return [
    `Advisory: ${htmlUrl}`,
    ...(cve != null && /^CVE-\d{4}-\d{4,}$/.test(cve) ? [`CVE:      https://www.cve.org/CVERecord?id=${cve}`] : []),
    ...(fork != null && /^https:\/\//.test(fork) ? [`Fork:     ${fork}`] : [])
  ]
}
