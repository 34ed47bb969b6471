import { types } from 'node:util';

/**
 * A URL's password (`scheme://user:password@host`, the password up to the last `@` of the word, so one with an unencoded
 * `/` goes too) and a `password=` parameter (pg's `?password=`), as a log line must not carry them.
 */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*):\S*@/gi;
const PASSWORD_PARAMETER = /([?&]password=)[^&\s]*/gi;

/** How deep `withoutCredentials` looks (an error's cause's fields, say); cycles end there too. */
const DEPTH = 6;

/**
 * `value` as a log may carry it: every password in a URL of its text replaced by `[redacted]`, in an error's message and
 * stack, its own fields and its cause's, and those of the plain objects and arrays it holds. An error whose message names a
 * URL with its credentials is no rarity: Meilisearch's client says `Request to <its host's URL>/… has failed` (a MEILI_URL
 * with a user and password in it, say), and Node's fetch refuses such a URL naming it whole. pino's `*.password` paths
 * (apps/api/src/logging.ts) do not reach inside a string. Other objects (a Response, a Buffer) are kept as they are; so is
 * `value` itself when nothing in it changed. A copy keeps its prototype (pino's `type` still names its class), and each
 * field read once (a getter's value: V8's `stack` is one).
 */
export function withoutCredentials<T>(value: T): T {
  return redact(value, 0) as T;
}

function redact(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.replace(URL_PASSWORD, '$1:[redacted]@').replace(PASSWORD_PARAMETER, '$1[redacted]');
  if (depth >= DEPTH || !value || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const items = value.map((v) => redact(v, depth + 1));
    return items.every((v, i) => v === value[i]) ? value : items;
  }
  const proto = Object.getPrototypeOf(value);
  // Errors and plain objects of any realm (jest's modules run in one of their own, Node's fetch in the main one).
  const plain = proto === null || Object.getPrototypeOf(proto) === null;
  if (!types.isNativeError(value) && !(value instanceof Error) && !plain) return value;
  const fields = Reflect.ownKeys(value).map((key) => {
    const { enumerable } = Object.getOwnPropertyDescriptor(value, key)!;
    const was = Reflect.get(value, key);
    return { key, enumerable, was, now: redact(was, depth + 1) };
  });
  if (fields.every((f) => f.now === f.was)) return value;
  const copy = Object.create(proto) as object;
  for (const f of fields) Object.defineProperty(copy, f.key, { value: f.now, enumerable: f.enumerable, writable: true, configurable: true });
  return copy;
}
