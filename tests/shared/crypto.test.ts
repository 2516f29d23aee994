// Runs unchanged in Node, workerd and Chromium: the proof that the core is isomorphic.
import { describe, expect, test } from 'vitest';
import { Keyring, generateSecret, randomToken, timingSafeEqual } from '../../src/index.js';
import { IntegrityError, InvalidRequestError, KeyNotFoundError } from '../../src/errors.js';
import { hmacSha256, importHmacKey } from '../../src/crypto/hmac.js';
import { pbkdf2HmacKey } from '../../src/crypto/pbkdf2.js';
import { fromBase64Url, toBase64Url, utf8 } from '../../src/util/bytes.js';

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (text: string): Uint8Array<ArrayBuffer> => new Uint8Array(text.match(/../g)!.map((pair) => parseInt(pair, 16)));
const filled = (length: number, value: number): Uint8Array<ArrayBuffer> => new Uint8Array(length).fill(value);

async function expectError<T extends Error>(promise: Promise<unknown> | (() => unknown), type: new (...args: never[]) => T): Promise<T> {
  let caught: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(type);
  return caught as T;
}

describe('HMAC-SHA-256 known answers (RFC 4231)', () => {
  const cases: [string, Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>, string][] = [
    ['1', filled(20, 0x0b), utf8('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
    ['2', utf8('Jefe'), utf8('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
    ['3', filled(20, 0xaa), filled(50, 0xdd), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
    [
      '4',
      new Uint8Array(Array.from({ length: 25 }, (_, i) => i + 1)),
      filled(50, 0xcd),
      '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
    ],
    [
      '6',
      filled(131, 0xaa),
      utf8('Test Using Larger Than Block-Size Key - Hash Key First'),
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    ],
    [
      '7',
      filled(131, 0xaa),
      utf8(
        'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
      ),
      '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    ],
  ];
  for (const [name, key, data, expected] of cases) {
    test(`test case ${name}`, async () => {
      expect(hex(await hmacSha256(await importHmacKey(key), data))).toBe(expected);
    });
  }
});

describe('PBKDF2-HMAC-SHA-256 known answers', () => {
  // Published vectors (RFC 7914 §11 and the widely used SHA-256 analogue of RFC 6070), first 32 bytes.
  const cases: [string, string, number, string][] = [
    ['password', 'salt', 1, '120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b'],
    ['password', 'salt', 2, 'ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43'],
    ['password', 'salt', 4096, 'c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a'],
    ['passwd', 'salt', 1, '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc'],
    ['Password', 'NaCl', 80000, '4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56'],
  ];
  for (const [password, salt, iterations, expected] of cases) {
    test(`P="${password}" S="${salt}" c=${iterations}`, async () => {
      // The derived key is non-extractable, so compare what it signs with what the published bytes sign.
      const derived = await pbkdf2HmacKey(password, utf8(salt), iterations);
      const reference = await importHmacKey(fromHex(expected));
      const probe = utf8('oauth-vault known-answer probe');
      expect(hex(await hmacSha256(derived, probe))).toBe(hex(await hmacSha256(reference, probe)));
      expect(derived.extractable).toBe(false);
    });
  }
});

describe('Keyring', () => {
  const aad = utf8('record-a');

  test('fromSecret seals and opens; envelopes are randomized and name the key id', async () => {
    const keyring = await Keyring.fromSecret(generateSecret());
    const plaintext = utf8('a refresh token');
    const one = await keyring.seal(plaintext, aad);
    const two = await keyring.seal(plaintext, aad);
    expect(hex(one)).not.toBe(hex(two)); // random IVs
    expect(await keyring.open(one, aad)).toEqual(plaintext);
    expect(keyring.envelopeKeyId(one)).toBe(keyring.currentKeyId);
    expect(one[0]).toBe(1); // format version
    expect(one.length).toBe(2 + keyring.currentKeyId.length + 12 + plaintext.length + 16);
  });

  test('the same secret gives the same keys; another secret gives other keys', async () => {
    const secret = generateSecret();
    const first = await Keyring.fromSecret(secret);
    const again = await Keyring.fromSecret(secret);
    const other = await Keyring.fromSecret(generateSecret());
    const sealed = await first.seal(utf8('x'), aad);
    expect(await again.open(sealed, aad)).toEqual(utf8('x'));
    expect(await first.lookupId('ctx', 'value')).toBe(await again.lookupId('ctx', 'value'));
    expect(await first.lookupId('ctx', 'value')).not.toBe(await other.lookupId('ctx', 'value'));
    await expectError(other.open(sealed, aad), KeyNotFoundError);
  });

  test('every derived key is non-extractable and sub-keys are independent', async () => {
    const keyring = await Keyring.fromSecret(generateSecret());
    for (const entry of keyring.entries) {
      expect(entry.encryptionKey.extractable).toBe(false);
      expect(entry.lookupKey.extractable).toBe(false);
      await expect(crypto.subtle.exportKey('raw', entry.encryptionKey)).rejects.toBeDefined();
    }
    // Lookup ids are bound to their context: one value, two contexts, two ids.
    expect(await keyring.lookupId('access-token', 'v')).not.toBe(await keyring.lookupId('refresh-token', 'v'));
  });

  test('a secret under 32 bytes is refused with a typed error naming the field', async () => {
    const short = await expectError(Keyring.fromSecret(toBase64Url(new Uint8Array(31))), InvalidRequestError);
    expect(short.field).toBe('secret');
    expect((await expectError(Keyring.fromSecret(new Uint8Array(16)), InvalidRequestError)).field).toBe('secret');
    expect((await expectError(Keyring.fromSecret('not base64url!'), InvalidRequestError)).field).toBe('secret');
    expect((await expectError(Keyring.fromSecret(42 as unknown as string), InvalidRequestError)).field).toBe('secret');
    expect((await expectError(Keyring.fromSecret([]), InvalidRequestError)).field).toBe('secret');
    const duplicate = await expectError(
      Keyring.fromSecret([
        { id: 'a', secret: generateSecret() },
        { id: 'a', secret: generateSecret() },
      ]),
      InvalidRequestError,
    );
    expect(duplicate.field).toBe('secret[1].id');
    const badId = await expectError(Keyring.fromSecret([{ id: 'no spaces', secret: generateSecret() }]), InvalidRequestError);
    expect(badId.field).toBe('secret[0].id');
  });

  test('rotation: the first key seals, all open; a retired key fails once dropped', async () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const before = await Keyring.fromSecret([{ id: 'k-2026-05', secret: oldSecret }]);
    const sealedUnderOld = await before.seal(utf8('old record'), aad);
    const rotated = await Keyring.fromSecret([
      { id: 'k-2026-11', secret: newSecret },
      { id: 'k-2026-05', secret: oldSecret },
    ]);
    expect(rotated.currentKeyId).toBe('k-2026-11');
    expect(rotated.keyIds).toEqual(['k-2026-11', 'k-2026-05']);
    expect(await rotated.open(sealedUnderOld, aad)).toEqual(utf8('old record'));
    expect(rotated.envelopeKeyId(await rotated.seal(utf8('new'), aad))).toBe('k-2026-11');
    // Lookup ids across rotation: the old id is still among the candidates.
    const oldId = await before.lookupId('ctx', 'token');
    expect(await rotated.lookupIds('ctx', 'token')).toEqual([await rotated.lookupId('ctx', 'token'), oldId]);
    const dropped = await Keyring.fromSecret([{ id: 'k-2026-11', secret: newSecret }]);
    const error = await expectError(dropped.open(sealedUnderOld, aad), KeyNotFoundError);
    expect(error.keyId).toBe('k-2026-05');
    expect(error.code).toBe('ERR_KEY_NOT_FOUND');
  });

  test('upgrade from one secret to a rotation list: envelopes of the single form open under a list entry of that secret, with any id or none', async () => {
    const oldSecret = generateSecret();
    const single = await Keyring.fromSecret(oldSecret);
    const sealed = await single.seal(utf8('sealed before rotation'), aad);
    // The README recipe: new secret first, old one with an id of our choosing.
    const rotated = await Keyring.fromSecret([
      { id: '2026-11', secret: generateSecret() },
      { id: '2026-05', secret: oldSecret },
    ]);
    expect(await rotated.open(sealed, aad)).toEqual(utf8('sealed before rotation'));
    expect(rotated.keyIds).toEqual(['2026-11', '2026-05']);
    // Lookup ids computed by the single form are among the rotated ring's candidates.
    expect(await rotated.lookupIds('ctx', 'v')).toContain(await single.lookupId('ctx', 'v'));
    // An entry without an id takes the single form's id.
    const noId = await Keyring.fromSecret([{ id: 'new', secret: generateSecret() }, { secret: oldSecret }]);
    expect(noId.keyIds[1]).toBe(single.currentKeyId);
    expect(await noId.open(sealed, aad)).toEqual(utf8('sealed before rotation'));
    // The single form's id is stable for a secret, and differs between secrets.
    expect((await Keyring.fromSecret(oldSecret)).currentKeyId).toBe(single.currentKeyId);
    expect((await Keyring.fromSecret(generateSecret())).currentKeyId).not.toBe(single.currentKeyId);
    // Once the old secret is dropped, its envelopes name a key that is not there.
    const dropped = await Keyring.fromSecret([{ id: '2026-11', secret: generateSecret() }]);
    expect((await expectError(dropped.open(sealed, aad), KeyNotFoundError)).keyId).toBe(single.currentKeyId);
    // The same secret twice would make one id name two entries.
    const twice = await expectError(Keyring.fromSecret([{ secret: oldSecret }, { secret: oldSecret }]), InvalidRequestError);
    expect(twice.field).toBe('secret[1]');
  });

  test('holes in key lists are refused by index, never turned into an empty keyring', async () => {
    // eslint-disable-next-line no-sparse-arrays
    expect((await expectError(Keyring.fromSecret([,] as never), InvalidRequestError)).field).toBe('secret[0]');
    // eslint-disable-next-line no-sparse-arrays
    expect((await expectError(Keyring.fromSecret([{ secret: generateSecret() }, ,] as never), InvalidRequestError)).field).toBe('secret[1]');
    // eslint-disable-next-line no-sparse-arrays
    expect((await expectError(() => Keyring.fromKeys([,] as never), InvalidRequestError)).field).toBe('entries[0]');
  });

  test('tamper: flipping any single byte of an envelope fails with IntegrityError', async () => {
    const keyring = await Keyring.fromSecret([{ id: 'tamper-key', secret: generateSecret() }]);
    const sealed = await keyring.seal(utf8('{"token":"secret"}'), aad);
    for (let index = 0; index < sealed.length; index++) {
      const copy = sealed.slice();
      copy[index]! ^= 0x01;
      await expectError(keyring.open(copy, aad), IntegrityError);
    }
    // Truncation and extension too.
    await expectError(keyring.open(sealed.slice(0, sealed.length - 1), aad), IntegrityError);
    await expectError(keyring.open(new Uint8Array([...sealed, 0]), aad), IntegrityError);
    await expectError(keyring.open(new Uint8Array(0), aad), IntegrityError);
  });

  test('an envelope opened under another record\'s AAD fails with IntegrityError', async () => {
    const keyring = await Keyring.fromSecret(generateSecret());
    const sealed = await keyring.seal(utf8('body'), utf8('kind=code/id=1'));
    const error = await expectError(keyring.open(sealed, utf8('kind=code/id=2')), IntegrityError);
    expect(error.code).toBe('ERR_INTEGRITY');
    expect(error.message).not.toContain('body');
  });

  test('the envelope header is authenticated: relabelled to another id of the same key, it fails with IntegrityError', async () => {
    // Two ids holding one key: only the header's place in the AAD tells them apart.
    const { entries } = await Keyring.generate();
    const { encryptionKey, lookupKey } = entries[0]!;
    const keyring = Keyring.fromKeys([
      { id: 'aa', encryptionKey, lookupKey },
      { id: 'bb', encryptionKey, lookupKey },
    ]);
    const sealed = await keyring.seal(utf8('body'), aad);
    expect(keyring.envelopeKeyId(sealed)).toBe('aa');
    const relabelled = sealed.slice();
    relabelled.set(utf8('bb'), 2);
    expect(keyring.envelopeKeyId(relabelled)).toBe('bb');
    await expectError(keyring.open(relabelled, aad), IntegrityError);
    expect(await keyring.open(sealed, aad)).toEqual(utf8('body'));
  });

  test('an unknown key id raises KeyNotFoundError', async () => {
    const keyring = await Keyring.fromSecret([{ id: 'known', secret: generateSecret() }]);
    const foreign = await Keyring.fromSecret([{ id: 'foreign', secret: generateSecret() }]);
    const error = await expectError(keyring.open(await foreign.seal(utf8('x'), aad), aad), KeyNotFoundError);
    expect(error.keyId).toBe('foreign');
  });

  test('fromPassphrase: derived once, deterministic for the same salt, refuses weak settings', async () => {
    const salt = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
    const one = await Keyring.fromPassphrase('correct horse battery staple', { salt, iterations: 100_000 });
    const two = await Keyring.fromPassphrase('correct horse battery staple', { salt, iterations: 100_000 });
    const wrong = await Keyring.fromPassphrase('wrong horse battery staple', { salt, iterations: 100_000 });
    const sealed = await one.seal(utf8('tokens'), aad);
    expect(await two.open(sealed, aad)).toEqual(utf8('tokens'));
    await expectError(wrong.open(sealed, aad), IntegrityError);
    expect(one.entries[0]!.encryptionKey.extractable).toBe(false);
    const few = await expectError(Keyring.fromPassphrase('pw', { salt, iterations: 99_999 }), InvalidRequestError);
    expect(few.field).toBe('options.iterations');
    const shortSalt = await expectError(Keyring.fromPassphrase('pw', { salt: new Uint8Array(15) }), InvalidRequestError);
    expect(shortSalt.field).toBe('options.salt');
    expect((await expectError(Keyring.fromPassphrase('', { salt }), InvalidRequestError)).field).toBe('passphrase');
    expect((await expectError(Keyring.fromPassphrase('x'.repeat(1025), { salt }), InvalidRequestError)).field).toBe('passphrase');
  });

  test('fromPassphrase defaults to 600,000 iterations', async () => {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const byDefault = await Keyring.fromPassphrase('pw', { salt });
    const explicit = await Keyring.fromPassphrase('pw', { salt, iterations: 600_000 });
    const sealed = await byDefault.seal(utf8('x'), aad);
    expect(await explicit.open(sealed, aad)).toEqual(utf8('x'));
  });

  test('generate: random non-extractable keys that survive fromKeys', async () => {
    const keyring = await Keyring.generate();
    const entry = keyring.entries[0]!;
    expect(entry.encryptionKey).toBeInstanceOf(CryptoKey);
    expect(entry.encryptionKey.extractable).toBe(false);
    expect(entry.lookupKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', entry.lookupKey)).rejects.toBeDefined();
    const rebuilt = Keyring.fromKeys(keyring.entries);
    expect(await rebuilt.open(await keyring.seal(utf8('x'), aad), aad)).toEqual(utf8('x'));
    expect((await Keyring.generate()).currentKeyId).not.toBe(keyring.currentKeyId);
    const bad = await expectError(() => Keyring.fromKeys([{ ...entry, encryptionKey: entry.lookupKey }]), InvalidRequestError);
    expect(bad.field).toBe('entries[0].encryptionKey');
  });

  test('fromKeys refuses keys it cannot use or that break the promises: wrong usages, extractable, AES-128, HMAC-SHA-1, short HMAC', async () => {
    const { entries } = await Keyring.generate();
    const good = entries[0]!;
    const aes = (length: number, extractable: boolean, usages: KeyUsage[]) =>
      crypto.subtle.generateKey({ name: 'AES-GCM', length }, extractable, usages) as Promise<CryptoKey>;
    const hmac = (hash: string, length: number, extractable: boolean, usages: KeyUsage[]) =>
      crypto.subtle.generateKey({ name: 'HMAC', hash, length }, extractable, usages) as Promise<CryptoKey>;
    const cases: [string, Partial<typeof good>, string][] = [
      ['decrypt-only AES', { encryptionKey: await aes(256, false, ['decrypt']) }, 'encryptionKey'],
      ['encrypt-only AES', { encryptionKey: await aes(256, false, ['encrypt']) }, 'encryptionKey'],
      ['extractable AES', { encryptionKey: await aes(256, true, ['encrypt', 'decrypt']) }, 'encryptionKey'],
      ['AES-128', { encryptionKey: await aes(128, false, ['encrypt', 'decrypt']) }, 'encryptionKey'],
      ['verify-only HMAC', { lookupKey: await hmac('SHA-256', 256, false, ['verify']) }, 'lookupKey'],
      ['extractable HMAC', { lookupKey: await hmac('SHA-256', 256, true, ['sign']) }, 'lookupKey'],
      ['HMAC-SHA-1', { lookupKey: await hmac('SHA-1', 256, false, ['sign']) }, 'lookupKey'],
      ['128-bit HMAC', { lookupKey: await hmac('SHA-256', 128, false, ['sign']) }, 'lookupKey'],
      ['not a CryptoKey', { lookupKey: {} as CryptoKey }, 'lookupKey'],
    ];
    for (const [label, change, field] of cases) {
      const error = await expectError(() => Keyring.fromKeys([{ ...good, ...change }]), InvalidRequestError);
      expect(error.field, label).toBe(`entries[0].${field}`);
    }
    // A key with extra usages is fine (it can do what the ring needs).
    expect(Keyring.fromKeys([{ ...good, lookupKey: await hmac('SHA-256', 256, false, ['sign', 'verify']) }]).currentKeyId).toBe(good.id);
  });
});

describe('random tokens, secrets and comparison', () => {
  test('randomToken carries at least 256 bits and refuses fewer', async () => {
    const token = randomToken();
    expect(fromBase64Url(token)!.length).toBe(32);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(Array.from({ length: 1000 }, () => randomToken())).size).toBe(1000);
    expect(fromBase64Url(randomToken(48))!.length).toBe(48);
    expect((await expectError(() => randomToken(31), InvalidRequestError)).field).toBe('bytes');
  });

  test('generateSecret gives 32 random bytes as base64url that fromSecret accepts', async () => {
    const secret = generateSecret();
    expect(fromBase64Url(secret)!.length).toBe(32);
    expect(generateSecret()).not.toBe(secret);
    await Keyring.fromSecret(secret);
  });

  test('timingSafeEqual compares content and length', () => {
    expect(timingSafeEqual('abc', 'abc')).toBe(true);
    expect(timingSafeEqual('abc', 'abd')).toBe(false);
    expect(timingSafeEqual('abc', 'abcd')).toBe(false);
    expect(timingSafeEqual('', '')).toBe(true);
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array([0]), new Uint8Array([]))).toBe(false);
  });

  test('timingSafeEqual reads every byte even when the first differs (no early exit)', () => {
    const reads = new Set<number>();
    const counted = (bytes: Uint8Array): Uint8Array =>
      new Proxy(bytes, {
        get(target, property) {
          if (typeof property === 'string' && /^\d+$/.test(property)) reads.add(Number(property));
          return Reflect.get(target, property, target);
        },
      });
    const left = filled(32, 7);
    const right = filled(32, 7);
    right[0] = 8;
    expect(timingSafeEqual(counted(left), right)).toBe(false);
    expect([...reads].sort((a, b) => a - b)).toEqual(Array.from({ length: 32 }, (_, i) => i));
  });

  test('base64url round-trips every byte value and rejects malformed text', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    expect(fromBase64Url(toBase64Url(all))).toEqual(all);
    expect(fromBase64Url('a+b/')).toBeNull();
    expect(fromBase64Url('abcde')).toBeNull();
  });
});
