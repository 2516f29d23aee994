import { mediaType, readText } from './body.js';
import { OAuthHttpError } from './errors.js';

/**
 * Request parameters of a query or a form, with RFC 6749 §3.1 rules: a
 * parameter may appear once, except the few named as repeatable (RFC 8707
 * `resource`); an empty value counts as omitted.
 */
export class Params {
  readonly #values: Map<string, string[]>;

  private constructor(values: Map<string, string[]>) {
    this.#values = values;
  }

  static from(search: URLSearchParams, repeatable: readonly string[] = []): Params {
    const values = new Map<string, string[]>();
    for (const [name, value] of search) {
      const seen = values.get(name);
      if (seen !== undefined && !repeatable.includes(name)) throw new OAuthHttpError('invalid_request', `parameter "${name.slice(0, 40)}" is repeated`);
      if (value === '') continue;
      if (seen) seen.push(value);
      else values.set(name, [value]);
    }
    return new Params(values);
  }

  /** Parses an `application/x-www-form-urlencoded` body, size-capped. */
  static async fromForm(request: Request, maxBytes: number, repeatable: readonly string[] = []): Promise<Params> {
    if (mediaType(request) !== 'application/x-www-form-urlencoded') {
      throw new OAuthHttpError('invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
    }
    return Params.from(new URLSearchParams(await readText(request, maxBytes)), repeatable);
  }

  get(name: string): string | undefined {
    return this.#values.get(name)?.[0];
  }

  /** Every value of a repeatable parameter; empty when absent. */
  all(name: string): string[] {
    return this.#values.get(name) ?? [];
  }

  require(name: string): string {
    const value = this.get(name);
    if (value === undefined) throw new OAuthHttpError('invalid_request', `parameter "${name}" is required`);
    return value;
  }

  /** The parameters back as a URLSearchParams (one entry per value). */
  toSearchParams(): URLSearchParams {
    const search = new URLSearchParams();
    for (const [name, values] of this.#values) for (const value of values) search.append(name, value);
    return search;
  }

  /** A space-separated list (RFC 6749 §3.3 `scope`), or undefined when absent. */
  list(name: string): string[] | undefined {
    const value = this.get(name);
    return value === undefined ? undefined : value.split(' ').filter(Boolean);
  }
}
