// The throw-away development team key: the worker writes its public half into KEYS_DIR,
// and the publication refuses that file in production. (The secret half's name stays
// with the code that loads it, pgp/team-key.ts.)
export const DEV_PUBLIC_KEY_FILE = 'dev-team-key.pub.asc'
