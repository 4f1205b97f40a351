// The words of a GitHub security advisory the rooms share: triage finds them, the
// configuration names them, the advisory is filed with them.

/** A CVSS band, or what the report's own wording says. */
export type Severity = 'critical' | 'high' | 'medium' | 'low'

/** GitHub's package ecosystems (the advisory API's `vulnerabilities[].package.ecosystem`). */
export type Ecosystem =
  | 'rubygems' | 'npm' | 'pip' | 'maven' | 'nuget' | 'composer' | 'go' | 'rust'
  | 'erlang' | 'actions' | 'pub' | 'other' | 'swift'

/** PRIVATE_FORK_POLICY: `never`, `always`, or a severity: that severity or higher (`high` = high or critical). */
export type PrivateForkPolicy = 'never' | 'always' | Severity
