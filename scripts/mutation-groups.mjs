// The groups of files that `npm run mutate` mutates and mutation/REPORT.md scores separately.

/** The groups the report scores separately; their order is the report's. */
export const GROUPS = {
  crypto: ['src/crypto/**/*.ts'],
  records: ['src/records/**/*.ts'],
  'oauth-grants': ['src/oauth/grants/**/*.ts'],
  'oauth-tokens': [
    'src/oauth/single-use.ts',
    'src/oauth/grant-state.ts',
    'src/oauth/transition.ts',
    'src/oauth/tokens.ts',
    'src/oauth/access.ts',
    'src/oauth/revocation.ts',
    'src/oauth/revocation-list.ts',
    'src/oauth/lifecycle.ts',
    'src/oauth/sessions.ts',
    'src/oauth/pkce.ts',
    'src/oauth/pushed-requests.ts',
  ],
  client: ['src/client/*.ts'],
  memory: ['adapters/memory/index.ts'],
};

// The group a report's file path belongs to (patterns: a folder with `/**/*.ts`, a folder with `/*.ts`, or one file).
export function groupOf(file) {
  for (const [name, patterns] of Object.entries(GROUPS)) {
    for (const pattern of patterns) {
      if (pattern.endsWith('/**/*.ts') && file.startsWith(pattern.slice(0, -'**/*.ts'.length)) && file.endsWith('.ts')) return name;
      if (pattern.endsWith('/*.ts') && !pattern.endsWith('/**/*.ts')) {
        const dir = pattern.slice(0, -'*.ts'.length);
        if (file.startsWith(dir) && !file.slice(dir.length).includes('/') && file.endsWith('.ts')) return name;
      }
      if (file === pattern) return name;
    }
  }
  return undefined;
}
