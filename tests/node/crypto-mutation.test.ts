// Mutation-testing kills for src/crypto (mutation/REPORT.md): properties the shared crypto tests do not pin.
import { describe, expect, test } from 'vitest';
import { timingSafeEqual } from '../../src/crypto/compare.js';
import { parseHeader } from '../../src/crypto/envelope.js';
import { sha256 } from '../../src/crypto/hmac.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret, randomToken } from '../../src/crypto/random.js';
import { IntegrityError, KeyNotFoundError, type InvalidRequestError } from '../../src/errors.js';

/** Bytes whose index reads are counted: what the comparison touches, independent of timing. */
function counted(bytes: number[]): { view: Uint8Array; reads: Map<number, number> } {
  const reads = new Map<number, number>();
  const view = new Proxy(new Uint8Array(bytes), {
    get(target, property) {
      if (typeof property === 'string' && /^\d+$/.test(property)) reads.set(Number(property), (reads.get(Number(property)) ?? 0) + 1);
      return Reflect.get(target, property) as unknown;
    },
  });
  return { view, reads };
}

const indexes = (count: number) => new Map(Array.from({ length: count }, (_, index) => [index, 1]));

describe('timingSafeEqual reads the same bytes whatever the content', () => {
  test('equal lengths, first byte differs: every index of both sides is read exactly once, nothing past the end', () => {
    const left = counted([1, 2, 3, 4, 5, 6, 7, 8]);
    const right = counted([9, 2, 3, 4, 5, 6, 7, 8]);
    expect(timingSafeEqual(left.view, right.view)).toBe(false);
    expect(left.reads).toEqual(indexes(8));
    expect(right.reads).toEqual(indexes(8));
  });

  test('different lengths: the loop runs over the longer one on both sides, so the time depends only on the longer length', () => {
    const short = counted([1, 2, 3, 4]);
    const long = counted([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(timingSafeEqual(short.view, long.view)).toBe(false);
    expect(short.reads).toEqual(indexes(8));
    expect(long.reads).toEqual(indexes(8));
    // A common prefix with a length difference is still unequal, both ways round.
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array([1, 2, 0]), new Uint8Array([1, 2]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array([1, 2, 0]), new Uint8Array([1, 2, 0]))).toBe(true);
  });
});

describe('envelope header', () => {
  const envelope = (version: number, id: number[], rest: number) => new Uint8Array([version, id.length, ...id, ...new Uint8Array(rest)]);
  const ascii = (text: string) => [...text].map((char) => char.charCodeAt(0));

  test('parseHeader takes exactly the documented format: version 1, a 1..64-character key id, room for IV and tag', () => {
    expect(parseHeader(envelope(1, ascii('k1'), 28))).toEqual({ version: 1, keyId: 'k1', length: 4 });
    expect(parseHeader(envelope(1, ascii('x'.repeat(64)), 28))).toMatchObject({ keyId: 'x'.repeat(64), length: 66 });
    expect(parseHeader(envelope(1, ascii('a'), 28))).toMatchObject({ keyId: 'a', length: 3 });
    const bad = [
      envelope(2, ascii('k1'), 28), // another format version
      envelope(0, ascii('k1'), 28),
      new Uint8Array([1, 0, ...new Uint8Array(30)]), // empty key id
      new Uint8Array([1, 65, ...ascii('x'.repeat(65)), ...new Uint8Array(28)]), // key id too long
      envelope(1, ascii('k1'), 27), // one byte short of IV + tag
      new Uint8Array([1]), // no length byte
      envelope(1, ascii('k 1'), 28), // not a key id
      envelope(1, [0xc3, 0x28], 28), // not UTF-8
    ];
    for (const bytes of bad) expect(() => parseHeader(bytes), String(Array.from(bytes.slice(0, 4)))).toThrow(IntegrityError);
  });

  test('a failed open keeps its cause (for operators), behind one content-free IntegrityError', async () => {
    const [a, b] = await Promise.all([Keyring.fromSecret([{ id: 'k', secret: generateSecret() }]), Keyring.fromSecret([{ id: 'k', secret: generateSecret() }])]);
    const sealed = await a.seal(new Uint8Array([1, 2, 3]), new Uint8Array(0));
    const error = await b.open(sealed, new Uint8Array(0)).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).cause).toBeDefined();
  });

  test('an envelope naming a key id the ring does not hold is KeyNotFoundError, even a one-letter id', async () => {
    const keyring = await Keyring.fromSecret(generateSecret());
    for (const ring of [keyring, await Keyring.generate()]) {
      for (const id of ['S', 't', 'unknown']) {
        await expect(ring.open(envelope(1, ascii(id), 40) as Uint8Array<ArrayBuffer>, new Uint8Array(0))).rejects.toBeInstanceOf(KeyNotFoundError);
      }
    }
  });
});

describe('keyring input', () => {
  const field = async (call: () => unknown) => {
    try {
      await call();
    } catch (error) {
      return { field: (error as InvalidRequestError).field, message: (error as Error).message };
    }
    return undefined;
  };

  test('secrets: fields named by position, base64url text of 32..(4,096 characters), no duplicates', async () => {
    expect(await field(() => Keyring.fromSecret('!!!not base64url!!!'))).toMatchObject({ field: 'secret', message: expect.stringContaining('base64url') });
    expect(await field(() => Keyring.fromSecret('AAAA'))).toMatchObject({ field: 'secret', message: expect.stringContaining('at least 32 bytes') });
    expect(await field(() => Keyring.fromSecret(new Uint8Array(16)))).toMatchObject({ field: 'secret', message: expect.stringContaining('at least 32 bytes') });
    expect(await field(() => Keyring.fromSecret('A'.repeat(4100)))).toMatchObject({ field: 'secret', message: expect.stringContaining('at most 4096') });
    const secret = generateSecret();
    expect(await field(() => Keyring.fromSecret([{ id: 'a', secret }, 'x' as never]))).toMatchObject({ field: 'secret[1]' });
    expect(await field(() => Keyring.fromSecret([{ id: 'a', secret }, { id: 'bad id', secret: generateSecret() }]))).toMatchObject({ field: 'secret[1].id' });
    expect(await field(() => Keyring.fromSecret([{ id: 'a', secret }, { id: 'a', secret: generateSecret() }]))).toMatchObject({ field: 'secret[1].id', message: expect.stringContaining('duplicate') });
    expect(await field(() => Keyring.fromSecret([{ id: 'a', secret }, { id: 'b', secret: 'AAAA' }]))).toMatchObject({ field: 'secret[1].secret' });
    expect(await field(() => Keyring.fromSecret([{ secret }, { secret }]))).toMatchObject({ field: 'secret[1]', message: expect.stringContaining('duplicate of an earlier entry') });
    expect(await field(() => Keyring.fromPassphrase('passphrase', undefined as never))).toMatchObject({ field: 'options' });
  });

  test('fromKeys: each entry is an object with a key id and usable, non-extractable AES-GCM-256 and HMAC-SHA-256 keys', async () => {
    const aes = (length = 256, extractable = false, usages: KeyUsage[] = ['encrypt', 'decrypt']) =>
      crypto.subtle.generateKey({ name: 'AES-GCM', length }, extractable, usages) as Promise<CryptoKey>;
    const hmac = (hash = 'SHA-256', usages: KeyUsage[] = ['sign']) => crypto.subtle.generateKey({ name: 'HMAC', hash, length: 256 }, false, usages) as Promise<CryptoKey>;
    const good = { id: 'k1', encryptionKey: await aes(), lookupKey: await hmac() };
    expect(Keyring.fromKeys([good]).currentKeyId).toBe('k1');
    expect(await field(() => Keyring.fromKeys([good, 'x' as never]))).toMatchObject({ field: 'entries[1]' });
    expect(await field(() => Keyring.fromKeys([{ ...good, id: 'bad id!' }]))).toMatchObject({ field: 'entries[0].id' });
    expect(await field(() => Keyring.fromKeys([good, { ...good }]))).toMatchObject({ field: 'entries[1].id', message: expect.stringContaining('duplicate') });
    expect(await field(() => Keyring.fromKeys([{ ...good, encryptionKey: 'key' as never }]))).toMatchObject({ field: 'entries[0].encryptionKey', message: expect.stringContaining('must be a CryptoKey') });
    expect(await field(async () => Keyring.fromKeys([{ ...good, encryptionKey: await aes(256, true) }]))).toMatchObject({ field: 'entries[0].encryptionKey', message: expect.stringContaining('non-extractable') });
    expect(await field(async () => Keyring.fromKeys([{ ...good, encryptionKey: await aes(128) }]))).toMatchObject({ field: 'entries[0].encryptionKey', message: expect.stringContaining('AES-GCM 256-bit') });
    expect(await field(async () => Keyring.fromKeys([{ ...good, encryptionKey: await aes(256, false, ['encrypt']) }]))).toMatchObject({ message: expect.stringContaining('must allow "encrypt" and "decrypt"') });
    expect(await field(async () => Keyring.fromKeys([{ ...good, lookupKey: await hmac('SHA-1') }]))).toMatchObject({ field: 'entries[0].lookupKey', message: expect.stringContaining('HMAC SHA-256') });
    const shortHmac = (await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 128 }, false, ['sign'])) as CryptoKey;
    expect(await field(() => Keyring.fromKeys([{ ...good, lookupKey: shortHmac }]))).toMatchObject({ field: 'entries[0].lookupKey', message: expect.stringContaining('at least 256 bits') });
    const hmacAsAes = (await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign'])) as CryptoKey;
    expect(await field(() => Keyring.fromKeys([{ ...good, encryptionKey: hmacAsAes }]))).toMatchObject({ field: 'entries[0].encryptionKey', message: expect.stringContaining('AES-GCM 256-bit') });
    expect(await field(async () => Keyring.fromKeys([{ ...good, lookupKey: await hmac('SHA-256', ['verify']) }]))).toMatchObject({ message: expect.stringContaining('must allow "sign"') });
  });

  test('bytes and their UTF-8 text give the same lookup id and the same digest', async () => {
    const keyring = await Keyring.fromSecret(generateSecret());
    const text = 'héllo';
    const bytes = new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
    expect(await keyring.lookupId('ctx', bytes)).toBe(await keyring.lookupId('ctx', text));
    expect(await sha256(bytes)).toEqual(await sha256(text));
  });

  test('randomToken takes 32..1,024 bytes', () => {
    expect(randomToken(1024)).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(() => randomToken(1025)).toThrow(/between 32 and 1024/);
  });
});
