// The signed security.txt: the worker signs it (keys/publisher.ts) and stores it here;
// the web role serves it from here, so it never holds the signing key.
export function securityTxtKey (prefix: string): string {
  return `${prefix}:gw:security-txt`
}
