/**
 * "What is stored": the vault's IndexedDB records read with the plain
 * IndexedDB API, as anything else on this origin (or a storage export) would
 * see them — ciphertext, and keys that refuse to be exported.
 */

const request = <T>(r: IDBRequest<T>) => new Promise<T>((resolve, reject) => ((r.onsuccess = () => resolve(r.result)), (r.onerror = () => reject(r.error))));

const hex = (bytes: Uint8Array, count: number) => Array.from(bytes.subarray(0, count), (byte) => byte.toString(16).padStart(2, '0')).join(' ');

interface Row {
  store: string;
  key: string;
  what: string;
}

/** Reads every record of `database`; `secrets` are searched for in the raw bytes (and reported found or not). */
export async function readStored(database: string, secrets: string[]): Promise<{ rows: Row[]; plaintextFound: boolean }> {
  const db = await request(indexedDB.open(database));
  const rows: Row[] = [];
  let raw = '';
  try {
    for (const store of Array.from(db.objectStoreNames)) {
      const os = db.transaction(store, 'readonly').objectStore(store);
      const [keys, values] = await Promise.all([request(os.getAllKeys()), request(os.getAll())]);
      for (const [index, key] of keys.entries()) {
        rows.push({ store, key: String(key), what: await describe(values[index]) });
        raw += JSON.stringify(values[index], (_name, value: unknown) => (value instanceof Uint8Array ? String.fromCharCode(...value) : value));
      }
    }
  } finally {
    db.close();
  }
  return { rows, plaintextFound: secrets.some((secret) => raw.includes(secret)) };
}

async function describe(value: unknown): Promise<string> {
  if (value && typeof value === 'object' && 'v' in value && (value as { v: unknown }).v instanceof Uint8Array) {
    const bytes = (value as { v: Uint8Array }).v;
    return `ciphertext, ${bytes.length} bytes: ${hex(bytes, 24)} …`;
  }
  const keys = Object.entries((value ?? {}) as Record<string, unknown>).flatMap(([name, inner]) =>
    inner instanceof CryptoKey ? [[name, inner] as const] : Array.isArray(inner) ? inner.flatMap((entry) => Object.entries(entry as object).filter(([, k]) => k instanceof CryptoKey) as [string, CryptoKey][]) : [],
  );
  if (keys.length === 0) return JSON.stringify(value);
  const described = await Promise.all(
    keys.map(async ([name, key]) => {
      const refused = await crypto.subtle.exportKey('jwk', key).then(() => false, () => true);
      return `${name}: CryptoKey ${key.algorithm.name}, extractable: ${key.extractable}${refused ? ', export refused' : ''}`;
    }),
  );
  return described.join('; ');
}

/** Renders the rows as a table into `panel`. */
export function renderStored(panel: HTMLElement, result: { rows: Row[]; plaintextFound: boolean }): void {
  const table = document.createElement('table');
  table.innerHTML = '<tr><th>store / key</th><th>what a reader of the database gets</th></tr>';
  for (const row of result.rows) {
    const tr = table.insertRow();
    const where = tr.insertCell();
    where.textContent = `${row.store} / ${row.key}`;
    const what = tr.insertCell();
    what.innerHTML = '<code></code>';
    what.firstElementChild!.textContent = row.what;
  }
  const verdict = document.createElement('p');
  verdict.dataset.field = 'plaintext';
  verdict.className = result.plaintextFound ? 'error' : '';
  verdict.textContent = result.plaintextFound ? 'a token appears in plaintext!' : 'searched the raw records for the tokens this tab holds: not found';
  panel.replaceChildren(table, verdict);
}
