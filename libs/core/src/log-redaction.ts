import { EventEmitter } from 'node:events';
import { types } from 'node:util';

/**
 * A URL's password (`scheme://user:password@host`, the user up to its first `:`, so an e-mail address as user goes too,
 * `smtp://me@example.com:pw@host`; the password up to the last `@` of the word, so one with an unencoded `/` goes too) and a `password=` or `token=` parameter (pg's `?password=`; the links of reset, verification, invite and
 * unsubscribe e-mails, `?token=`; a connection string's `password=`: PARAMETER_NAME), as a log line must not carry them. Tokens in text otherwise (a bare session token, an
 * `Authorization: Bearer …` quoted in a message) cannot be told from other words and are not looked for: fields named
 * `token`, `password`, `accessToken`, … are (SECRET_NAMES).
 *
 * A URL whose `//` became one `/` (`scheme:/user:password@…`) is read as one too: a path made of a URL-like argument, as
 * Node's path module resolves it (audit:export's `--out s3://key:pw@bucket/x`, named in its refusal), is printed so.
 *
 * URL_USER finds where a password would begin (`scheme://user:`, `scheme:/user:`); the scheme is looked for behind the `://` and the `@`
 * that ends the password by hand (withoutUrlPasswords), so the time taken grows with the text's length, not its square:
 * one pattern (`\b[a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*:\S*@`) tried at each position took seconds on 40 kB of
 * `a://b:a://b:…` or `a.a.a.…://`, text a request could put in an error's message.
 */
const URL_USER = /:\/\/?(?<=\b[a-z][a-z0-9+.-]*:\/\/?)[^\s:/?#]*:/gi;
const WORD_REST = /\S*/y;
/**
 * The names of secrets, the one list the three matches read: a field's name (SECRET_FIELD), a parameter's in text
 * (PARAMETER_NAME, through SECRET_NAME) and a URLSearchParams's key (SECRET_PARAMETER). A name ending in one of
 * `endings` (each written once, in camelCase, and read in its snake_case and lower-case spellings too: see spellings),
 * in any case, names one for all three (`password`, `access_token`, `client_secret`, `appealToken`,
 * `currentPassword`, `passwordHash`, `token_hash`, `apiKey`, `MEILI_MASTER_KEY`, `privateKey`, `credentials`,
 * `authorization`, `set-cookie`, `sessionId`, the session cookie's `parvis_session`, `otp`, `PGPASSWORD`,
 * `passwordConfirmation` (since 2026-12-07: only `password_confirmation` was listed), bracketed `user[password]` or encoded
 * `user%5Bpassword%5D`); so does one of `names` whole (nodemailer's `auth.pass`, a `session`; whole here and below:
 * or as a form's bracketed key's last part, `user[pass]`, see wholeName). A field named one of
 * `fields` whole is one too (a `tokens` map, as the demo seed keeps its session tokens), not `maxTokens`, nor `tokens=`
 * in text; a URLSearchParams's key holding `password`, `token` or `secret` anywhere (`password2`, `secretAnswer`), or one
 * of `parameters` whole (an OAuth authorization code's `code`), is one, not
 * `postcode`, `zipcode` or `errorCode`, nor a field (an error's `code`: a SQLSTATE, an errno's name); in text `code=`
 * is one only as a query string's or a URL fragment's (`?code=`, `&code=`, `#code=`), not otherwise (a SQLSTATE's `code=23505`). Until 2026-12-07
 * each match had a list of its own: a field was one of `password`, `token`,
 * `appealToken` and `inviteToken` exactly, and a URLSearchParams's key any holding `password`, `token`, `secret` or
 * `code`; an `apiKey`, an `authorization`, a `cookie`, a `privateKey`, a `credentials`, a `pass` went whole anywhere.
 * `held` lists names that end in one of `endings` for HELD_SECRETS alone, which looks names up whole.
 */
const SECRET_NAMES = {
  endings: [
    'password',
    'passwordConfirmation',
    'passwordHash',
    'passwd',
    'token',
    'tokenHash',
    'secret',
    'secretKey',
    'secretAccessKey',
    'apiKey',
    'masterKey',
    'privateKey',
    'credentials',
    'authorization',
    'cookie',
    'sessionId',
    '_session',
    'otp',
  ],
  names: ['pass', 'session'],
  fields: ['tokens', 'secrets', 'cookies'],
  parameters: ['code'],
  held: ['accessToken', 'appealToken', 'inviteToken', 'refreshToken', 'sessionToken', 'apiToken', 'clientSecret'],
} as const;
/**
 * A name as SECRET_NAMES writes it, in camelCase as code spells it (`secretAccessKey`), and its other spellings:
 * snake_case (`secret_access_key`, `MEILI_MASTER_KEY` read in any case), kebab-case as a header's name (`x-api-key`,
 * `session-id`; until 2026-12-07 such a field, an HTTP client's error's headers say, was written whole) and all lower
 * case (`secretaccesskey`, `apikey=`).
 * Until 2026-12-07 each spelling was written by hand, twice (the patterns' lower-case list, the camelCase names of
 * HELD_SECRETS), and they had drifted: `password_confirmation` had no `passwordConfirmation`, `accessToken` no `access_token`.
 */
function spellings(name: string): string[] {
  return [...new Set([name, wordsApart(name, '_'), wordsApart(name, '-'), name.toLowerCase()])];
}
/** A camelCase name's words in lower case, `between` each two (`secretAccessKey`, `_`: `secret_access_key`). */
function wordsApart(name: string, between: string): string {
  return name.replace(/(?<=[a-z0-9])(?=[A-Z])/g, between).toLowerCase();
}
/**
 * The endings, in each spelling, and words apart (`api key`, `secret access key`) as a decoded form's key can name them
 * (`user%5Bapi%20key%5D=`, see decodedName), which no field or header is named with, so HELD_SECRETS leaves them out.
 */
const SECRET_ENDINGS = [
  ...new Set(SECRET_NAMES.endings.flatMap((name) => [...spellings(name), wordsApart(name, ' ')].map((n) => n.toLowerCase()))),
];
/**
 * A pattern's source for a name one of `names` whole, or as a form's bracketed key's last part (`user[pass]`,
 * `a[b][pass]`, encoded `user%5Bpass%5D`), as a logged body's or query's fields are named; until 2026-12-07 such a key
 * was a secret's only by an ending (`user[password]`), `user[pass]`, `user[session]` and `user[tokens]` went whole.
 */
function wholeName(names: readonly string[], after = ''): string {
  return `(?:^|\\[|%5B${after})(?:${names.join('|')})${KEY_END}`;
}
/**
 * How a name's key ends after the name: its bracket closed (`user[pass]`), and a form's array `[]` after it
 * (`password[]`, `user[password][]`, encoded `%5B%5D`), which until 2026-12-07 kept a secret's name from matching.
 */
const KEY_END = '(?:\\]|%5D)?(?:\\[\\]|%5B%5D)?$';
// A name of `names` is one as a key's last word too, after a space (a decoded form's `user[my pass]`, a field's `wifi
// pass`) or a `-` (a command line's `--pass=`, `--db-pass=`, a header's `x-session`, as a name in text was read from its
// last `-` until 2026-12-07; `by-pass` so too); those of `fields` and `parameters` are not (`max tokens`, `zip code`).
const SECRET_NAME = new RegExp(`${wholeName(SECRET_NAMES.names, '| |-')}|(?:${SECRET_ENDINGS.join('|')})${KEY_END}`, 'i');
const SECRET_FIELD = new RegExp(`${wholeName(SECRET_NAMES.fields)}|${SECRET_NAME.source}`, 'i');
const SECRET_PARAMETER = new RegExp(`${wholeName(SECRET_NAMES.parameters)}|password|token|secret|${SECRET_NAME.source}`, 'i');
/** A parameter of a query string or a URL fragment in text (after a `?`, an `&` or a `#`) whose name is one of `parameters` (`?code=`): see PARAMETER_NAME. */
const QUERY_PARAMETER = new RegExp(wholeName(SECRET_NAMES.parameters), 'i');

/**
 * A parameter in text, `name=` (a URL's `?password=`, `&access_token=`, `user[password]=`; a connection string's
 * keyword=value, libpq's `host=db password=pw`, `PGPASSWORD=pw` as a shell or an env file writes it): its value is
 * replaced when its name names a secret (SECRET_NAME), read to the next `&` or space, or (PARAMETER_VALUE) a quoted one
 * to its closing quote, `password='p w'`, `PGPASSWORD="p w"`, in JSON text `password=\"p w\"`, never past its line's end
 * (until 2026-12-07 the one half-leaked, cut at the space, and an unclosed quote swallowed the lines after it). A name is
 * read with its `-`s, kebab-case (`api-key=`, `?x-api-key=`), as a field's is (until 2026-12-07 it was read from its last
 * `-`, `key`, and kept; `pass` and `session` are ones as its last word, `--pass=`, `x-session=`, see SECRET_NAME). Tried only where a name starts (no letter,
 * digit, `_`, `-`, `%` or `+` before it), so the time taken grows with the text's length: tried after each `-` too, a long
 * `a-a-a-…` would have been read to its end from each of them. A percent-encoded name (`user%5Bmy%20pass%5D=`, `+` a
 * space) is read whole, `%` and `+` with it, and decoded for the check (decodedName). A name SECRET_NAMES's `parameters` holds
 * (`code`) is one only as a query string's or a fragment's, right after `?`, `&` or `#` (`/auth/callback?code=…`, an
 * OAuth authorization code or a one-time code, `#code=…` an implicit flow's; a URL object's too, as its text is read so):
 * elsewhere `code=23505` is a SQLSTATE's. Until
 * 2026-12-07 a URL's `?code=` was kept.
 */
const PARAMETER_NAME = /(?<![\w%+-])([\w%+-]+)(?:\]|%5D)?(?:\[\]|%5B%5D)?=/gi;
const PARAMETER_VALUE = /'(?:[^'\\\r\n]|\\.)*'|"(?:[^"\\\r\n]|\\.)*"|\\"(?:[^"\\\r\n]|\\\\\\"|\\[^"\r\n])*\\"|[^&\s]*/y;

/**
 * Fields of a failed statement's error that hold the rows' values: its parameters (e-mail addresses, password hashes,
 * private text, keys) and the server's detail ("Key (email)=(…)"). The statement's text and the error's code stay, which
 * is what a fix needs. Replaced wherever they are, in an error, its cause or a plain object (a serialized error's).
 */
const ROW_VALUE_FIELDS = ['parameters', 'detail'];

/**
 * Fields that hold a secret (a password; a session's, a link's, an appeal's or an invite's token), replaced wherever
 * they are: in an error, its causes, a plain object at any depth, and among the own fields of an object of another
 * class, a getter of its class too, and of what it holds (see `walkObject`). Until 2026-12-07 pino's paths did it (`*.password`, …: a line's fields and theirs, one
 * level), cloning whatever they passed as `Object.create` of its prototype and its own fields: a URL's or a Buffer's
 * clone threw as JSON wrote it (the logging call with it), a class whose toJSON reads a private field was written
 * `[unable to serialize…]`, and a secret deeper down (a plain object's under an error's `cause`) was written as it was.
 */
function isSecretField(key: PropertyKey): boolean {
  if (typeof key !== 'string') return false;
  let secret = secretFields.get(key);
  if (secret === undefined) {
    secret = SECRET_FIELD.test(key);
    if (secretFields.size < FIELD_NAMES_KEPT && key.length <= 64) secretFields.set(key, secret);
  }
  return secret;
}
/**
 * The answers of isSecretField kept for the first FIELD_NAMES_KEPT names asked about (of at most 64 characters, so what
 * a client's keys hold stays small): lines name the same few fields again and again (an error's `stack`, `message`, its
 * class's `name`), and SECRET_FIELD, tried at each position of a name, cost an error's line about 0.1 us more than a
 * lookup (CPU time, a throwaway script, best of 30 x 100,000, a loaded machine).
 */
const FIELD_NAMES_KEPT = 1000;
const secretFields = new Map<string, boolean>();

/** Fields whose value (when there is one) is replaced by `[redacted]` whatever it is. */
function isReplacedField(key: PropertyKey): boolean {
  return isSecretField(key) || ROW_VALUE_FIELDS.includes(key as string);
}

const REDACTED = '[redacted]';

/**
 * How deep `redacted` looks (an error's cause's cause…, a field's field); what lies deeper is not walked and not kept
 * either (`TOO_DEEP` in its place), since it could not be told free of passwords. pino prints plain objects 5 deep.
 */
const DEPTH = 32;
const TOO_DEEP = '[redacted: nested too deep]';
/**
 * How many items of an array, and fields of an object, `redacted` walks: the rest are left out, counted (an array's last
 * item `[… N more items]`, an object's field `…`: `N more fields`), so a log call's cost has a bound whatever it is given
 * (but for reading an object's keys, see walkObject).
 * Until 2026-12-07 an array was walked whole (200,000 objects in one: 1.2 s, 6 ms since; measured once in jest).
 */
export const ITEMS_WALKED = 1000;
/**
 * How many values one `redacted` call visits, in all: each item of an array and field of an object (whatever it holds,
 * a number too), each object entered and each toJSON called. Objects of other classes are walked too (their own fields),
 * and what they lead to can be a server's whole graph (a request's socket, its server, its connections). Past it, the
 * items and fields not visited yet are left out, counted as ITEMS_WALKED's are (`[… N more items]`, `…`: `N more
 * fields`; an object reached as the count runs out, `[redacted: too much to walk]`). Until 2026-12-07 only objects were counted (10,000): their fields, 1,000 each, were not (10 arrays of 1,000
 * objects of 1,000 strings: 1.8 s in one call); then strings and objects (100,000), numbers not (10 arrays of 1,000
 * objects of 1,000 numbers took seconds). What stays unbounded: an object's keys are all read before its first is walked
 * (see walkObject).
 */
export const VALUES_WALKED = 100_000;
const TOO_MANY = '[redacted: too much to walk]';
/** In place of what could not be read (a getter that threw, a revoked Proxy). */
const UNREADABLE = '[redacted: unreadable]';

/**
 * `value` as it may leave the process (a log line, a message printed, an error's text stored for operators): the one walker
 * every such path uses (the loggers' `logMethod` hook and error serializer, libs/core/src/logger.ts; the CLI's messages;
 * `storedErrorText`). In every string it reaches, each password in a URL (`scheme://user:password@…`) and each `password=`
 * or `token=` parameter (a query string's or a URL fragment's `code=` too) become `[redacted]`; so do the row-value fields (a statement's
 * `parameters`, the server's `detail`)
 * and the fields named as secrets (SECRET_NAMES: `password`, `token`, `client_secret`, …), an object of another class's own too. It reaches
 * an error's message and stack, its own fields and its cause (any number deep, an AggregateError's errors too), plain
 * objects' fields and arrays' items, of any realm (jest's modules run in one of their own, Node's fetch in the main one).
 * An error whose message names a URL with its credentials is no rarity: Meilisearch's client says `Request to <its host's
 * URL>/… has failed` (a MEILI_URL with a user and password in it, say), and Node's fetch refuses such a URL naming it whole.
 *
 * The caller's value is left as it was: what changed is a copy, made only where something in it changed (`value` itself
 * when nothing did). A copy keeps its prototype (pino's `type` still names its class; `instanceof` holds), its fields'
 * enumerability, and each field read once (a getter's value: V8's `stack` is one). A cycle leads to the copy, never back
 * to the original. A URL object becomes its text (its href), its password replaced: `%s` and JSON print a URL so, whole
 * (until 2026-12-07 it was kept, and printed with its password); a URLSearchParams its text too, built from its entries, the value of each key naming a password, a token, a secret
 * or a code replaced. Objects of other classes
 * (a Session, an entity) have their own enumerable fields walked as a plain object's, and a getter or field of their
 * class named as a secret read; one with a toJSON (its own or its class's; not a Date) has what that gives walked too, as
 * has a plain object with its own. Not an error: under `err` pino's error serializer reads its fields, never its toJSON;
 * an error of a class with a toJSON logged under another key is written as that toJSON gives, not walked (not fixed).
 * Each is kept as it is unless something in them changed: then what its toJSON gives, walked, takes its place (`[redacted:
 * unreadable]` when toJSON throws), or, with none, a plain copy of those fields (as JSON writes it), a secret getter's
 * value replaced. A toJSON giving back its own object makes a cycle to what takes its place. A Buffer, a Map
 * (no own fields) and Node's EventEmitters (a request, a response, a socket; unless a secret field is their own) are kept.
 * The walk is bounded: DEPTH deep, ITEMS_WALKED items of an array or fields of an object (the rest counted), and
 * VALUES_WALKED items, fields and objects in all (an object's keys are read whole first); each object walked once. It never throws (a log line must not fail what writes it): a field
 * whose getter throws, and an object that cannot be looked at (a revoked Proxy), become `[redacted: unreadable]`.
 */
export function redacted<T>(value: T): T {
  if (typeof value === 'string') return withoutPasswords(value) as T;
  if (!value || typeof value !== 'object') return value;
  return walk(value, 0, new Walk()) as T;
}

/** `text` with each password of a URL in it and each `password=` / `token=` / query string's or fragment's `code=` parameter replaced (each pattern tried only where it may match). */
function withoutPasswords(text: string): string {
  let out = text.includes(':/') && text.includes('@') ? withoutUrlPasswords(text) : text;
  return out.includes('=') ? withoutSecretParameters(out) : out;
}

/** Each parameter of `text` naming a secret (PARAMETER_NAME) with its value `[redacted]`. */
function withoutSecretParameters(text: string): string {
  let out = '';
  let kept = 0;
  PARAMETER_NAME.lastIndex = 0;
  for (let m = PARAMETER_NAME.exec(text); m; m = PARAMETER_NAME.exec(text)) {
    const name = decodedName(m[1]);
    if (!SECRET_NAME.test(name) && !(isQueryParameter(text, m.index) && QUERY_PARAMETER.test(name))) continue;
    const value = m.index + m[0].length;
    PARAMETER_VALUE.lastIndex = value;
    out += `${text.slice(kept, value)}${REDACTED}`;
    kept = value + PARAMETER_VALUE.exec(text)![0].length;
    PARAMETER_NAME.lastIndex = kept;
  }
  return kept === 0 ? text : out + text.slice(kept);
}

/**
 * A parameter's name as PARAMETER_NAME read it, decoded as a query string's reader decodes it: each `+` a space, each
 * `%XX` its character (`user%5Bmy%20pass%5D` is `user[my pass]`, `api%2Dkey` `api-key`). Until 2026-12-07 a name was
 * read from its last `%` on, `20pass`, `2Dkey`, and kept (but a `%5B` before it, read apart: `user%5Bpass%5D` was
 * `pass`). A malformed sequence (`%ZZ`, half a UTF-8 character) is kept as it is and the ASCII ones around it are still
 * decoded, the secret names being ASCII: a name that will not decode is checked all the same, never a throw. Read only
 * where a parameter was found, not over the whole text.
 */
function decodedName(name: string): string {
  if (!name.includes('%') && !name.includes('+')) return name;
  const spaced = name.replaceAll('+', ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced.replace(/%[0-7][0-9a-f]/gi, (seq) => String.fromCharCode(parseInt(seq.slice(1), 16)));
  }
}

/**
 * Whether the parameter found at `at` in `text` is a query string's or a URL fragment's: right after a `?`, a `#` or an
 * `&`. A fragment carries parameters as a query string does (an OAuth implicit or hybrid flow's redirect,
 * `#access_token=…&code=…`); until 2026-12-07 a fragment's first parameter, `#code=`, was kept.
 */
function isQueryParameter(text: string, at: number): boolean {
  const before = text.charCodeAt(at - 1);
  return before === 0x3f || before === 0x26 || before === 0x23;
}

/** Each `scheme://user:password@` of `text` as `scheme://user:[redacted]@`, the password ending at the word's last `@`. */
function withoutUrlPasswords(text: string): string {
  let out = '';
  let kept = 0;
  URL_USER.lastIndex = 0;
  for (let m = URL_USER.exec(text); m; m = URL_USER.exec(text)) {
    const password = m.index + m[0].length;
    WORD_REST.lastIndex = password;
    const rest = WORD_REST.exec(text)![0];
    const at = rest.lastIndexOf('@');
    if (at >= 0) {
      out += `${text.slice(kept, password)}${REDACTED}`;
      kept = password + at;
    }
    // The rest of the word holds no `@` after this one: no other password in it.
    URL_USER.lastIndex = Math.max(password + rest.length, URL_USER.lastIndex);
  }
  return kept === 0 ? text : out + text.slice(kept);
}

/**
 * The text an error is stored with for operators to read (`outbox.last_error`, `search_sync_queue.last_error`): its
 * message through `redacted`, then cut to `max` characters (cut first, a password could lose the `@` that marks it).
 */
export function storedErrorText(err: unknown, max: number): string {
  return redacted(messageOf(err)).slice(0, max);
}

/**
 * A thrown value's message, never a throw: an error's own; of anything else (a string, an object with a message,
 * null or undefined from a rejection) its text; `(unreadable)` for one that cannot be read (a revoked Proxy, a message
 * getter that throws; until 2026-12-07 that threw, and callers wrapped it in readOr). Not redacted: callers pass it
 * through `redacted`.
 */
export function messageOf(err: unknown): string {
  return readOr(
    () => (err instanceof Error || types.isNativeError(err) ? (err as Error).message : String((err as { message?: unknown } | null | undefined)?.message ?? err)),
    '(unreadable)',
  );
}

/**
 * What `read` reads of a failure, or `unreadable` when reading it throws (a getter that throws, a revoked Proxy): a line
 * about a failure must not fail. The one way Signals' failure keys and a failed start's text read an error.
 */
export function readOr<T>(read: () => T, unreadable: T): T {
  try {
    return read();
  } catch {
    return unreadable;
  }
}

/**
 * One `redacted` call's walk: what it reached (see Visit) and how many items, fields and objects it walked (VALUES_WALKED).
 * Its maps are made only when needed: the first object reached is kept in a field, so a line's one object (`{ userId }`,
 * an error without a cause) makes none (until 2026-12-07 each call made two).
 */
class Walk {
  values = 0;
  private firstObject: object | null = null;
  private first: Visit | object | string | undefined;
  private seen: Map<object, Visit | object | string> | null = null;
  /** The prototype of the plain copies of each class's objects (see plainOf). */
  private plain: Map<object | null, object> | null = null;

  /** What `value` was found to be: its Visit while it is walked, then its result. */
  get(value: object): Visit | object | string | undefined {
    return value === this.firstObject ? this.first : this.seen?.get(value);
  }

  set(value: object, found: Visit | object | string): void {
    if (this.firstObject === null || value === this.firstObject) {
      this.firstObject = value;
      this.first = found;
    } else (this.seen ??= new Map()).set(value, found);
  }

  /**
   * What the copy of an object of another class is made of: a plain object's prototype with only the class's
   * `constructor` (not enumerable), so pino's error serializer still names its `type`, while none of its methods (a
   * toJSON reading a private field the copy has not) is there to run on the copy.
   */
  plainOf(proto: object | null): object {
    this.plain ??= new Map();
    let plain = this.plain.get(proto);
    if (!plain) {
      const ctor = proto && Object.hasOwn(proto, 'constructor') ? (proto as { constructor: unknown }).constructor : Object;
      plain = Object.create(Object.prototype, { constructor: { value: ctor, writable: true, configurable: true } }) as object;
      this.plain.set(proto, plain);
    }
    return plain;
  }
}

/** An object being walked: its copy once one is made, and whether a cycle reached it before it was settled. */
class Visit {
  copy: object | null = null;
  reached = false;
  /** Whether a cycle's copy is to be an array: the object's toJSON gave one. */
  array = false;
  constructor(readonly proto: object | null) {}
}

function walk(value: unknown, depth: number, w: Walk): unknown {
  // A string is counted as the item or field holding it (VALUES_WALKED).
  if (typeof value === 'string') return withoutPasswords(value);
  if (!value || typeof value !== 'object') return value;
  try {
    return walkObject(value, depth, w);
  } catch {
    // An object that cannot be looked at (a revoked Proxy, one whose traps throw): what it holds is not kept either; a
    // log line must not fail the request (or the job) that writes it.
    w.set(value, UNREADABLE);
    return UNREADABLE;
  }
}

function walkObject(value: object, depth: number, w: Walk): unknown {
  const walked = walksInto(value);
  if (!walked) {
    // An object of another class: a URL, a URLSearchParams as the text it is printed as (`%s`'s String; JSON's toJSON, a
    // URL's href), its password or token replaced; a Buffer or typed array as it is (its items, no fields); any other's
    // own enumerable fields walked as a plain object's, and what its toJSON gives, and a copy only when something in them
    // changed (see below). Until 2026-12-07 only one with a secret field of its own was walked: one holding such
    // an object (a session its account) was kept, the secret in it written whole; and a URLSearchParams as it was.
    if (isUrl(value)) return withoutPasswords(value.href);
    if (isSearchParams(value)) return searchParamsText(value);
    if (ArrayBuffer.isView(value)) return value;
    // Node's machinery (a request, a response, a socket, a stream): kept as it is unless a secret field is its own, as
    // pino-http's serializers read a response through its prototype's getters (a plain copy of one whose request's URL
    // had a `?token=` was written without its status), and what it leads to (a server's connections) is no log's data.
    if (value instanceof EventEmitter && !holdsSecret(value)) return value;
  }
  const known = w.get(value);
  if (known) {
    if (!(known instanceof Visit)) return known; // walked before: its result (the value itself, or its copy)
    // A cycle: the ancestor being walked is copied, and this field leads to that copy.
    known.reached = true;
    return (known.copy ??= Array.isArray(value) || known.array ? [] : Object.create(known.proto));
  }
  if (depth >= DEPTH) return TOO_DEEP;
  if (++w.values > VALUES_WALKED) return TOO_MANY;
  const visit = new Visit(walked ? (Object.getPrototypeOf(value) as object | null) : w.plainOf(Object.getPrototypeOf(value) as object | null));
  w.set(value, visit);
  let result: object = value;
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    let changed = false;
    for (let i = 0, n = Math.min(value.length, ITEMS_WALKED); i < n && w.values < VALUES_WALKED; i++) {
      w.values++;
      const item = walk(value[i], depth + 1, w);
      if (item !== value[i]) changed = true;
      items.push(item);
    }
    if (items.length < value.length) {
      items.push(`[… ${value.length - items.length} more items]`);
      changed = true;
    }
    if (visit.reached || changed) result = Object.assign((visit.copy as unknown[] | null) ?? [], items);
  } else {
    // Every key is read before the first is walked, whatever the API: V8's for...in collects them all at its start too
    // (an object of 2,000,000 fields: 1.4 to 1.8 s for a for...in stopped at its 1,000th, 0.9 to 1.7 s for Object.keys,
    // 2.3 to 5.9 s for Reflect.ownKeys, measured twice each in a throwaway script). That, linear in the number of keys the
    // caller made, is the one cost here without a bound.
    const all: PropertyKey[] = walked ? Reflect.ownKeys(value) : Object.keys(value);
    const n = Math.min(all.length, ITEMS_WALKED);
    const keys: PropertyKey[] = [];
    const now: unknown[] = [];
    const enumerable: boolean[] = [];
    let changed = false;
    for (let i = 0; i < n && w.values < VALUES_WALKED; i++) {
      w.values++;
      const key = all[i];
      keys.push(key);
      const field = Object.getOwnPropertyDescriptor(value, key)!;
      enumerable[i] = field.enumerable === true;
      let was: unknown;
      try {
        // Read once: a getter's value (V8's `stack`) is what the copy keeps.
        was = 'value' in field ? field.value : Reflect.get(value, key);
      } catch {
        // A getter that throws: the field, unread, is not kept (the copy says so); the rest of the object is.
        now[i] = UNREADABLE;
        changed = true;
        continue;
      }
      now[i] = was !== undefined && was !== null && isReplacedField(key) ? REDACTED : walk(was, depth + 1, w);
      if (now[i] !== was) changed = true;
    }
    const more = all.length - keys.length;
    if (more > 0) changed = true;
    // A getter (or a field) of its class named as a secret: read by whatever reads the object's fields by name (pino's
    // error serializer reads inherited enumerable ones), so the copy has it replaced (until 2026-12-07 it was read as it was).
    const inherited = walked && isPlain(value) ? [] : inheritedSecrets(Object.getPrototypeOf(value) as object | null);
    for (const { key, enumerable: inheritedEnumerable } of inherited) {
      if (Object.hasOwn(value, key)) continue;
      let was: unknown;
      try {
        was = Reflect.get(value, key);
      } catch {
        was = UNREADABLE;
      }
      if (was === undefined || was === null) continue;
      keys.push(key);
      now.push(was === UNREADABLE ? UNREADABLE : REDACTED);
      enumerable.push(inheritedEnumerable);
      changed = true;
    }
    // JSON writes an object of another class through its toJSON (its own or its class's): what that gives is walked, and
    // takes the object's place when something in it, or in the object's own fields, changed; until 2026-12-07 it was
    // called only when the own fields changed, so a private field's password that toJSON gives was written whole. One
    // that throws leaves the object out (JSON could not write it either). A Date (its ISO text), a Buffer or typed array
    // and a URL are not walked so (the latter two handled above). A plain object's own toJSON too (until 2026-12-07 not);
    // an error's not: under `err` pino's error serializer reads its fields, which are walked, and never calls it (under
    // another key JSON does: not walked, see the comment at the top).
    let json: unknown = value;
    if ((!walked || isPlain(value)) && !types.isDate(value)) {
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        w.values++;
        try {
          json = (toJSON as (key: string) => unknown).call(value, '');
        } catch {
          json = UNREADABLE;
        }
      }
    }
    if (json !== value) {
      visit.array = Array.isArray(json);
      const out = json === UNREADABLE ? UNREADABLE : walk(json, depth + 1, w);
      if (out !== json || json === UNREADABLE || changed || visit.reached) {
        result = out as object;
        // What it gives leads back to the object (a cycle): to the copy handed out, which takes what it gives.
        if (visit.reached && visit.copy && out && typeof out === 'object' && out !== visit.copy && Array.isArray(out) === Array.isArray(visit.copy)) {
          Object.defineProperties(visit.copy, Object.getOwnPropertyDescriptors(out));
          result = visit.copy;
        }
      }
    } else if (changed || visit.reached) {
      const copy = visit.copy ?? (Object.create(visit.proto) as object);
      keys.forEach((key, i) => Object.defineProperty(copy, key, { value: now[i], enumerable: enumerable[i], writable: true, configurable: true }));
      if (more > 0) Object.defineProperty(copy, '…', { value: `${more} more fields`, enumerable: true, writable: true, configurable: true });
      result = copy;
    }
  }
  w.set(value, result);
  return result;
}

/**
 * A URLSearchParams as its text (`%s`'s String), built from its entries: the value of each key naming a secret
 * (SECRET_PARAMETER) is `[redacted]`, the others' passwords replaced as any text's; at most ITEMS_WALKED entries, the
 * rest counted. Until 2026-12-07 its `toString()` went through the text's parameters, which missed an encoded
 * `user%5Bpassword%5D=`, `password_confirmation=`, `client_secret=` and `code=`.
 */
function searchParamsText(params: URLSearchParams): string {
  const parts: string[] = [];
  let n = 0;
  for (const [key, value] of params) {
    if (++n > ITEMS_WALKED) {
      parts.push(`[… ${params.size - ITEMS_WALKED} more parameters]`);
      break;
    }
    parts.push(SECRET_PARAMETER.test(key) ? `${new URLSearchParams([[key, '']]).toString()}${REDACTED}` : new URLSearchParams([[key, withoutPasswords(value)]]).toString());
  }
  return parts.join('&');
}

/**
 * The names an object of Node's machinery (see walkObject) is looked up by, whole, for a secret field of its own: each
 * name SECRET_NAMES lists, and those of `held` (names ending in one of `endings`: `appealToken`, `clientSecret`), in
 * each of its spellings (camelCase, snake_case, kebab-case, lower case). A stream's own fields are not listed: a line with a request
 * or a response pays for these lookups only. Exported for its spec, which holds each camelCase name and its snake_case
 * alike.
 */
export const HELD_SECRETS: readonly string[] = [
  ...new Set([...SECRET_NAMES.endings, ...SECRET_NAMES.names, ...SECRET_NAMES.fields, ...SECRET_NAMES.held].flatMap(spellings)),
];
const HELD = new Set(HELD_SECRETS);

/**
 * Whether an object has an own enumerable field named as a secret (HELD_SECRETS), with a value: its keys (V8 keeps an
 * object's keys cached) looked up in a Set. Until 2026-12-07 each of the names was looked up in the object, 62 lookups
 * for each request and response a line held (about 930 ns an object, against 190 ns now: a throwaway script, best of 15
 * x 100,000 on an IncomingMessage and a ServerResponse, a loaded machine). An own field that is not enumerable is not
 * looked at: the walk copies only the enumerable ones of such an object, and JSON writes no other.
 */
function holdsSecret(value: object): boolean {
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(value)) if (HELD.has(key) && fields[key] !== undefined && fields[key] !== null) return true;
  return false;
}

/** A field named as a secret that objects of a prototype inherit, and whether it is enumerable where the chain first defines it. */
interface InheritedSecret {
  readonly key: string;
  readonly enumerable: boolean;
}

/**
 * The fields (getters, values; not methods) named as secrets (isSecretField) that the objects of `proto` inherit from it
 * and the prototypes after it (but Object's), each with the enumerability of its first definition on the chain; an
 * object's own field of the same name is skipped by the caller. Each name is decided where the chain first defines it,
 * in one pass: a nearer method (a subclass's, `token()`) shadows a farther getter of the same name, which the object
 * never reads (until 2026-12-07 the farther one was replaced all the same, the object copied for nothing, as a first
 * pass kept each name's enumerability and a second looked it up in the list so far). Read once per prototype and kept
 * (inheritedByPrototype) when each prototype of the chain is a class's (isClassPrototype); until 2026-12-07 each
 * object's chain was read twice, once for these names and once more for each one's descriptor.
 */
function inheritedSecrets(proto: object | null): readonly InheritedSecret[] {
  if (!proto) return [];
  const kept = inheritedByPrototype.get(proto);
  if (kept) return kept;
  const keys: InheritedSecret[] = [];
  let classes = true;
  // The secret names defined nearer on the chain: what a farther prototype defines under one is shadowed.
  const seen = new Set<string>();
  for (let p: object | null = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    classes &&= isClassPrototype(p);
    for (const key of Object.getOwnPropertyNames(p)) {
      if (seen.has(key) || !isSecretField(key)) continue;
      seen.add(key);
      const field = Object.getOwnPropertyDescriptor(p, key)!;
      // A method (`refreshToken()`) is no field: JSON and pino's serializer leave it out.
      if (field.get || typeof field.value !== 'function') keys.push({ key, enumerable: field.enumerable === true });
    }
  }
  if (classes) inheritedByPrototype.set(proto, keys);
  return keys;
}
/**
 * inheritedSecrets' answer for each prototype an object logged had, kept as long as the prototype is (a WeakMap: a class
 * made and dropped goes with it), when the whole chain is made of classes' prototypes. A class's getters are defined with
 * it and do not change in practice; one defined on a class's prototype (or a prototype swapped under it) after an object
 * of it was first logged is not seen: not handled. A chain holding any other object (`Object.create(defaults)`, whose
 * `defaults` may get a `password` later; a Proxy) is read again for each object, as every chain was until 2026-12-07:
 * kept, such a chain's answer had a secret added to `defaults` after a first line written whole.
 */
const inheritedByPrototype = new WeakMap<object, readonly InheritedSecret[]>();

/** Whether `proto` is a class's prototype (its own `constructor`'s `prototype`, as `class` and `function` make it), not a Proxy. */
function isClassPrototype(proto: object): boolean {
  if (types.isProxy(proto)) return false;
  const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as unknown;
  return typeof ctor === 'function' && Object.getOwnPropertyDescriptor(ctor, 'prototype')?.value === proto;
}

/** Whether `redacted` looks inside `value` (an array, an error, a plain object), rather than keeping it as it is (an object of another class). */
export function walksInto(value: object): boolean {
  return Array.isArray(value) || types.isNativeError(value) || value instanceof Error || isPlain(value);
}

/** A WHATWG URL (Node's `URL`), told by its tag rather than `instanceof`, so one of another realm is one too. */
function isUrl(value: object): value is URL {
  return Object.prototype.toString.call(value) === '[object URL]';
}

/** A WHATWG URLSearchParams, told by its tag as a URL is. */
function isSearchParams(value: object): value is URLSearchParams {
  return Object.prototype.toString.call(value) === '[object URLSearchParams]';
}

/** Plain objects (and those of no prototype), of any realm. */
function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}
