// Mutation-testing kills for src/oauth/pkce.ts (mutation/REPORT.md): the RFC 7636 check and the S256 helpers,
// pinned to the RFC's own test vector so a wrong hash, encoding or method switch cannot pass.
import { describe, expect, test } from 'vitest';
import { InvalidRequestError } from '../../src/errors.js';
import { computePkceChallenge, generatePkce, verifyPkce } from '../../src/oauth/pkce.js';

// RFC 7636 Appendix B.
const RFC_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const RFC_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe('PKCE', () => {
  test('verifyPkce: S256 (also when no method was stored) accepts only the verifier whose hash is the challenge', async () => {
    expect(await verifyPkce(RFC_CHALLENGE, 'S256', RFC_VERIFIER)).toBe(true);
    expect(await verifyPkce(RFC_CHALLENGE, undefined, RFC_VERIFIER)).toBe(true); // S256 is the default
    expect(await verifyPkce(RFC_CHALLENGE, 'S256', RFC_VERIFIER.replace(/k$/, 'K'))).toBe(false);
    // The challenge itself presented as the verifier is a downgrade to plain: refused under S256.
    expect(await verifyPkce(RFC_CHALLENGE, 'S256', RFC_CHALLENGE)).toBe(false);
  });

  test('verifyPkce: plain compares the verifier itself, never its hash', async () => {
    expect(await verifyPkce(RFC_VERIFIER, 'plain', RFC_VERIFIER)).toBe(true);
    expect(await verifyPkce(RFC_CHALLENGE, 'plain', RFC_VERIFIER)).toBe(false);
  });

  test('verifyPkce: a verifier without a stored challenge, or a stored challenge without a verifier, is refused', async () => {
    expect(await verifyPkce(undefined, undefined, undefined)).toBe(true); // no PKCE on either side
    expect(await verifyPkce(undefined, undefined, RFC_VERIFIER)).toBe(false);
    expect(await verifyPkce(undefined, 'plain', RFC_VERIFIER)).toBe(false);
    expect(await verifyPkce(RFC_CHALLENGE, 'S256', undefined)).toBe(false);
    expect(await verifyPkce(RFC_VERIFIER, 'plain', undefined)).toBe(false);
  });

  test('computePkceChallenge is BASE64URL(SHA-256(verifier)) and refuses a verifier outside RFC 7636 §4.1', async () => {
    expect(await computePkceChallenge(RFC_VERIFIER)).toBe(RFC_CHALLENGE);
    for (const bad of ['a'.repeat(42), 'a'.repeat(129), `${'a'.repeat(42)} `, `${'a'.repeat(42)}+`]) {
      const error = await computePkceChallenge(bad).catch((thrown: unknown) => thrown);
      expect(error, bad).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).field).toBe('verifier');
    }
    expect(await computePkceChallenge('a'.repeat(128))).toMatch(/^[A-Za-z0-9_-]{43}$/); // the longest allowed
  });

  test('generatePkce: a fresh 256-bit verifier with its S256 challenge', async () => {
    const pair = await generatePkce();
    expect(pair.codeChallengeMethod).toBe('S256');
    expect(pair.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pair.codeChallenge).toBe(await computePkceChallenge(pair.codeVerifier));
    expect(await verifyPkce(pair.codeChallenge, pair.codeChallengeMethod, pair.codeVerifier)).toBe(true);
    expect((await generatePkce()).codeVerifier).not.toBe(pair.codeVerifier);
  });
});
