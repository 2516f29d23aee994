export { Keyring, type KeyringEntry, type KeyringSecret, type PassphraseOptions } from './keyring.js';
export { generateSecret, randomToken, randomId, randomBytes } from './random.js';
export { timingSafeEqual } from './compare.js';
export { hmacSha256, sha256 } from './hmac.js';
