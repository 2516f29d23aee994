export { TokenVault, type TokenVaultOptions, type TokenVaultChange, type RefreshFunction } from './token-vault.js';
export { memoryKeyStore, type KeyStore, type VaultStorage } from './key-store.js';
export type { TokenResponse, TokenSet } from './token-set.js';
export type { VaultKeyMode } from './vault-keys.js';
export type { LockManagerLike } from './tab-sync.js';
