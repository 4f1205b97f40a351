// `intake advisory announce <GHSA> [--dry-run] [--force]`: the release announcement by
// hand. --dry-run prints it from the advisory as GitHub has it now (also before
// publication, marked as a preview); without it, it is posted to DISCORD_WEBHOOK_URL if
// the advisory is published and not announced yet; --force after an unconfirmed post.
import { NO_GITHUB_CREDENTIALS } from '../advisory/github-client.js'
import { advisoryNotFound } from '../advisory/github-advisory.js'
import { loadTemplates } from '../mail/templates.js'
import { discordPoster } from '../notify/chat.js'
import { announce, previewAnnouncement } from '../timeline/announce.js'
import type { AdvisoryContext, ResolvedAdvisory } from './advisory-context.js'

export async function announceCommand (ctx: AdvisoryContext, advisory: ResolvedAdvisory, flags: string[]): Promise<number> {
  // Flags other than --dry-run and --force are refused by the table (advisory.ts).
  if (ctx.octokit === undefined) {
    ctx.out(`${NO_GITHUB_CREDENTIALS}: the advisory cannot be read\n`)
    return 1
  }
  const templates = loadTemplates(ctx.config.templatesDir)
  const ref = { owner: advisory.owner, repo: advisory.repo, ghsaId: advisory.ghsaId }
  if (flags.includes('--dry-run')) {
    const preview = await previewAnnouncement(ref, { octokit: ctx.octokit, templates })
    if (preview === undefined) return gone(ctx, advisory)
    const when = preview.state === 'published'
      ? advisory.state['timeline.announced'] !== undefined ? `already posted at ${advisory.state['timeline.announced']}` : 'it would be posted now'
      : 'it is posted only once the advisory is published'
    ctx.out(`PREVIEW, nothing posted: ${advisory.ghsaId} is ${preview.state}; ${when}.\n`)
    ctx.out(`----- announcement (${preview.text.length} characters) -----\n${preview.text}----- end of preview -----\n`)
    return 0
  }
  const discord = ctx.config.discordWebhookUrl === undefined ? undefined : discordPoster(ctx.config.discordWebhookUrl)
  const result = await announce(advisory.intakeId, ref, { redis: ctx.redis, prefix: ctx.config.queuePrefix, octokit: ctx.octokit, progress: ctx.progress, events: ctx.events, templates, discord }, { force: flags.includes('--force') })
  const again = `npm run intake -- advisory announce ${advisory.ghsaId} --force`
  switch (result.outcome) {
    case 'posted':
      ctx.out(`posted the release announcement for ${advisory.ghsaId} to Discord\n`)
      return 0
    case 'already announced':
      ctx.out(`${advisory.ghsaId} was announced at ${result.at}: nothing posted\n`)
      return 0
    case 'not published':
      ctx.out(`refused: ${advisory.ghsaId} is ${result.state}; the announcement is posted only after publication (see it with --dry-run)\n`)
      return 1
    case 'no webhook':
      ctx.out(`DISCORD_WEBHOOK_URL is not set: nothing posted. The announcement would be:\n${result.text}`)
      return 1
    case 'unconfirmed':
      ctx.out(`an earlier post (started ${result.since}) may have reached Discord: nothing posted. Look in the channel; if it is not there: ${again}\n`)
      return 1
    case 'unknown':
      ctx.out(`Discord did not answer after the request was sent${result.status === undefined ? '' : ` (${result.status})`}: the announcement may be in the channel. Look there; if it is not: ${again}\n`)
      return 1
    case 'refused':
      ctx.out(`Discord did not take the announcement (${result.status ?? 'no connection'}): nothing posted; run the command again\n`)
      return 1
    case 'advisory gone':
      return gone(ctx, advisory)
  }
}

function gone (ctx: AdvisoryContext, advisory: ResolvedAdvisory): number {
  ctx.out(`${advisoryNotFound(advisory.ghsaId)}\n`)
  return 1
}
