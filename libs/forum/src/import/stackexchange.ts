import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Pool, PoolClient } from 'pg';
import { SaxesParser } from 'saxes';
import TurndownService from 'turndown';
import { ContentRenderer, sanitizeRendered } from '../../../content/src/renderer';
import { outboxInsertSql, retryable, retryingDeadlocks, sqlState, TRANSACTION_ATTEMPTS } from '../../../core/src/database/unit-of-work';
import { AppError, ErrorCode } from '../../../core/src/errors';
import { asSingleLine, characterCount } from '../../../core/src/graphql/validators';
import { HANDLE_CHARS, HANDLE_MAX, HANDLE_MIN, isStoredHandle } from '../../../core/src/handles';
import { newId } from '../../../core/src/ids';
import { inputFile, optionalInputFile } from '../../../core/src/input-file';
import { TAG_RE, TITLE_MAX, TITLE_MIN } from '../topics/dto/topic.inputs';
import { highestPostNumberSql } from '../posts/last-shown-post';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { BIO_MAX, DISPLAY_NAME_MAX, UpdateProfileInput } from '../../../identity/src/users/dto/update-profile.input';
import { ERASED_IMPORT_DIGEST } from '../../../identity/src/users/erased-import-digest';
import { BOARD_NAME_MAX, SLUG } from '../../../spaces/src/dto/space.inputs';

/**
 * Imports a Stack Exchange data dump (the `Posts.xml`, `Users.xml`, … of one site) into a
 * board: questions become QUESTION topics, answers and comments their replies (a comment
 * replying to the post it comments on), users placeholder accounts, and a question marked as
 * a duplicate of another is closed.
 *
 * The XML is streamed (saxes over fs streams) and written in batches, one transaction per
 * batch, so memory stays flat whatever the dump's size. Posts.xml is read twice (questions,
 * then answers) so an answer always finds its topic, then Comments.xml and PostLinks.xml;
 * accepted answers not imported yet wait in a session temp table, not in memory. Every
 * imported row is recorded in `import_links`, so a second run updates what changed in the
 * dump and never duplicates. Each imported or changed post gets a `post.imported` outbox
 * event in the same transaction (for the search indexer; notifications and the live gateway
 * ignore that type, so an import notifies nobody).
 *
 * Replies are numbered by creation date, answers and comments interleaved: a batch that adds
 * replies to a topic renumbers the topic's posts (see `renumber`), so a later run that brings
 * comments or answers dated between existing ones keeps the order.
 */

/** Mirrors `@ArrayMaxSize(5)` on the topic inputs: an imported topic must stay editable as is. */
const TAGS_MAX = 5;
/** Rounds of handles a batch's placeholders pick (`insertPlaceholders`) before the import gives up: each round after the first follows a handle taken meanwhile. */
export const HANDLE_ROUNDS = 5;
/** SE user ids are numbers; this one cannot collide with them. */
const ANONYMOUS = 'anonymous';

export type StackExchangePhase = 'users' | 'questions' | 'answers' | 'comments' | 'links';

export interface StackExchangeProgress {
  phase: StackExchangePhase;
  /** Rows of this phase's file read so far (all rows, skipped ones included). */
  rows: number;
  /** True once the phase's file has been read to the end. */
  done: boolean;
}

export interface StackExchangeImportOptions {
  /** The dump's folder (holding Posts.xml, and optionally Users.xml, Comments.xml, PostLinks.xml). */
  dir: string;
  /** Slug of the space to import into; it must exist. */
  space: string;
  /** Slug of a FORUM board of that space; default: its first forum board, created when it has none. */
  board?: string;
  /** Names the dump in `import_links` (`stackexchange:<source>`); default: the folder's name. */
  source?: string;
  /** Rows per transaction. */
  batchSize?: number;
  progress?: (p: StackExchangeProgress) => void;
  /** Aborted, the import stops before its next batch (the batch in flight commits or rolls back whole) and lets go of its connection. */
  signal?: AbortSignal;
  /**
   * How this run turns the dump's titles, bodies and comments into ours (default: DUMP_CONVERSION,
   * each one replaced by its own here): the seam through which a test runs the conversion of a later
   * version of the code, as a re-run after an upgrade does.
   */
  conversion?: Partial<DumpConversion>;
}

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
}

export interface StackExchangeImportSummary {
  source: string;
  spaceId: string;
  boardId: string;
  boardSlug: string;
  boardCreated: boolean;
  users: ImportCounts;
  /**
   * Users of the dump anonymised under another source name of the same site (found by their dump
   * identity, `dumpIdentity`): linked to that anonymised account, none made (not in `users`).
   */
  erasedUsers: number;
  /** Handle of the placeholder that owns posts of unknown or missing users, when some post needed it. */
  anonymousHandle: string | null;
  questions: ImportCounts;
  answers: ImportCounts;
  /** Comments of Comments.xml, imported as replies to the question or answer they comment on. */
  comments: ImportCounts;
  /**
   * Duplicate links of PostLinks.xml (LinkTypeId 3) between two imported questions: links
   * recorded by this run or already recorded, and topics this run closed for being a
   * duplicate. The link itself is kept in `import_links` only: nothing shows it yet.
   */
  duplicates: { created: number; unchanged: number; closed: number };
  /** Topics whose accepted answer was set, changed or cleared by this run. */
  acceptedChanged: number;
  /** Tags rewritten to fit the tag rule (`c#` → `csharp`, `3.2-beer` → `3-2-beer`, cut to 30 characters). */
  tagsRewritten: number;
  /** Tags dropped: nothing usable left, or past the 5 a topic keeps. */
  tagsDropped: number;
  /** Question titles shorter than the API takes (TITLE_MIN), kept with ` (question <id>)` after them (importedTitle). */
  titlesLengthened: number;
  skipped: {
    /** Posts that are neither questions nor answers (tag wikis, excerpts, nominations…). */
    otherPostTypes: number;
    /** Answers whose question is not in the dump. */
    orphanAnswers: number;
    /** Comments on posts that were not imported (other post types, orphan answers, deleted posts). */
    orphanComments: number;
    /** PostLinks.xml rows that are not duplicate links ("linked": a related question, not imported). */
    otherLinks: number;
    /** Duplicate links where either question was not imported. */
    orphanDuplicates: number;
  };
  /** `post.imported` outbox rows written. */
  events: number;
  seconds: number;
}

export class StackExchangeImportError extends Error {}

/** The files of a dump that an import reads; those that are optional are null when the folder has none. */
export interface StackExchangeDumpFiles {
  posts: string;
  users: string | null;
  comments: string | null;
  links: string | null;
}

/**
 * The dump's files, checked before anything opens (`inputFile`): Posts.xml, which every import
 * reads, and those it reads when present. One that is there but no file (a folder named
 * Posts.xml) is refused, not read: it would pass as present and fail only once read, after
 * earlier phases committed.
 */
export function stackExchangeDumpFiles(dir: string): StackExchangeDumpFiles {
  const expected = 'the folder of a Stack Exchange dump';
  const optional = (name: string) => optionalInputFile(join(resolve(dir), name), expected, StackExchangeImportError);
  return {
    posts: inputFile(join(resolve(dir), 'Posts.xml'), expected, StackExchangeImportError),
    users: optional('Users.xml'),
    comments: optional('Comments.xml'),
    links: optional('PostLinks.xml'),
  };
}

/**
 * What an import stopped by its signal (`StackExchangeImportOptions.signal`) rejects with: the
 * summary of the batches it committed (the batch in flight when it was stopped included once it
 * committed), which a run again does not redo.
 */
export class StackExchangeImportInterrupted extends StackExchangeImportError {
  constructor(readonly summary: StackExchangeImportSummary) {
    super(`${summary.source}: interrupted; what its committed batches imported is kept, and running the same import again finishes the rest`);
  }
}

type Row = Record<string, string>;

/** The `<row …/>` elements of one dump file, as attribute maps, streamed. */
export async function* readDumpRows(file: string): AsyncGenerator<Row> {
  const parser = new SaxesParser();
  let ready: Row[] = [];
  parser.on('opentag', (tag) => {
    if (tag.name === 'row') ready.push(tag.attributes);
  });
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      // The dumps start with a byte-order mark.
      parser.write(first ? chunk.replace(/^\uFEFF/, '') : chunk);
      first = false;
      const rows = ready;
      ready = [];
      yield* rows;
    }
    parser.close();
  } catch (err) {
    stream.destroy();
    throw new StackExchangeImportError(`${file}: ${(err as Error).message}`);
  }
  yield* ready;
}

/**
 * A batch with each `Id` once, its last row winning, as a later batch's row would win over an
 * earlier one's: a dump repeating an id imports the same however it is cut into batches.
 */
function lastById(rows: Row[]): Row[] {
  const last = new Map<string, number>();
  rows.forEach((r, i) => r.Id !== undefined && last.set(r.Id, i));
  return rows.filter((r, i) => r.Id === undefined || last.get(r.Id) === i);
}

async function* inBatches<T>(rows: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const row of rows) {
    batch.push(row);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** SE dates are UTC without a zone designator. */
export function parseDumpDate(value: string | undefined): Date | null {
  if (!value) return null;
  const d = new Date(/(?:[zZ]|[+-]\d\d:?\d\d)$/.test(value) ? value : `${value}Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * The kind of digest this version keeps (`digestOf`), its prefix: a hash of the dump row's own
 * fields. Digests without it are of the old kind, a hash of what the conversion made of them
 * (`dumpChanged`).
 */
const DIGEST_KIND = 'raw1:';

/**
 * A hash of what a dump row says, so a later run can tell whether the dump changed it: of the
 * row's own fields that feed the conversion, never of what the conversion made of them, so that a
 * later version converting the same row otherwise (an attribute added to images, a title rule)
 * does not take it for a change of the dump and overwrite a moderator's local edit.
 */
function digestOf(...parts: unknown[]): string {
  return DIGEST_KIND + createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}

/**
 * Whether the dump changed a row since the last run, from the digest that run stored: none (a link
 * from before digests were kept) is compared with the local row, once (`differs`); one of the old
 * kind, a hash of the conversion of its day, cannot tell the dump's changes from the conversion's
 * and is taken as unchanged (the run then stores its digest of the new kind); else the digests
 * are compared. The link of an anonymised account holds ERASED_IMPORT_DIGEST, of no kind: unchanged,
 * and kept (`rememberDigests`).
 */
function dumpChanged(stored: string | null, digest: string, differs: () => boolean): boolean {
  if (stored === null) return differs();
  if (!stored.startsWith(DIGEST_KIND)) return false;
  return stored !== digest;
}

/**
 * Who a Users.xml row is on its site, whatever name the dump is imported under (`source`): a hash
 * of the row's `Id` (the user on the site), `AccountId` (the person's network account, the same
 * on every site) and `CreationDate` (when they joined the site, to the millisecond). A dump holds
 * no name or address of its site; these three, together, name one user of one site, the same in
 * every dump of it, and no user of another site (there, the same person has another `CreationDate`,
 * and a user with the same `Id` another `AccountId`). Null for a row lacking one of them (dumps
 * from before 2011 have no `AccountId`): such a user is recognised under its own source only.
 * Kept on the user's link (`dump_identity`), an erased one's too: it is what finds the people
 * anonymised under another source name of the same site (see `importUsers`).
 */
export function dumpIdentity(r: Row): string | null {
  const joined = parseDumpDate(r.CreationDate);
  if (!r.Id || !r.AccountId || !joined) return null;
  return 'se1:' + createHash('sha256').update(JSON.stringify([r.Id, r.AccountId, joined.toISOString()])).digest('base64url');
}

/**
 * Tags from either dump format (`<a><b>` or `|a|b|`), under the forum's own rule (TAG_RE, at
 * most 5) so an imported topic can be edited and filtered like any other. A tag outside the
 * rule is rewritten rather than lost where that keeps its meaning: `#` → `sharp`, `+` → `plus`,
 * anything else → `-`, then cut to 30 characters.
 */
export function parseDumpTags(raw: string | undefined): { tags: string[]; rewritten: number; dropped: number } {
  const parts = !raw ? [] : raw.startsWith('|') ? raw.split('|') : [...raw.matchAll(/<([^<>]*)>/g)].map((m) => m[1]);
  const tags: string[] = [];
  let rewritten = 0;
  let dropped = 0;
  for (const part of parts) {
    const tag = part.trim().toLowerCase();
    if (!tag) continue;
    let kept = tag;
    if (!TAG_RE.test(tag)) {
      kept = tag
        .replace(/#/g, 'sharp')
        .replace(/\+/g, 'plus')
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/-{2,}/g, '-')
        .replace(/^-+/, '')
        .slice(0, 30)
        .replace(/-+$/, '');
      if (!TAG_RE.test(kept)) {
        dropped++;
        continue;
      }
      rewritten++;
    }
    if (tags.includes(kept)) continue;
    if (tags.length >= TAGS_MAX) {
      dropped++;
      continue;
    }
    tags.push(kept);
  }
  return { tags, rewritten, dropped };
}

/** Runs of what a stored handle cannot hold (once lower-cased), which become one `-`. */
const NOT_HANDLE_RUNS = new RegExp(`[^${HANDLE_CHARS}]+`, 'g');

/**
 * A question's title as the API takes one (SingleLineText(TITLE_MAX, { min: TITLE_MIN })), so that
 * an imported topic can be saved as it is: on one line (asSingleLine); `Question <id>` when it shows
 * nothing; and one shorter than TITLE_MIN (`C#`, `Hi`, from a site or an era that allowed it) kept
 * as written, with ` (question <id>)` after it. Discourse's importers keep a short title too (they
 * lower the site's minimum for the run); here the rule stays one for all, so the text is lengthened
 * rather than the rule, and the run counts each (`titlesLengthened`). Refusing the row would drop
 * the question's answers with it.
 */
export function importedTitle(raw: string | undefined, id: string): { title: string; lengthened: boolean } {
  const title = asSingleLine(raw ?? '', TITLE_MAX);
  // The id is the dump's text too, of any length: what it makes is held to the rule as well.
  if (title === '') return { title: asSingleLine(`Question ${id}`, TITLE_MAX), lengthened: false };
  if (characterCount(title) >= TITLE_MIN) return { title, lengthened: false };
  return { title: asSingleLine(`${title} (question ${id})`, TITLE_MAX), lengthened: true };
}

/** A handle (isStoredHandle, but maybe short) from a display name; '' when nothing usable is left. */
export function handleFromName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(NOT_HANDLE_RUNS, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, HANDLE_MAX)
    .replace(/[-_]+$/, '');
}

/** Handles to try for one SE user, best first: the name, then the name with the SE id. */
export function handleCandidates(displayName: string, externalId: string): string[] {
  const id = externalId.replace(/^-/, 'm'); // the Community user is -1
  let base = handleFromName(displayName);
  if (base.length < HANDLE_MIN) base = `se-user-${id}`.slice(0, HANDLE_MAX);
  const suffixed = (suffix: string) => `${base.slice(0, HANDLE_MAX - suffix.length).replace(/[-_]+$/, '')}${suffix}`;
  return [base, suffixed(`-${id}`), ...[2, 3, 4, 5, 6, 7, 8, 9].map((n) => suffixed(`-${id}-${n}`))].filter(isStoredHandle);
}

/**
 * Bodies. The dump holds the rendered HTML of each post (its markdown source is not in it).
 * `body_html` is that HTML through the project's sanitizer, so it shows as it did on the
 * site within our allowlist. `body_source` is, everywhere else, the markdown that renders to
 * `body_html`: the edit form starts from it, revisions keep it, excerpts and the spam model
 * read it. Storing the raw HTML there would be a lie the first edit exposes (the renderer
 * escapes HTML, so the post would turn into visible tags), so it holds markdown converted
 * back from the sanitized HTML (turndown): close to what the author wrote, and what an edit
 * re-renders from.
 */
const turndown = new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-', emDelimiter: '*' });

export function convertDumpBody(raw: string | undefined): { html: string; source: string } {
  const html = sanitizeRendered(raw ?? '');
  return { html, source: html.trim() ? turndown.turndown(html) : '' };
}

/**
 * A comment's text is not HTML but what its author typed: plain text with Stack Exchange's
 * comment markdown (links, emphasis, code). So it is the post's markdown source as is, and
 * its HTML is what the forum's own renderer makes of it, as for any reply written here.
 * `@name` becomes a mention link like anywhere else; no mention is recorded (an import
 * notifies nobody).
 */
const renderer = new ContentRenderer();

export function convertDumpComment(text: string | undefined): { html: string; source: string } {
  const source = text ?? '';
  return { html: renderer.render(source).html, source };
}

/** A user's profile as the dump tells it, in our columns; null for what it lacks or we refuse. */
export interface DumpProfile {
  bio: string | null;
  bio_html: string | null;
  location: string | null;
  website: string | null;
}

/**
 * A Users.xml row's profile: `AboutMe` is HTML as the site rendered it, so it goes the way
 * imported posts go (sanitized, turned back into markdown, the source), and its HTML is our
 * renderer's of that source, as `updateProfile` stores a bio; a source past BIO_MAX is cut at
 * the last paragraph (else word) break that fits. `Location` (white space made one line) and
 * `WebsiteUrl` are checked as `updateProfile` checks them (UpdateProfileInput's rules), and so
 * is the bio: each that fails is left out, the others kept.
 */
export function convertDumpProfile(r: Row): DumpProfile {
  const bio = fitBio(convertDumpBody(r.AboutMe).source);
  const location = (r.Location ?? '').replace(/\s+/g, ' ').trim();
  const website = (r.WebsiteUrl ?? '').trim();
  const input = plainToInstance(UpdateProfileInput, { bio, location, website });
  const refused = new Set(validateSync(input).map((e) => e.property));
  const kept = (field: 'bio' | 'location' | 'website') => (refused.has(field) || !input[field] ? null : input[field]!);
  const source = kept('bio');
  return { bio: source, bio_html: source === null ? null : renderer.render(source).html, location: kept('location'), website: kept('website') };
}

/** A bio's markdown cut to BIO_MAX characters, at the last paragraph break that fits (else the last white space). */
function fitBio(source: string): string {
  const chars = Array.from(source.trim());
  if (chars.length <= BIO_MAX) return chars.join('');
  const head = chars.slice(0, BIO_MAX).join('');
  const paragraph = head.lastIndexOf('\n\n');
  const cut = paragraph > BIO_MAX / 2 ? paragraph : head.search(/\s\S*$/);
  return (cut > 0 ? head.slice(0, cut) : head).trim();
}

/** How dump text becomes ours: a question's title, a post's HTML, a comment's text (StackExchangeImportOptions.conversion). */
export interface DumpConversion {
  title: (raw: string | undefined, id: string) => { title: string; lengthened: boolean };
  body: (raw: string | undefined) => { html: string; source: string };
  comment: (text: string | undefined) => { html: string; source: string };
}

export const DUMP_CONVERSION: Readonly<DumpConversion> = { title: importedTitle, body: convertDumpBody, comment: convertDumpComment };

interface Target {
  spaceId: string;
  boardId: string;
  boardSlug: string;
  boardCreated: boolean;
}

/** The summary's counts, which the batches add up. */
type ImportTally = Omit<StackExchangeImportSummary, 'source' | 'spaceId' | 'boardId' | 'boardSlug' | 'boardCreated' | 'anonymousHandle' | 'seconds'>;

function emptyTally(): ImportTally {
  const counts = (): ImportCounts => ({ created: 0, updated: 0, unchanged: 0 });
  return {
    users: counts(),
    erasedUsers: 0,
    questions: counts(),
    answers: counts(),
    comments: counts(),
    duplicates: { created: 0, unchanged: 0, closed: 0 },
    acceptedChanged: 0,
    tagsRewritten: 0,
    tagsDropped: 0,
    titlesLengthened: 0,
    skipped: { otherPostTypes: 0, orphanAnswers: 0, orphanComments: 0, otherLinks: 0, orphanDuplicates: 0 },
    events: 0,
  };
}

/** Adds every count of `from` to `into`, nested ones included. */
function addTally<T extends object>(into: T, from: T): void {
  for (const key of Object.keys(from) as Array<keyof T>) {
    const value = from[key];
    if (typeof value === 'number') (into[key] as number) += value;
    else addTally(into[key] as object, value as object);
  }
}

/**
 * What one batch makes of its rows, kept apart from the run's state until the batch commits:
 * the counts it adds to the summary, the anonymous placeholder it needed, the posts it
 * announces. A transaction PostgreSQL aborts takes its Batch with it, and the attempt that runs
 * the batch again starts from a new one (`StackExchangeImport.batch`), so nothing of a rolled-back
 * attempt reaches the summary or the run's cache, whatever a batch comes to keep.
 */
class Batch {
  readonly tally: ImportTally;
  /** The placeholder that owns posts of unknown or missing users, when this batch needed it. */
  anonymous: { id: string; handle: string } | null = null;
  /** Posts to announce when the batch ends. */
  readonly emit = new Set<string>();
  /** Inserted in this batch or already given a new version (next_version) by it. */
  readonly moved = new Set<string>();

  /** `counted`: what the batch's rows told before its transaction began (copied, so each attempt adds to its own). */
  constructor(counted?: ImportTally) {
    this.tally = counted ? structuredClone(counted) : emptyTally();
  }
}

interface ParsedPost {
  ext: string;
  owner: string | undefined;
  html: string;
  source: string;
  /** The digest of the dump's text of it (`Body`, a comment's `Text`). */
  digest: string;
  createdAt: Date;
  editedAt: Date | null;
}

interface ParsedQuestion extends ParsedPost {
  /** The digest of the dump's title, tags and closed flag (whether it has a ClosedDate). */
  topicDigest: string;
  title: string;
  tags: string[];
  closed: boolean;
  accepted: string | undefined;
}

interface ParsedAnswer extends ParsedPost {
  parent: string;
  order: number;
}

interface ParsedComment extends ParsedPost {
  /** The SE id of the question or answer commented on. */
  post: string;
  order: number;
}

export const IMPORTED_REASON = 'Imported from Stack Exchange';
export const REIMPORTED_REASON = 'Updated from Stack Exchange';

export async function importStackExchange(pool: Pool, options: StackExchangeImportOptions): Promise<StackExchangeImportSummary> {
  return new StackExchangeImport(pool, options).run();
}

class StackExchangeImport {
  private readonly dir: string;
  private readonly site: string;
  private readonly source: string;
  private readonly batchSize: number;
  private readonly convert: DumpConversion;
  private client!: PoolClient;
  private target!: Target;
  /** The placeholder that owns posts of unknown or missing users, once a committed batch found or made it. */
  private anonymous: { id: string; handle: string } | null = null;
  /** Set once a ROLLBACK failed: the connection's state is unknown, so it is destroyed rather than handed back to the pool (`run`). */
  private broken: Error | undefined;
  private readonly started = process.hrtime.bigint();
  /** What the committed batches added up (`keep`), and only that. */
  private readonly summary: Pick<StackExchangeImportSummary, 'source' | 'anonymousHandle'> & ImportTally;

  constructor(
    private readonly pool: Pool,
    private readonly options: StackExchangeImportOptions,
  ) {
    this.dir = resolve(options.dir);
    this.site = options.source ?? basename(this.dir);
    if (!this.site.trim()) throw AppError.badInput([{ field: 'source', message: 'is empty' }], 'The source name is empty');
    this.source = `stackexchange:${this.site}`;
    this.batchSize = Math.max(1, Math.floor(options.batchSize ?? 500));
    const convert = options.conversion ?? {};
    this.convert = { title: convert.title ?? DUMP_CONVERSION.title, body: convert.body ?? DUMP_CONVERSION.body, comment: convert.comment ?? DUMP_CONVERSION.comment };
    this.summary = { source: this.source, anonymousHandle: null, ...emptyTally() };
  }

  async run(): Promise<StackExchangeImportSummary> {
    const { posts, users, comments, links } = stackExchangeDumpFiles(this.dir);
    this.client = await this.pool.connect();
    try {
      this.target = await this.transaction(() => this.resolveTarget()).catch((err: unknown) => {
        throw retryable(err) ? this.gaveUp(err, 'the transaction choosing the board to import into', { phase: 'target' }) : err;
      });
      // Accepted answers named by questions whose answer is not imported yet (this session only).
      await this.client.query(`DROP TABLE IF EXISTS pg_temp.se_import_accepted`);
      await this.client.query(`CREATE TEMP TABLE se_import_accepted (answer text PRIMARY KEY, topic_id uuid NOT NULL)`);
      if (users) await this.phase('users', users, (rows) => this.importUsers(rows));
      await this.phase('questions', posts, (rows) => this.importQuestions(rows));
      await this.phase('answers', posts, (rows) => this.importAnswers(rows));
      if (comments) await this.phase('comments', comments, (rows) => this.importComments(rows));
      if (links) await this.phase('links', links, (rows) => this.importLinks(rows));
      await this.client.query(`DROP TABLE IF EXISTS pg_temp.se_import_accepted`);
    } finally {
      // pg destroys a connection released with an error; one released without would be lent again.
      this.client.release(this.broken);
    }
    return this.summarized();
  }

  /** What the committed batches did so far. */
  private summarized(): StackExchangeImportSummary {
    const seconds = Number(process.hrtime.bigint() - this.started) / 1e9;
    return { ...structuredClone(this.summary), ...this.target, seconds };
  }

  /**
   * Reads `file` in batches, `work` importing each and answering what it made of it, kept once it
   * committed. A batch PostgreSQL aborted every time it ran (`transaction`) fails the import
   * with CONFLICT naming it (`gaveUp`).
   */
  private async phase(phase: StackExchangePhase, file: string, work: (rows: Row[]) => Promise<Batch>): Promise<void> {
    let rows = 0;
    let batches = 0;
    for await (const batch of inBatches(readDumpRows(file), this.batchSize)) {
      if (this.options.signal?.aborted) throw new StackExchangeImportInterrupted(this.summarized());
      batches++;
      let made: Batch;
      try {
        made = await work(lastById(batch));
      } catch (err) {
        // Past `retryingDeadlocks`, a retryable error is the last of its attempts.
        if (!retryable(err)) throw err;
        const [firstRow, lastRow] = [rows + 1, rows + batch.length];
        throw this.gaveUp(err, `the batch of ${basename(file)} rows ${firstRow}–${lastRow} (batch ${batches} of the ${phase} phase)`, {
          phase,
          file: basename(file),
          batch: batches,
          firstRow,
          lastRow,
        });
      }
      this.keep(made);
      rows += batch.length;
      this.options.progress?.({ phase, rows, done: false });
    }
    this.options.progress?.({ phase, rows, done: true });
  }

  /** A committed batch's counts and placeholder, into the run's summary and cache: the one place they change. */
  private keep(batch: Batch): void {
    addTally(this.summary, batch.tally);
    if (batch.anonymous) {
      this.anonymous = batch.anonymous;
      this.summary.anonymousHandle = batch.anonymous.handle;
    }
  }

  /**
   * One transaction. Two runs of the same source take their batches one at a time (a
   * transaction-scoped advisory lock on the source, its first lock, so no deadlock): each batch
   * reads what is imported already once the other's has committed, and never imports a row a
   * batch of the other run is importing at the same time (two topics for one question).
   *
   * A transaction PostgreSQL aborts for a deadlock or a serialization failure runs again from the
   * start (`retryingDeadlocks`, as the unit of work runs its transactions): a writer that takes a
   * post and then its topic's row (a knowledge promotion reads the thread FOR SHARE under its
   * answer's lock) may meet a batch that holds the topic and renumbers or touches its posts.
   * `work` reads what it decides on again in each attempt, and keeps what it makes outside the
   * database in a value of that attempt (`batch`), never in the run's state.
   */
  private async transaction<T>(work: () => Promise<T>): Promise<T> {
    return retryingDeadlocks(async () => {
      await this.client.query('BEGIN');
      try {
        await this.client.query(`SELECT pg_advisory_xact_lock(hashtextextended('parvis:stackexchange-import:' || $1, 0))`, [this.source]);
        const result = await work();
        await this.client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await this.client.query('ROLLBACK');
        } catch (rollbackErr) {
          // Still in the failed transaction, or worse: no attempt more on this connection.
          this.broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
          throw new StackExchangeImportError(
            `${this.source}: ${err instanceof Error ? err.message : String(err)}; rolling it back failed too (${this.broken.message}), ` +
              'so the import stopped there: what the batches before it imported is committed, and running it again goes on from there',
            { cause: err },
          );
        }
        throw err;
      }
    });
  }

  /**
   * The error an import fails with when PostgreSQL aborted a transaction (`what`) each of the
   * TRANSACTION_ATTEMPTS times it ran: CONFLICT, as the unit of work answers a request then,
   * saying where the import stopped and that running it again is safe (a batch commits whole or
   * not at all, and a run skips what is imported). PostgreSQL's own error named neither.
   */
  private gaveUp(err: unknown, what: string, extensions: Record<string, unknown>): AppError {
    const why = sqlState(err) === '40001' ? 'a serialization failure' : 'a deadlock';
    return new AppError(
      ErrorCode.CONFLICT,
      `${this.source}: PostgreSQL aborted ${what} for ${why} ${TRANSACTION_ATTEMPTS} times running, other writes taking the same rows, ` +
        'and it was rolled back. What the batches before it imported is committed, and nothing of it is: ' +
        'run the same import again, which skips what is imported and goes on from there.',
      { extensions: { source: this.source, ...extensions } },
    );
  }

  /**
   * A batch's transaction (`transaction`): each attempt fills a Batch of its own, starting from
   * what the rows told before (`read`); the one that commits is answered, for `phase` to keep.
   */
  private async batch(read: Batch, work: (batch: Batch) => Promise<void>): Promise<Batch> {
    return this.transaction(async () => {
      const batch = new Batch(read.tally);
      await work(batch);
      return batch;
    });
  }

  private async query<T = Record<string, any>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.client.query(sql, params)).rows as T[];
  }

  // --- target -------------------------------------------------------------------------

  private async resolveTarget(): Promise<Target> {
    const [space] = await this.query<{ id: string }>(`SELECT id FROM spaces WHERE slug = $1`, [this.options.space]);
    // Refusals carry the codes of API.md, which the CLI prints before the message.
    if (!space) throw AppError.notFound(`Space "${this.options.space}" not found: create it first`);
    // A re-run goes where the first run went (its `target` link; for an import older than those
    // links, the board of its first question): new rows join the old ones there, whatever
    // moderators have moved since.
    const [previous] = await this.query<{ board_id: string; board_slug: string; space_id: string; space_slug: string }>(
      `SELECT board_id, board_slug, space_id, space_slug FROM (
         SELECT 0 AS pick, b.id AS board_id, b.slug AS board_slug, s.id AS space_id, s.slug AS space_slug, NULL::timestamptz AS at
           FROM import_links l JOIN boards b ON b.id = l.local_id JOIN spaces s ON s.id = b.space_id
          -- A first run that imported no question yet chose nothing for good.
          WHERE l.source = $1 AND l.kind = 'target' AND EXISTS (SELECT 1 FROM import_links q WHERE q.source = $1 AND q.kind = 'question')
         UNION ALL
         SELECT 1, b.id, b.slug, s.id, s.slug, t.created_at
           FROM import_links l JOIN topics t ON t.id = l.local_id JOIN boards b ON b.id = t.board_id JOIN spaces s ON s.id = t.space_id
          WHERE l.source = $1 AND l.kind = 'question') c
        ORDER BY pick, at LIMIT 1`,
      [this.source],
    );
    if (previous && (previous.space_id !== space.id || (this.options.board && this.options.board !== previous.board_slug))) {
      throw AppError.conflict(
        `${this.source} was imported into board "${previous.board_slug}" of space "${previous.space_slug}": ` +
          `re-run with that space and board, or give another --source to import a separate copy`,
      );
    }
    if (previous) return this.remember({ spaceId: space.id, boardId: previous.board_id, boardSlug: previous.board_slug, boardCreated: false });
    if (this.options.board) {
      const [board] = await this.query<{ id: string; kind: string; slug: string }>(`SELECT id, kind, slug FROM boards WHERE space_id = $1 AND slug = $2`, [
        space.id,
        this.options.board,
      ]);
      if (!board) throw AppError.notFound(`Board "${this.options.board}" not found in space "${this.options.space}"`);
      if (board.kind !== 'FORUM') {
        throw AppError.badInput([{ field: 'board', message: `is a ${board.kind} board, not a FORUM board` }], `Board "${board.slug}" is a ${board.kind} board: questions go to a FORUM board`);
      }
      return this.remember({ spaceId: space.id, boardId: board.id, boardSlug: board.slug, boardCreated: false });
    }
    // The first forum board in the order the space lists its boards.
    const [forum] = await this.query<{ id: string; slug: string }>(
      `SELECT id, slug FROM boards WHERE space_id = $1 AND kind = 'FORUM' ORDER BY position, name, id LIMIT 1`,
      [space.id],
    );
    if (forum) return this.remember({ spaceId: space.id, boardId: forum.id, boardSlug: forum.slug, boardCreated: false });

    const folder = basename(this.dir);
    // As createBoard takes a name: a folder's may hold a line break or a direction override, or show nothing.
    const name = asSingleLine(folder, BOARD_NAME_MAX) || 'Stack Exchange';
    let base = folder.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-+/, '').slice(0, 44).replace(/-+$/, '');
    if (!SLUG.test(base)) base = 'stackexchange';
    const taken = new Set((await this.query<{ slug: string }>(`SELECT slug FROM boards WHERE space_id = $1`, [space.id])).map((b) => b.slug));
    let slug = base;
    for (let n = 2; taken.has(slug); n++) slug = `${base}-${n}`;
    const id = newId();
    await this.query(
      `INSERT INTO boards (id, space_id, kind, slug, name, position)
       VALUES ($1, $2, 'FORUM', $3, $4, (SELECT count(*) FROM boards WHERE space_id = $2))`,
      [id, space.id, slug, name],
    );
    // As the spaces service does for a board created through the API.
    await this.query(outboxInsertSql(`VALUES ('board.created', 'board', $1::uuid, 1, $2::jsonb)`), [id, JSON.stringify({ spaceId: space.id, boardId: id })]);
    return this.remember({ spaceId: space.id, boardId: id, boardSlug: slug, boardCreated: true });
  }

  /** Notes where this source's questions go (the first run's choice), for every later run. */
  private async remember(target: Target): Promise<Target> {
    await this.query(
      `INSERT INTO import_links (source, kind, external_id, local_id) VALUES ($1, 'target', '', $2)
       ON CONFLICT (source, kind, external_id) DO UPDATE SET local_id = EXCLUDED.local_id`,
      [this.source, target.boardId],
    );
    return target;
  }

  // --- users --------------------------------------------------------------------------

  /**
   * Users.xml rows become placeholder accounts: no e-mail, no password, `is_placeholder`
   * (sign-in refuses them, e-mails and trust levels skip them), a handle derived from the
   * display name and unique case-insensitively, and the profile the dump tells
   * (convertDumpProfile). A re-run refreshes the display name and profile of an account that is
   * still a placeholder when the dump changed its row since the last run (`digestOf` of the
   * fields they are made of), so a local change of them stays until the dump's own. An account
   * anonymised since (deleteMyAccount, anonymizeUser) stays as it is: its link, kept so that the
   * run finds it rather than make the person again, holds no digest of the dump's profile any
   * more (ERASED_IMPORT_DIGEST), and no run writes one there again.
   *
   * Another source name is another copy of the dump, its users accounts of their own, except for
   * the people anonymised under any source of the same site: a user this source has not linked
   * yet whose dump identity (`dumpIdentity`) an erased link holds is linked to that anonymised
   * account, marked erased too, and no account is made with the profile the dump tells. Each run
   * gives its links their dump identity when they have none (links from before it), an erased
   * link's included, so that a person anonymised before is recognised once their own source ran again.
   */
  private async importUsers(rows: Row[]): Promise<Batch> {
    const users = rows
      .filter((r) => r.Id)
      .map((r) => ({
        ext: r.Id,
        name: asSingleLine(r.DisplayName ?? '', DISPLAY_NAME_MAX),
        createdAt: parseDumpDate(r.CreationDate),
        profile: convertDumpProfile(r),
        digest: digestOf(r.DisplayName ?? null, r.AboutMe ?? null, r.Location ?? null, r.WebsiteUrl ?? null),
        identity: dumpIdentity(r),
      }));
    return this.batch(new Batch(), async (batch) => {
      const existing = new Map(
        (
          await this.query<
            { external_id: string; id: string; display_name: string; is_placeholder: boolean; deleted: boolean; digest: string | null; dump_identity: string | null } & DumpProfile
          >(
            `SELECT l.external_id, u.id, u.display_name, u.is_placeholder, u.deleted_at IS NOT NULL AS deleted, l.digest, l.dump_identity, u.bio, u.bio_html, u.location, u.website
               FROM import_links l JOIN users u ON u.id = l.local_id
              WHERE l.source = $1 AND l.kind = 'user' AND l.external_id = ANY($2::text[])`,
            [this.source, users.map((u) => u.ext)],
          )
        ).map((r) => [r.external_id, r]),
      );
      const changed: Array<{ id: string; name: string } & DumpProfile> = [];
      const fresh: typeof users = [];
      const unidentified: Array<{ ext: string; identity: string }> = [];
      for (const u of users) {
        const e = existing.get(u.ext);
        if (!e) {
          fresh.push(u);
          continue;
        }
        if (e.dump_identity === null && u.identity !== null) unidentified.push({ ext: u.ext, identity: u.identity });
        const name = u.name || e.display_name;
        // A link without a digest (made before users had one) is compared with the local row once,
        // as every run did then and as a post's link without one is; its digest is stored below.
        const differs = () => name !== e.display_name || (['bio', 'bio_html', 'location', 'website'] as const).some((k) => e[k] !== u.profile[k]);
        const dumpChangedIt = dumpChanged(e.digest, u.digest, differs);
        // An account anonymised since (a GDPR request) keeps its neutral name and empty profile.
        if (e.is_placeholder && !e.deleted && dumpChangedIt) changed.push({ id: e.id, name, ...u.profile });
        else batch.tally.users.unchanged++;
      }
      if (changed.length) {
        // Judged again on the row itself: an account anonymised after the read above (its deletion
        // holds the row; this waits for it, then sees it deleted) keeps its neutral name.
        const updated = await this.query(
          `UPDATE users u SET display_name = r.name, bio = r.bio, bio_html = r.bio_html, location = r.location, website = r.website, updated_at = now()
             FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, name text, bio text, bio_html text, location text, website text)
            WHERE u.id = r.id AND u.is_placeholder AND u.deleted_at IS NULL
            RETURNING u.id`,
          [JSON.stringify(changed)],
        );
        batch.tally.users.updated += updated.length;
        batch.tally.users.unchanged += changed.length - updated.length;
      }
      const erasedElsewhere = await this.erasedElsewhere(fresh);
      if (erasedElsewhere.length) {
        // A link another run of this source claimed meanwhile is as this run would have made it.
        const linkedNow = await this.claimUserLinks(erasedElsewhere, ERASED_IMPORT_DIGEST);
        batch.tally.erasedUsers += linkedNow.size;
        batch.tally.users.unchanged += erasedElsewhere.length - linkedNow.size;
      }
      const linkedToErased = new Set(erasedElsewhere.map((e) => e.ext));
      const toMake = fresh.filter((u) => !linkedToErased.has(u.ext));
      if (toMake.length) {
        const created = toMake.map((u) => ({
          id: newId(),
          ext: u.ext,
          identity: u.identity,
          candidates: handleCandidates(u.name, u.ext),
          name: u.name,
          created_at: u.createdAt,
          ...u.profile,
        }));
        // A user another run of this import made meanwhile is as this run would have made it.
        const made = (await this.insertPlaceholders(created)).filter((h) => h !== null).length;
        batch.tally.users.created += made;
        batch.tally.users.unchanged += created.length - made;
      }
      if (unidentified.length) {
        await this.query(
          `UPDATE import_links l SET dump_identity = r.identity FROM jsonb_to_recordset($2::jsonb) AS r(ext text, identity text)
            WHERE l.source = $1 AND l.kind = 'user' AND l.external_id = r.ext AND l.dump_identity IS NULL`,
          [this.source, JSON.stringify(unidentified)],
        );
      }
      await this.rememberDigests(users.map((u) => ({ kind: 'user', ext: u.ext, digest: u.digest })));
    });
  }

  /**
   * Of users this source has not linked, those anonymised under another source name of the same
   * site: the anonymised account an erased link with their dump identity points at (the first
   * such link by source, when several do).
   */
  private async erasedElsewhere(fresh: Array<{ ext: string; identity: string | null }>): Promise<Array<{ ext: string; id: string; identity: string }>> {
    const identities = fresh.filter((u): u is { ext: string; identity: string } => u.identity !== null);
    if (!identities.length) return [];
    const found = new Map(
      (
        await this.query<{ dump_identity: string; local_id: string }>(
          `SELECT DISTINCT ON (dump_identity) dump_identity, local_id FROM import_links
            WHERE kind = 'user' AND digest = $1 AND dump_identity = ANY($2::text[]) AND dump_identity IS NOT NULL AND source <> $3
            ORDER BY dump_identity, source, external_id`,
          [ERASED_IMPORT_DIGEST, identities.map((u) => u.identity), this.source],
        )
      ).map((r) => [r.dump_identity, r.local_id]),
    );
    return identities.filter((u) => found.has(u.identity)).map((u) => ({ ext: u.ext, id: found.get(u.identity)!, identity: u.identity }));
  }

  /**
   * Claims this source's user links for `links` (external id → local account, with its dump
   * identity), in external id order (so two runs at once wait for each other in one order),
   * `ON CONFLICT DO NOTHING`: returns the external ids this run claimed, leaving a link another
   * run holds as it is (as this run would have made it, or waiting for it until it commits or
   * rolls back). `digest`: ERASED_IMPORT_DIGEST for a link to an account anonymised under another
   * source name (`erasedElsewhere`); null for a placeholder's, its digest stored with the batch's
   * (`rememberDigests`). One statement.
   */
  private async claimUserLinks(links: Array<{ ext: string; id: string; identity: string | null }>, digest: string | null): Promise<Set<string>> {
    const claimed = await this.query<{ external_id: string }>(
      `INSERT INTO import_links (source, kind, external_id, local_id, digest, dump_identity)
       SELECT $1, 'user', r.ext, r.id, $3, r.identity FROM jsonb_to_recordset($2::jsonb) AS r(ext text, id uuid, identity text) ORDER BY r.ext COLLATE "C"
       ON CONFLICT DO NOTHING
       RETURNING external_id`,
      [this.source, JSON.stringify(links.map(({ ext, id, identity }) => ({ ext, id, identity }))), digest],
    );
    return new Set(claimed.map((r) => r.external_id));
  }

  /** The first free handle of each candidate list (free in the database and within the batch). */
  private async pickHandles(candidates: string[][]): Promise<string[]> {
    const all = [...new Set(candidates.flat())];
    const taken = new Set(
      (await this.query<{ h: string }>(`SELECT lower(handle) AS h FROM users WHERE lower(handle) = ANY($1::text[])`, [all])).map((r) => r.h),
    );
    return candidates.map((list) => {
      // Past ten tries (a name taken ten times over), a random handle rather than a failed import.
      const handle = list.find((h) => !taken.has(h)) ?? `se-${randomBytes(6).toString('hex')}`;
      taken.add(handle);
      return handle;
    });
  }

  /**
   * Placeholder accounts for SE users no run has linked yet, linked first: each user's link is
   * claimed (`import_links`, keyed by source, kind and external id; `ON CONFLICT DO NOTHING`,
   * in external id order) before its account is inserted, so two runs of the same import at once
   * wait for each other there, and the one that finds the link taken (its holder committed) makes
   * no second account for that user. Returns each user's handle, null for one whose link another
   * run claimed (users rows are never deleted, so such a link names a live account).
   *
   * The accounts take the first free handle of their candidates (`pickHandles`; an empty name
   * becomes the handle). Handles are read free without a lock, so a sign-up or another import
   * may take one between that read and this insert: the unique index on lower(handle) decides.
   * The insert skips a row whose handle another transaction holds (ON CONFLICT DO NOTHING,
   * having waited for it when it had not committed: taken if it commits, free if it rolls back),
   * and the batch picks again among the handles now read taken, in this transaction: it fails
   * for none of them, and a sign-up that lost the handle to the import is told it is taken. Rows
   * go in handle order, so two imports inserting the same handles wait for each other in one
   * order; and a round that skipped a row is undone whole (a savepoint) before the next picks
   * again, so a later round never holds handles out of that order: it would wait, for a handle
   * it picked anew, on an import that itself waits for one this round kept (a deadlock).
   */
  private async insertPlaceholders(
    users: Array<{ id: string; ext: string; identity?: string | null; candidates: string[]; name: string; created_at: Date | null } & Partial<DumpProfile>>,
  ): Promise<Array<string | null>> {
    const claimed = await this.claimUserLinks(
      users.map((u) => ({ ext: u.ext, id: u.id, identity: u.identity ?? null })),
      null,
    );
    const mine = users.filter((u) => claimed.has(u.ext));
    const handles = new Map<string, string>();
    let taken = 0; // of the last round's handles, the ones another transaction took
    for (let round = 1; mine.length; round++) {
      if (round > HANDLE_ROUNDS) {
        throw AppError.conflict(`Handles picked for imported users were taken meanwhile in each of ${HANDLE_ROUNDS} rounds (${taken} of ${mine.length} in the last): run the import again`);
      }
      await this.client.query('SAVEPOINT se_placeholders');
      const picked = await this.pickHandles(mine.map((u) => u.candidates));
      const rows = mine.map(({ candidates: _, ...u }, i) => ({ ...u, handle: picked[i], name: u.name || picked[i] }));
      const inserted = await this.query<{ id: string; handle: string }>(
        `INSERT INTO users (id, email, handle, display_name, password_hash, is_placeholder, created_at, bio, bio_html, location, website)
         SELECT r.id, NULL, r.handle, r.name, NULL, true, COALESCE(r.created_at, now()), r.bio, r.bio_html, r.location, r.website
           FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, handle text, name text, created_at timestamptz, bio text, bio_html text, location text, website text)
          ORDER BY r.handle
         ON CONFLICT DO NOTHING
         RETURNING id, handle`,
        [JSON.stringify(rows)],
      );
      if (inserted.length === rows.length) {
        await this.client.query('RELEASE SAVEPOINT se_placeholders');
        for (const r of inserted) handles.set(r.id, r.handle);
        break;
      }
      taken = rows.length - inserted.length;
      await this.client.query('ROLLBACK TO SAVEPOINT se_placeholders');
    }
    return users.map((u) => handles.get(u.id) ?? null);
  }

  /** The placeholder that owns posts of unknown or missing users, when some run made it. */
  private async linkedAnonymous(): Promise<{ id: string; handle: string } | undefined> {
    const [found] = await this.query<{ id: string; handle: string }>(
      `SELECT u.id, u.handle FROM import_links l JOIN users u ON u.id = l.local_id WHERE l.source = $1 AND l.kind = 'user' AND l.external_id = $2`,
      [this.source, ANONYMOUS],
    );
    return found;
  }

  /**
   * The one placeholder that owns posts of unknown or missing users, created on first need: the
   * run's once a batch that needed it committed (`keep`), else this batch's.
   */
  private async anonymousUser(batch: Batch): Promise<string> {
    const known = this.anonymous ?? batch.anonymous;
    if (known) return known.id;
    let found = await this.linkedAnonymous();
    if (!found) {
      const site = handleFromName(this.site.replace(/^stackexchange[-_.]?/i, '')).slice(0, 30 - 'se--anon'.length);
      const base = site.length ? `se-${site}-anon` : 'se-anon';
      const id = newId();
      const candidates = [base, ...[2, 3, 4, 5, 6, 7, 8, 9].map((n) => `${base.slice(0, 27)}-${n}`)];
      const [handle] = await this.insertPlaceholders([{ id, ext: ANONYMOUS, candidates, name: `Anonymous (${this.site})`.slice(0, 100), created_at: null }]);
      // Null: another run of this import made it meanwhile (and has committed), read in a statement of its own.
      found = handle !== null ? { id, handle } : await this.linkedAnonymous();
      if (!found) throw new StackExchangeImportError(`The placeholder of ${this.source}'s anonymous posts is linked to no account`);
    }
    batch.anonymous = found;
    return found.id;
  }

  /** Local user ids of the dump's owners; unknown or missing owners map to the anonymous placeholder. */
  private async authors(posts: Array<{ owner: string | undefined }>, batch: Batch): Promise<Map<string | undefined, string>> {
    const owners = [...new Set(posts.map((p) => p.owner).filter((o): o is string => !!o))];
    const rows = owners.length
      ? await this.query<{ external_id: string; id: string }>(
          `SELECT l.external_id, u.id FROM import_links l JOIN users u ON u.id = l.local_id
            WHERE l.source = $1 AND l.kind = 'user' AND l.external_id = ANY($2::text[])`,
          [this.source, owners],
        )
      : [];
    const map = new Map<string | undefined, string>(rows.map((r) => [r.external_id, r.id]));
    if (posts.some((p) => !p.owner || !map.has(p.owner))) map.set(undefined, await this.anonymousUser(batch));
    return map;
  }

  // --- questions ----------------------------------------------------------------------

  private parsePost(r: Row): ParsedPost {
    const { html, source } = this.convert.body(r.Body);
    return {
      ext: r.Id,
      owner: r.OwnerUserId || undefined,
      html,
      source,
      digest: digestOf(r.Body ?? null),
      createdAt: parseDumpDate(r.CreationDate) ?? new Date(),
      editedAt: parseDumpDate(r.LastEditDate),
    };
  }

  private async importQuestions(rows: Row[]): Promise<Batch> {
    const read = new Batch();
    const questions: ParsedQuestion[] = [];
    for (const r of rows) {
      if (r.PostTypeId === '2') continue; // the answers' pass
      if (r.PostTypeId !== '1' || !r.Id) {
        read.tally.skipped.otherPostTypes++;
        continue;
      }
      const tags = parseDumpTags(r.Tags);
      read.tally.tagsRewritten += tags.rewritten;
      read.tally.tagsDropped += tags.dropped;
      const title = this.convert.title(r.Title, r.Id);
      if (title.lengthened) read.tally.titlesLengthened++;
      questions.push({
        ...this.parsePost(r),
        topicDigest: digestOf(r.Title ?? null, r.Tags ?? null, !!r.ClosedDate),
        title: title.title,
        tags: tags.tags,
        closed: !!r.ClosedDate,
        accepted: r.AcceptedAnswerId || undefined,
      });
    }
    if (!questions.length) return read;
    return this.batch(read, async (batch) => {
      const authors = await this.authors(questions, batch);
      const existing = new Map(
        (
          await this.query<{
            external_id: string;
            topic_id: string;
            title: string;
            tags: string[];
            closed: boolean;
            duplicate: boolean;
            post_id: string;
            body_html: string;
            author_id: string;
            topic_digest: string | null;
            body_digest: string | null;
          }>(
            // A question recorded as a duplicate (PostLinks.xml, a previous run) stays closed.
            `SELECT l.external_id, t.id AS topic_id, t.title, t.tags, t.closed, p.id AS post_id, p.body_html, p.author_id, l.digest AS topic_digest,
                    (SELECT lp.digest FROM import_links lp WHERE lp.source = $1 AND lp.kind = 'post' AND lp.external_id = l.external_id) AS body_digest,
                    EXISTS (SELECT 1 FROM import_links d WHERE d.source = $1 AND d.kind = 'duplicate' AND d.local_id = t.id) AS duplicate
               FROM import_links l
               JOIN topics t ON t.id = l.local_id
               JOIN posts p ON p.topic_id = t.id AND p.number = 1
              WHERE l.source = $1 AND l.kind = 'question' AND l.external_id = ANY($2::text[])`,
            [this.source, questions.map((q) => q.ext)],
          )
        ).map((r) => [r.external_id, r]),
      );

      const newTopics: Array<Record<string, unknown>> = [];
      const newPosts: Array<Record<string, unknown>> = [];
      const topicChanges: Array<Record<string, unknown>> = [];
      const postChanges: Array<Record<string, unknown>> = [];
      const topicOf = new Map<string, string>();
      const said: Array<{ kind: string; ext: string; digest: string }> = [];
      for (const q of questions) {
        const e = existing.get(q.ext);
        // The dump's own say only (a duplicate link closing it is the links' pass to keep).
        said.push({ kind: 'question', ext: q.ext, digest: q.topicDigest }, { kind: 'post', ext: q.ext, digest: q.digest });
        if (!e) {
          const topicId = newId();
          const postId = newId();
          topicOf.set(q.ext, topicId);
          const author = authors.get(q.owner) ?? authors.get(undefined)!;
          newTopics.push({ id: topicId, author_id: author, title: q.title, tags: q.tags, closed: q.closed, created_at: q.createdAt });
          newPosts.push(this.postRow(postId, topicId, 1, author, q, q.ext));
          batch.moved.add(postId);
          batch.emit.add(postId);
          batch.tally.questions.created++;
          continue;
        }
        topicOf.set(q.ext, e.topic_id);
        const closed = q.closed || e.duplicate;
        // Changed in the dump since the last run (not here: a moderator's edit stays); links from
        // before digests were kept are compared with the local row, once.
        const topicChanged = dumpChanged(e.topic_digest, q.topicDigest, () => e.title !== q.title || e.closed !== closed || !sameTags(e.tags, q.tags));
        const bodyChanged = dumpChanged(e.body_digest, q.digest, () => e.body_html !== q.html);
        if (topicChanged) topicChanges.push({ id: e.topic_id, title: q.title, tags: q.tags, closed });
        if (bodyChanged) {
          postChanges.push({ id: e.post_id, html: q.html, source: q.source, edited_at: q.editedAt, author_id: e.author_id });
          batch.moved.add(e.post_id);
          batch.emit.add(e.post_id);
        }
        if (topicChanged || bodyChanged) {
          batch.tally.questions.updated++;
        } else {
          batch.tally.questions.unchanged++;
        }
      }

      await this.insertTopics(newTopics);
      await this.insertPosts(newPosts);
      await this.link([
        ...questions.filter((q) => !existing.has(q.ext)).map((q) => ({ kind: 'question', ext: q.ext, id: topicOf.get(q.ext)! })),
        ...newPosts.map((p) => ({ kind: 'post', ext: p.ext as string, id: p.id as string })),
      ]);
      await this.updatePosts(postChanges);
      if (topicChanges.length) {
        await this.query(
          `UPDATE topics t SET title = r.title, tags = r.tags, closed = r.closed, version = next_version(t.version), updated_at = now()
             FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, title text, tags text[], closed boolean) WHERE t.id = r.id`,
          [JSON.stringify(topicChanges)],
        );
        // Every post of the topic is indexed with its title and tags: all of them changed.
        const posts = await this.query<{ id: string }>(`SELECT id FROM posts WHERE topic_id = ANY($1::uuid[])`, [topicChanges.map((t) => t.id)]);
        await this.touch(posts.map((p) => p.id), batch);
      }

      // Accepted answers: those already imported are reconciled now (set, changed or cleared);
      // the others wait in se_import_accepted for the answers' pass.
      const byAnswer = new Map(questions.filter((q) => q.accepted).map((q) => [q.accepted!, topicOf.get(q.ext)!]));
      const withAccepted = [...byAnswer].map(([answer, topic_id]) => ({ answer, topic_id }));
      if (withAccepted.length) {
        await this.query(
          `INSERT INTO se_import_accepted (answer, topic_id) SELECT r.answer, r.topic_id FROM jsonb_to_recordset($1::jsonb) AS r(answer text, topic_id uuid)
           ON CONFLICT (answer) DO UPDATE SET topic_id = EXCLUDED.topic_id`,
          [JSON.stringify(withAccepted)],
        );
      }
      const known = questions.filter((q) => existing.has(q.ext)).map((q) => ({ topic_id: topicOf.get(q.ext), answer: q.accepted ?? null }));
      await this.reconcileAccepted(known, batch);
      await this.rememberDigests(said);
      await this.emitImported(batch);
    });
  }

  // --- answers ------------------------------------------------------------------------

  private async importAnswers(rows: Row[]): Promise<Batch> {
    const read = new Batch();
    const answers: ParsedAnswer[] = [];
    rows.forEach((r, i) => {
      if (r.PostTypeId !== '2' || !r.Id) return;
      if (!r.ParentId) {
        read.tally.skipped.orphanAnswers++;
        return;
      }
      answers.push({ ...this.parsePost(r), parent: r.ParentId, order: i });
    });
    if (!answers.length) return read;
    return this.batch(read, async (batch) => {
      const topics = new Map(
        (
          await this.query<{ external_id: string; id: string }>(
            `SELECT l.external_id, t.id FROM import_links l JOIN topics t ON t.id = l.local_id
              WHERE l.source = $1 AND l.kind = 'question' AND l.external_id = ANY($2::text[])`,
            [this.source, [...new Set(answers.map((a) => a.parent))]],
          )
        ).map((r) => [r.external_id, r.id]),
      );
      const placed = answers.filter((a) => topics.has(a.parent));
      batch.tally.skipped.orphanAnswers += answers.length - placed.length;
      if (!placed.length) return;
      const existing = new Map(
        (
          await this.query<{ external_id: string; id: string; topic_id: string; body_html: string; author_id: string; digest: string | null }>(
            `SELECT l.external_id, p.id, p.topic_id, p.body_html, p.author_id, l.digest FROM import_links l JOIN posts p ON p.id = l.local_id
              WHERE l.source = $1 AND l.kind = 'post' AND l.external_id = ANY($2::text[])`,
            [this.source, placed.map((a) => a.ext)],
          )
        ).map((r) => [r.external_id, r]),
      );

      const changes: Array<Record<string, unknown>> = [];
      const fresh: ParsedAnswer[] = [];
      for (const a of placed) {
        const e = existing.get(a.ext);
        if (!e) {
          fresh.push(a);
        } else if (dumpChanged(e.digest, a.digest, () => e.body_html !== a.html)) {
          changes.push({ id: e.id, html: a.html, source: a.source, edited_at: a.editedAt, author_id: e.author_id });
          batch.moved.add(e.id);
          batch.emit.add(e.id);
          batch.tally.answers.updated++;
        } else {
          batch.tally.answers.unchanged++;
        }
      }
      await this.updatePosts(changes);

      await this.addReplies(
        fresh.map((a) => ({ post: a, topicId: topics.get(a.parent)!, replyTo: null })),
        'post',
        batch,
      );
      batch.tally.answers.created += fresh.length;

      const pending = await this.query<{ answer: string; topic_id: string }>(`SELECT answer, topic_id FROM se_import_accepted WHERE answer = ANY($1::text[])`, [
        placed.map((a) => a.ext),
      ]);
      await this.reconcileAccepted(pending, batch);
      await this.rememberDigests(placed.map((a) => ({ kind: 'post', ext: a.ext, digest: a.digest })));
      await this.emitImported(batch);
    });
  }

  // --- comments -----------------------------------------------------------------------

  /**
   * Comments.xml rows become replies in the topic of the post they comment on, replying to
   * it (`reply_to_post_id`). A comment that gives only a `UserDisplayName` (a user the dump
   * does not identify) goes to the anonymous placeholder, as posts of unknown users do.
   */
  private async importComments(rows: Row[]): Promise<Batch> {
    const read = new Batch();
    const comments: ParsedComment[] = [];
    rows.forEach((r, i) => {
      if (!r.Id) return;
      if (!r.PostId) {
        read.tally.skipped.orphanComments++;
        return;
      }
      const { html, source } = this.convert.comment(r.Text);
      comments.push({
        ext: r.Id,
        post: r.PostId,
        owner: r.UserId || undefined,
        html,
        source,
        digest: digestOf(r.Text ?? null),
        createdAt: parseDumpDate(r.CreationDate) ?? new Date(),
        editedAt: null,
        order: i,
      });
    });
    if (!comments.length) return read;
    return this.batch(read, async (batch) => {
      // Questions' first posts are linked as `post` too, under the question's id.
      const parents = new Map(
        (
          await this.query<{ external_id: string; id: string; topic_id: string }>(
            `SELECT l.external_id, p.id, p.topic_id FROM import_links l JOIN posts p ON p.id = l.local_id
              WHERE l.source = $1 AND l.kind = 'post' AND l.external_id = ANY($2::text[])`,
            [this.source, [...new Set(comments.map((c) => c.post))]],
          )
        ).map((r) => [r.external_id, r]),
      );
      const placed = comments.filter((c) => parents.has(c.post));
      batch.tally.skipped.orphanComments += comments.length - placed.length;
      if (!placed.length) return;
      // SE numbers comments apart from posts: their links have a kind of their own.
      const existing = new Map(
        (
          await this.query<{ external_id: string; id: string; body_html: string; author_id: string; digest: string | null }>(
            `SELECT l.external_id, p.id, p.body_html, p.author_id, l.digest FROM import_links l JOIN posts p ON p.id = l.local_id
              WHERE l.source = $1 AND l.kind = 'comment' AND l.external_id = ANY($2::text[])`,
            [this.source, placed.map((c) => c.ext)],
          )
        ).map((r) => [r.external_id, r]),
      );
      const changes: Array<Record<string, unknown>> = [];
      const fresh: ParsedComment[] = [];
      for (const c of placed) {
        const e = existing.get(c.ext);
        if (!e) {
          fresh.push(c);
        } else if (dumpChanged(e.digest, c.digest, () => e.body_html !== c.html)) {
          changes.push({ id: e.id, html: c.html, source: c.source, edited_at: null, author_id: e.author_id });
          batch.moved.add(e.id);
          batch.emit.add(e.id);
          batch.tally.comments.updated++;
        } else {
          batch.tally.comments.unchanged++;
        }
      }
      await this.updatePosts(changes);
      await this.addReplies(
        fresh.map((c) => {
          const parent = parents.get(c.post)!;
          return { post: c, topicId: parent.topic_id, replyTo: parent.id };
        }),
        'comment',
        batch,
      );
      batch.tally.comments.created += fresh.length;
      await this.rememberDigests(placed.map((c) => ({ kind: 'comment', ext: c.ext, digest: c.digest })));
      await this.emitImported(batch);
    });
  }

  // --- post links -----------------------------------------------------------------------

  /**
   * PostLinks.xml: a duplicate link (LinkTypeId 3) between two imported questions closes the
   * duplicate (PostId) and is recorded in `import_links` (kind `duplicate`, keyed by both SE
   * ids, pointing at the duplicate's topic), which is also what keeps a re-run's questions
   * pass from reopening it. Nothing shows the link yet: there is no API for related topics.
   * "Linked" rows (LinkTypeId 1) are only counted. Closing changes nothing search indexes, so
   * it announces no post.
   */
  private async importLinks(rows: Row[]): Promise<Batch> {
    const read = new Batch();
    const links: Array<{ ext: string; duplicate: string; original: string }> = [];
    for (const r of rows) {
      if (r.LinkTypeId !== '3') read.tally.skipped.otherLinks++;
      else if (!r.PostId || !r.RelatedPostId) read.tally.skipped.orphanDuplicates++;
      else links.push({ ext: `${r.PostId}:${r.RelatedPostId}`, duplicate: r.PostId, original: r.RelatedPostId });
    }
    if (!links.length) return read;
    return this.batch(read, async (batch) => {
      const topics = new Map(
        (
          await this.query<{ external_id: string; local_id: string }>(
            `SELECT external_id, local_id FROM import_links WHERE source = $1 AND kind = 'question' AND external_id = ANY($2::text[])`,
            [this.source, [...new Set(links.flatMap((l) => [l.duplicate, l.original]))]],
          )
        ).map((r) => [r.external_id, r.local_id]),
      );
      const placed = links.filter((l) => topics.has(l.duplicate) && topics.has(l.original) && l.duplicate !== l.original);
      batch.tally.skipped.orphanDuplicates += links.length - placed.length;
      if (!placed.length) return;
      const known = new Set(
        (
          await this.query<{ external_id: string }>(
            `SELECT external_id FROM import_links WHERE source = $1 AND kind = 'duplicate' AND external_id = ANY($2::text[])`,
            [this.source, placed.map((l) => l.ext)],
          )
        ).map((r) => r.external_id),
      );
      const fresh = placed.filter((l) => !known.has(l.ext));
      await this.link(fresh.map((l) => ({ kind: 'duplicate', ext: l.ext, id: topics.get(l.duplicate)! })));
      batch.tally.duplicates.created += fresh.length;
      batch.tally.duplicates.unchanged += placed.length - fresh.length;
      const closed = await this.query(
        `UPDATE topics SET closed = true, version = next_version(version), updated_at = now() WHERE id = ANY($1::uuid[]) AND NOT closed RETURNING id`,
        [[...new Set(placed.map((l) => topics.get(l.duplicate)!))]],
      );
      batch.tally.duplicates.closed += closed.length;
    });
  }

  // --- shared writes ------------------------------------------------------------------

  /**
   * New replies (answers or comments) added to their topics: appended after the highest number
   * the topic gave (`highestPostNumberSql`, as a reply is: never one a post moved away had), then
   * every affected topic renumbered by date, and the counters they move recomputed. Linked under
   * `kind` (`post` for answers, `comment` for comments).
   */
  private async addReplies(
    replies: Array<{ post: ParsedPost & { order: number }; topicId: string; replyTo: string | null }>,
    kind: 'post' | 'comment',
    batch: Batch,
  ): Promise<void> {
    if (!replies.length) return;
    const authors = await this.authors(replies.map((r) => r.post), batch);
    const topicIds = [...new Set(replies.map((r) => r.topicId))].sort();
    // Locked like a reply locks its topic, so numbers stay distinct even while people reply in
    // the same topics (and past any a move took away: highestPostNumberSql, so not always consecutive).
    const last = new Map(
      (
        await this.query<{ id: string; highest: number }>(
          `SELECT id, ${highestPostNumberSql()} AS highest FROM topics WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE`,
          [topicIds],
        )
      ).map((r) => [r.id, r.highest]),
    );
    // In date order within the batch, so the renumbering after moves as little as it can.
    replies.sort((x, y) => x.post.createdAt.getTime() - y.post.createdAt.getTime() || x.post.order - y.post.order);
    const posts = replies.map((r) => {
      const number = (last.get(r.topicId) ?? 1) + 1;
      last.set(r.topicId, number);
      const id = newId();
      batch.moved.add(id);
      batch.emit.add(id);
      return this.postRow(id, r.topicId, number, authors.get(r.post.owner) ?? authors.get(undefined)!, r.post, r.post.ext, r.replyTo);
    });
    await this.insertPosts(posts);
    await this.link(posts.map((p) => ({ kind, ext: p.ext as string, id: p.id as string })));
    await this.renumber(topicIds, batch);
    await this.recount(topicIds);
  }

  /**
   * Orders these topics' posts by creation date (the first post stays 1; equal dates keep their
   * current order) over the numbers they have: the k-th by date takes the k-th lowest number, so
   * 1..n where no post was moved away, and never a number a post moved away had (a gap a
   * `movePosts` left, or one past the topic's last post: new replies come after those,
   * highestPostNumberSql), which a read mark, a notification or a link may still hold for the
   * moved post; until 2026-12-07 it renumbered 1..n. In two steps so UNIQUE (topic_id,
   * number) holds after each statement: the posts that move first take their new number
   * negated, then its sign flips. A moved post is announced again: its number is part of its
   * search document.
   */
  private async renumber(topicIds: string[], batch: Batch): Promise<void> {
    const moved = await this.query<{ id: string }>(
      `WITH ranked AS (
         SELECT id, topic_id, number,
                row_number() OVER (PARTITION BY topic_id ORDER BY number = 1 DESC, created_at, number) AS by_date,
                row_number() OVER (PARTITION BY topic_id ORDER BY number) AS by_number
           FROM posts WHERE topic_id = ANY($1::uuid[])
       ),
       wanted AS (SELECT d.id, n.number FROM ranked d JOIN ranked n ON n.topic_id = d.topic_id AND n.by_number = d.by_date)
       UPDATE posts p SET number = -w.number FROM wanted w WHERE p.id = w.id AND p.number <> w.number
       RETURNING p.id`,
      [topicIds],
    );
    if (!moved.length) return;
    const ids = moved.map((m) => m.id);
    await this.query(`UPDATE posts SET number = -number WHERE id = ANY($1::uuid[])`, [ids]);
    await this.touch(ids, batch);
  }

  /** The counters a reply moves, recomputed from the rows so a re-run cannot drift them. */
  private async recount(topicIds: string[]): Promise<void> {
    await this.query(
      `UPDATE topics t SET reply_count = s.replies, last_post_number = GREATEST(t.last_post_number, s.last_number),
              last_activity_at = GREATEST(t.last_activity_at, s.last_at), version = next_version(t.version), updated_at = now()
         FROM (SELECT topic_id, count(*) FILTER (WHERE number > 1 AND state = 'VISIBLE')::int AS replies, max(number) AS last_number,
                      max(created_at) FILTER (WHERE state = 'VISIBLE') AS last_at
                 FROM posts WHERE topic_id = ANY($1::uuid[]) GROUP BY topic_id) s
        WHERE t.id = s.topic_id`,
      [topicIds],
    );
  }


  private postRow(id: string, topicId: string, number: number, authorId: string, p: ParsedPost, ext: string, replyTo: string | null = null): Record<string, unknown> {
    return {
      id,
      rev_id: newId(),
      ext,
      topic_id: topicId,
      number,
      author_id: authorId,
      reply_to: replyTo,
      source: p.source,
      html: p.html,
      edited_at: p.editedAt,
      created_at: p.createdAt,
    };
  }

  private async insertTopics(rows: Array<Record<string, unknown>>): Promise<void> {
    if (!rows.length) return;
    await this.query(
      `INSERT INTO topics (id, board_id, space_id, author_id, kind, title, tags, closed, last_post_number, last_activity_at, created_at)
       SELECT r.id, $1, $2, r.author_id, 'QUESTION', r.title, r.tags, r.closed, 1, r.created_at, r.created_at
         FROM jsonb_to_recordset($3::jsonb) AS r(id uuid, author_id uuid, title text, tags text[], closed boolean, created_at timestamptz)`,
      [this.target.boardId, this.target.spaceId, JSON.stringify(rows)],
    );
  }

  /** New posts with their first revision (as every post has: the history starts with it). */
  private async insertPosts(rows: Array<Record<string, unknown>>): Promise<void> {
    if (!rows.length) return;
    const json = JSON.stringify(rows);
    // A post lives in its topic's space: a topic moved since the last run took its posts with it.
    await this.query(
      `INSERT INTO posts (id, topic_id, space_id, number, author_id, reply_to_post_id, body_source, body_html, edited_at, created_at)
       SELECT r.id, r.topic_id, t.space_id, r.number, r.author_id, r.reply_to, r.source, r.html, r.edited_at, r.created_at
         FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, topic_id uuid, number int, author_id uuid, reply_to uuid, source text, html text,
                                                 edited_at timestamptz, created_at timestamptz)
         JOIN topics t ON t.id = r.topic_id`,
      [json],
    );
    await this.query(
      `INSERT INTO post_revisions (id, post_id, number, editor_id, reason, body_source, created_at)
       SELECT r.rev_id, r.id, 1, r.author_id, $1, r.source, COALESCE(r.edited_at, r.created_at)
         FROM jsonb_to_recordset($2::jsonb) AS r(rev_id uuid, id uuid, author_id uuid, source text, edited_at timestamptz, created_at timestamptz)`,
      [IMPORTED_REASON, json],
    );
  }

  /** Posts with a new body, each with a revision by its author (the dump does not say who edited). */
  private async updatePosts(rows: Array<Record<string, unknown>>): Promise<void> {
    if (!rows.length) return;
    await this.query(
      `UPDATE posts p SET body_html = r.html, body_source = r.source, edited_at = COALESCE(r.edited_at, now()),
              version = next_version(p.version), updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, html text, source text, edited_at timestamptz)
        WHERE p.id = r.id`,
      [JSON.stringify(rows)],
    );
    const edited = rows.map((r) => ({ ...r, rev_id: newId() }));
    await this.query(
      `INSERT INTO post_revisions (id, post_id, number, editor_id, reason, body_source)
       SELECT r.rev_id, r.id, (SELECT COALESCE(max(number), 0) + 1 FROM post_revisions WHERE post_id = r.id), r.author_id, $1, r.source
         FROM jsonb_to_recordset($2::jsonb) AS r(rev_id uuid, id uuid, author_id uuid, source text)`,
      [REIMPORTED_REASON, JSON.stringify(edited)],
    );
  }

  /**
   * What the dump said of these rows this run (see digestOf), for the next run to compare with.
   * Only a link whose digest this changes is written: on a re-run of the same dump, none (an
   * UPDATE setting what is there still writes a new row version, for every link of the dump).
   */
  private async rememberDigests(rows: Array<{ kind: string; ext: string; digest: string }>): Promise<void> {
    if (!rows.length) return;
    // Never over the mark an anonymisation left in place of a user's digest: that hash of the
    // dump's profile would be a derivative of the erased person again. An anonymisation under way
    // holds the link (it writes the mark in its transaction): this waits for it, then reads the mark.
    await this.query(
      `UPDATE import_links l SET digest = r.digest FROM jsonb_to_recordset($2::jsonb) AS r(kind text, ext text, digest text)
        WHERE l.source = $1 AND l.kind = r.kind AND l.external_id = r.ext AND l.digest IS DISTINCT FROM r.digest AND l.digest IS DISTINCT FROM $3`,
      [this.source, JSON.stringify(rows), ERASED_IMPORT_DIGEST],
    );
  }

  private async link(rows: Array<{ kind: string; ext: string; id: string }>): Promise<void> {
    if (!rows.length) return;
    // A link left by a row deleted since points at the new row.
    await this.query(
      `INSERT INTO import_links (source, kind, external_id, local_id)
       SELECT $1, r.kind, r.ext, r.id FROM jsonb_to_recordset($2::jsonb) AS r(kind text, ext text, id uuid)
       ON CONFLICT (source, kind, external_id) DO UPDATE SET local_id = EXCLUDED.local_id`,
      [this.source, JSON.stringify(rows)],
    );
  }

  /**
   * Sets each topic's accepted answer to the imported post of `answer` (null clears it),
   * under the forum's rule: a visible reply of that topic. Both the previous and the new
   * accepted post are re-announced, since being accepted is part of what they are indexed with.
   */
  private async reconcileAccepted(wanted: Array<{ topic_id: string | undefined; answer: string | null }>, batch: Batch): Promise<void> {
    if (!wanted.length) return;
    const changed = await this.query<{ was: string | null; now: string | null }>(
      `WITH want AS (
         SELECT w.topic_id, p.id AS post_id
           FROM jsonb_to_recordset($2::jsonb) AS w(topic_id uuid, answer text)
           LEFT JOIN import_links l ON l.source = $1 AND l.kind = 'post' AND l.external_id = w.answer
           LEFT JOIN posts p ON p.id = l.local_id AND p.topic_id = w.topic_id AND p.number > 1 AND p.state = 'VISIBLE'
       ), cur AS (
         SELECT t.id, t.accepted_post_id FROM topics t WHERE t.id IN (SELECT topic_id FROM want) FOR NO KEY UPDATE
       )
       UPDATE topics t SET accepted_post_id = want.post_id, version = next_version(t.version), updated_at = now()
         FROM want JOIN cur ON cur.id = want.topic_id
        WHERE t.id = want.topic_id AND cur.accepted_post_id IS DISTINCT FROM want.post_id
       RETURNING cur.accepted_post_id AS was, want.post_id AS now`,
      [this.source, JSON.stringify(wanted)],
    );
    batch.tally.acceptedChanged += changed.length;
    await this.touch(
      changed.flatMap((c) => [c.was, c.now]).filter((id): id is string => !!id),
      batch,
    );
  }

  /**
   * Posts whose indexed document changed without their body changing (their topic's title or
   * tags, being accepted): one version up, once per batch, so their event is never mistaken
   * for a repeat of an earlier one.
   */
  private async touch(ids: string[], batch: Batch): Promise<void> {
    const bump = [...new Set(ids.filter((id) => !batch.moved.has(id)))];
    if (bump.length) await this.query(`UPDATE posts SET version = next_version(version), updated_at = now() WHERE id = ANY($1::uuid[])`, [bump]);
    for (const id of ids) {
      batch.moved.add(id);
      batch.emit.add(id);
    }
  }

  /** One `post.imported` event per post, carrying the version the post has at commit. */
  private async emitImported(batch: Batch): Promise<void> {
    if (!batch.emit.size) return;
    const [{ n }] = await this.query<{ n: number }>(
      outboxInsertSql(
        `SELECT 'post.imported', 'post', p.id, p.version,
                jsonb_build_object('postId', p.id, 'topicId', p.topic_id, 'spaceId', p.space_id, 'boardId', t.board_id)
           FROM posts p JOIN topics t ON t.id = p.topic_id
          WHERE p.id = ANY($1::uuid[])
          ORDER BY p.created_at, p.id`,
      ),
      [[...batch.emit]],
    );
    batch.tally.events += n;
  }
}

function sameTags(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}
