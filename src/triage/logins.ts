// The reporter's GitHub account, as reporters give it: "GitHub: @login", "GitHub
// handle: login", "https://github.com/login". Only a profile link counts (one path
// segment): github.com/<owner>/<repo> is a repository. The gateway then checks that
// the login exists before crediting it; a login is never taken from an @-mention in
// prose, which could name anyone.
import { LOGIN, scanned, unique } from './text.js'

const LOGINS_MAX = 3

// First path segments that are GitHub pages, not accounts.
const RESERVED = new Set([
  'about', 'account', 'advisories', 'apps', 'blog', 'collections', 'contact', 'customer-stories', 'enterprise',
  'events', 'explore', 'features', 'issues', 'join', 'login', 'logout', 'marketplace', 'new', 'notifications',
  'orgs', 'organizations', 'pricing', 'pulls', 'search', 'security', 'settings', 'site', 'sponsors', 'topics',
  'trending', 'users', 'readme', 'codespaces', 'copilot', 'team', 'home'
])

export function findLogins (text: string, opts: { owner?: string } = {}): string[] {
  const head = scanned(text)
  const found: string[] = []
  const label = /\bgithub(?:[ -]?(?:handle|user(?:name)?|account|login|id|profile))?\s*[:=]\s*(?:https?:\/\/(?:www\.)?github\.com\/)?@?([A-Za-z0-9-]{1,39})(?![A-Za-z0-9-]|\/[A-Za-z0-9])/gi
  for (const m of head.matchAll(label)) found.push(m[1] ?? '')
  const profile = /\bhttps?:\/\/(?:www\.)?github\.com\/([A-Za-z0-9-]{1,39})\/?(?=$|[\s)>\]"',;]|\.(?:\s|$))/gim
  for (const m of head.matchAll(profile)) found.push(m[1] ?? '')
  const owner = opts.owner?.toLowerCase()
  return unique(found.filter((login) => LOGIN.test(login) && !RESERVED.has(login.toLowerCase()) && login.toLowerCase() !== owner), LOGINS_MAX, (l) => l.toLowerCase())
}

/** The reporter asks to work on the fix in the advisory (SECURITY.md allows it for private-channel reporters). */
export function wantsToCollaborate (text: string): boolean {
  const head = scanned(text)
  return /\b(?:(?:like|love|happy|glad|willing|keen|want|wish|able|available|eager) to (?:collaborate|help (?:with|fix|review|test)|assist|contribute (?:a|the) fix|review (?:the|a) fix|work on (?:the|a) fix)|add(?:ed)? me (?:as a )?(?:collaborator|to the advisory)|invite me(?: to)?(?: the)?(?: advisory)?|(?:as|be) a collaborator)\b/i.test(head)
}
