// The reporter's GitHub account, as reporters give it: "GitHub: @login", "GitHub
// handle: login", "my profile: https://github.com/login" or a profile link on its own
// line of the signature. Only a profile link counts (one path segment): github.com/<owner>/<repo> is a repository. The gateway then checks that
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
  // A bare profile link names whoever the report is talking about ("introduced by
  // https://github.com/alice"): it only counts when the reporter says it is theirs
  // ("me (link)", "my profile: link", "profile: link") or it stands on a line of the
  // signature block (after "-- "), as a signature's own line.
  const link = String.raw`https?:\/\/(?:www\.)?github\.com\/([A-Za-z0-9-]{1,39})\/?(?=$|[\s)>\]"',;]|\.(?:\s|$))`
  const own = new RegExp(String.raw`\b(?:me|myself|my (?:github|profile|account|handle|page)|profile)\s{0,3}[:(=-]?\s{0,3}` + link, 'gim')
  for (const m of head.matchAll(own)) found.push(m[1] ?? '')
  const signature = [...head.matchAll(/^-- ?$/gm)].at(-1)?.index
  if (signature !== undefined) {
    for (const m of head.slice(signature).matchAll(new RegExp(String.raw`^[ \t]{0,8}` + link, 'gim'))) found.push(m[1] ?? '')
  }
  const owner = opts.owner?.toLowerCase()
  return unique(found.filter((login) => LOGIN.test(login) && !RESERVED.has(login.toLowerCase()) && login.toLowerCase() !== owner), LOGINS_MAX, (l) => l.toLowerCase())
}

/** The reporter asks to work on the fix in the advisory (SECURITY.md allows it for private-channel reporters). */
export function wantsToCollaborate (text: string): boolean {
  const head = scanned(text)
  return /\b(?:(?:like|love|happy|glad|willing|keen|want|wish|able|available|eager) to (?:collaborate|help (?:with|fix|review|test)|assist|contribute (?:a|the) fix|review (?:the|a) fix|work on (?:the|a) fix)|add(?:ed)? me (?:as a )?(?:collaborator|to the advisory)|invite me(?: to)?(?: the)?(?: advisory)?|(?:as|be) a collaborator)\b/i.test(head)
}
