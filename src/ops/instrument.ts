// Metrics recorded by wrapping the stores and functions the pipeline already calls, so
// the pipeline itself stays free of metrics code: the progress record says when an
// advisory was made or a reply sent/suppressed, the quarantine says why a report went
// there, the intake says whether a message was queued or was a redelivery.
import type { Accept } from '../inbound/intake.js'
import type { QuarantineStore } from '../quarantine/store.js'
import type { ProgressStore, ReportProgress } from '../store/progress.js'
import { reasonLabel, type Metrics } from './metrics.js'

export function observedAccept (accept: Accept, metrics: Metrics): Accept {
  // All arguments passed on as they are: providers add sealed metadata after `source`.
  return async (...args: Parameters<Accept>) => {
    const [, source] = args
    const accepted = await accept(...args)
    if (accepted.duplicate) metrics.messagesRedelivered.inc({ source })
    else metrics.messagesQueued.inc({ source })
    return accepted
  }
}

export function observedQuarantine (store: QuarantineStore, metrics: Metrics): QuarantineStore {
  return {
    ...store,
    async add (entry) {
      const added = await store.add(entry)
      metrics.messagesQuarantined.inc({ reason: reasonLabel(entry.code) })
      return added
    }
  }
}

export function observedProgress (store: ProgressStore, metrics: Metrics): ProgressStore {
  return {
    ...store,
    async open (id) {
      const progress = await store.open(id)
      return {
        ...progress,
        note (fields, also) {
          progress.note(fields, also)
          observeFields(fields, metrics)
        },
        async record (fields, also) {
          await progress.record(fields, also)
          observeFields(fields, metrics)
        }
      }
    }
  }
}

function observeFields (fields: ReportProgress, metrics: Metrics): void {
  if (fields.ghsaId !== undefined) metrics.advisories.inc({ action: 'created' })
  // reply.ack, reply.unreadable, reply.key, ...: a Message-ID, or "suppressed: <reason>".
  for (const [field, value] of Object.entries(fields)) {
    if (!field.startsWith('reply.') || typeof value !== 'string') continue
    const kind = field.slice('reply.'.length)
    if (value.startsWith('suppressed:')) metrics.replies.inc({ kind, result: 'suppressed', reason: reasonLabel(value.slice('suppressed:'.length)) })
    else metrics.replies.inc({ kind, result: 'sent', reason: 'none' })
  }
}
