// Every advisory the gateway creates carries its intake id in an HTML comment, so a
// job retried after a crash between "POST advisory" and "record it" finds the advisory
// it already made instead of opening a second one. Report text is escaped so it can
// never contain this comment (see render.ts).

export function intakeMarker (intakeId: string): string {
  return `<!-- intake-id: ${intakeId} -->`
}
