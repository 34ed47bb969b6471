import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { SaxesParser } from 'saxes';
import { DataSource } from 'typeorm';
import { HANDLE_CHARS, HANDLE_MAX, HANDLE_MIN } from '../../../core/src/handles';
import { newId } from '../../../core/src/ids';
import { escapeHtml } from '../../../content/src/renderer';

/** A related question of SemEval-2016 Task 3 (subtask B) with its comments. */
export interface RelatedThread {
  id: string;
  subject: string;
  body: string;
  date: string;
  userId: string;
  userName: string;
  comments: Array<{ id: string; text: string; date: string; userId: string; userName: string }>;
}

/** An original question and the judgement of each of its related questions. */
export interface OriginalQuestion {
  id: string;
  subject: string;
  body: string;
  /** Related question id → PerfectMatch, Relevant or Irrelevant. */
  labels: Map<string, string>;
}

export interface SemEvalSet {
  questions: OriginalQuestion[];
  /** Unique related threads (the same thread can be listed under several original questions). */
  threads: RelatedThread[];
}

export const RELEVANT_LABELS = new Set(['PerfectMatch', 'Relevant']);

/** Streams a SemEval-2016 Task 3 CQA-QL XML file. */
export async function readSemEval(file: string): Promise<SemEvalSet> {
  const questions = new Map<string, OriginalQuestion>();
  const threads = new Map<string, RelatedThread>();
  const parser = new SaxesParser();
  let text = '';
  let question: OriginalQuestion | null = null;
  let thread: RelatedThread | null = null;
  let comment: RelatedThread['comments'][number] | null = null;
  parser.on('opentag', (tag) => {
    const a = tag.attributes as Record<string, string>;
    text = '';
    if (tag.name === 'OrgQuestion') {
      const id = a.ORGQ_ID;
      question = questions.get(id) ?? { id, subject: '', body: '', labels: new Map() };
      questions.set(id, question);
    } else if (tag.name === 'RelQuestion') {
      thread = { id: a.RELQ_ID, subject: '', body: '', date: a.RELQ_DATE, userId: a.RELQ_USERID, userName: a.RELQ_USERNAME, comments: [] };
      question?.labels.set(a.RELQ_ID, a.RELQ_RELEVANCE2ORGQ);
    } else if (tag.name === 'RelComment') {
      comment = { id: a.RELC_ID, text: '', date: a.RELC_DATE, userId: a.RELC_USERID, userName: a.RELC_USERNAME };
    }
  });
  parser.on('text', (t) => (text += t));
  parser.on('closetag', (tag) => {
    const value = text.trim();
    if (tag.name === 'OrgQSubject' && question) question.subject = value;
    else if (tag.name === 'OrgQBody' && question) question.body = value;
    else if (tag.name === 'RelQSubject' && thread) thread.subject = value;
    else if (tag.name === 'RelQBody' && thread) thread.body = value;
    else if (tag.name === 'RelCText' && comment) comment.text = value;
    else if (tag.name === 'RelComment' && comment && thread) {
      thread.comments.push(comment);
      comment = null;
    } else if (tag.name === 'Thread' && thread) {
      if (!threads.has(thread.id)) threads.set(thread.id, thread);
      thread = null;
    }
    text = '';
  });
  for await (const chunk of createReadStream(file, { encoding: 'utf8' })) parser.write(chunk as string);
  parser.close();
  return { questions: [...questions.values()], threads: [...threads.values()] };
}

/** What a stored handle cannot hold (once lower-cased), by the one handle rule. */
const NOT_HANDLE_CHARS = new RegExp(`[^${HANDLE_CHARS}]`, 'g');

/**
 * A SemEval user's placeholder handle: `ql-` and the characters of their id a handle may hold,
 * within the handle rule's bounds (libs/core/src/handles.ts, which users.handle's CHECK holds).
 */
export function semEvalHandle(sourceId: string): string {
  return `ql-${sourceId.toLowerCase().replace(NOT_HANDLE_CHARS, '')}`.slice(0, HANDLE_MAX).padEnd(HANDLE_MIN, '_');
}

/**
 * The placeholder handles of a set's users, one each and none twice: `semEvalHandle` of each id,
 * except where ids make the same one (`U12` and `u12`, `U.12` and `U12`, two long ids alike in
 * their first characters; users.handle is unique case-insensitively, so the import failed on
 * them). Then each of those ids gets that handle cut to make room for `-` and the start of its
 * id's SHA-256 (8 hex digits; more, should that be taken too). The same ids make the same handles,
 * whatever their order: a handle depends on the id and the ids it collides with, and the
 * lengthening goes in id order.
 */
export function semEvalHandles(sourceIds: Iterable<string>): Map<string, string> {
  const byBase = new Map<string, string[]>();
  for (const id of new Set(sourceIds)) {
    const base = semEvalHandle(id);
    const ids = byBase.get(base);
    if (ids) ids.push(id);
    else byBase.set(base, [id]);
  }
  const handles = new Map<string, string>();
  const taken = new Set<string>();
  for (const [base, ids] of byBase) {
    if (ids.length === 1) {
      handles.set(ids[0], base);
      taken.add(base);
    }
  }
  const shared = [...byBase].filter(([, ids]) => ids.length > 1).flatMap(([base, ids]) => ids.map((id) => ({ id, base })));
  for (const { id, base } of shared.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const hash = createHash('sha256').update(id).digest('hex');
    for (let n = 8; ; n++) {
      if (n > HANDLE_MAX - 'ql--'.length) throw new Error(`No free handle for the SemEval user ${JSON.stringify(id)}`);
      const handle = `${base.slice(0, HANDLE_MAX - n - 1)}-${hash.slice(0, n)}`;
      if (taken.has(handle)) continue;
      handles.set(id, handle);
      taken.add(handle);
      break;
    }
  }
  return handles;
}

/** The handle `semEvalHandles` made for `sourceId`: an id it was not given is an error, not a placeholder without a handle. */
export function semEvalHandleOf(handles: ReadonlyMap<string, string>, sourceId: string): string {
  const handle = handles.get(sourceId);
  if (handle === undefined) throw new Error(`No placeholder handle was made for the SemEval user ${JSON.stringify(sourceId)}`);
  return handle;
}

/**
 * Writes the related threads into a fresh space as QUESTION topics, their comments as
 * replies (authors as placeholder users), and returns related question id → topic id.
 * For evaluation databases only: it bypasses the write path (no outbox, no automod).
 */
export async function importSemEvalThreads(ds: DataSource, set: SemEvalSet): Promise<Map<string, string>> {
  const spaceId = newId();
  const boardId = newId();
  await ds.query(`INSERT INTO spaces (id, slug, name, visibility, language) VALUES ($1, 'semeval', 'SemEval 2016 Qatar Living', 'PUBLIC', 'en')`, [spaceId]);
  await ds.query(`INSERT INTO boards (id, space_id, kind, slug, name) VALUES ($1, $2, 'FORUM', 'threads', 'Threads')`, [boardId, spaceId]);
  // The authors met in the one walk of the threads below; their handles, which depend on every id of the set, once it is done.
  const users = new Map<string, { id: string; name: string }>();
  const userOf = (sourceId: string, name: string) => {
    let user = users.get(sourceId);
    if (!user) users.set(sourceId, (user = { id: newId(), name: name || sourceId }));
    return user.id;
  };
  const topicRows: unknown[][] = [];
  const postRows: unknown[][] = [];
  const topicOf = new Map<string, string>();
  const html = (text: string) => `<p>${escapeHtml(text)}</p>`;
  for (const th of set.threads) {
    const topicId = newId();
    topicOf.set(th.id, topicId);
    const title = (th.subject || th.body.slice(0, 80) || th.id).slice(0, 200);
    topicRows.push([topicId, boardId, spaceId, userOf(th.userId, th.userName), title, th.comments.length, th.comments.length + 1, date(th.date)]);
    postRows.push([newId(), topicId, spaceId, 1, userOf(th.userId, th.userName), th.body, html(th.body), date(th.date)]);
    th.comments.forEach((c, i) => postRows.push([newId(), topicId, spaceId, i + 2, userOf(c.userId, c.userName), c.text, html(c.text), date(c.date)]));
  }
  const handles = semEvalHandles(users.keys());
  const userRows = [...users].map(([sourceId, u]) => [u.id, semEvalHandleOf(handles, sourceId), u.name]);
  const cols = (rows: unknown[][], i: number) => rows.map((r) => r[i]);
  await ds.query(
    `INSERT INTO users (id, handle, display_name, is_placeholder) SELECT * , true FROM unnest($1::uuid[], $2::text[], $3::text[])`,
    [cols(userRows, 0), cols(userRows, 1), cols(userRows, 2)],
  );
  await ds.query(
    `INSERT INTO topics (id, board_id, space_id, author_id, kind, title, reply_count, last_post_number, created_at, last_activity_at)
     SELECT id, b, s, a, 'QUESTION', title, n, last, at, at FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::int[], $7::int[], $8::timestamptz[])
       AS x(id, b, s, a, title, n, last, at)`,
    [0, 1, 2, 3, 4, 5, 6, 7].map((i) => cols(topicRows, i)),
  );
  for (let i = 0; i < postRows.length; i += 5000) {
    const chunk = postRows.slice(i, i + 5000);
    await ds.query(
      `INSERT INTO posts (id, topic_id, space_id, number, author_id, body_source, body_html, created_at)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::uuid[], $6::text[], $7::text[], $8::timestamptz[])`,
      [0, 1, 2, 3, 4, 5, 6, 7].map((k) => cols(chunk, k)),
    );
  }
  return topicOf;
}

function date(text: string): Date {
  const d = new Date(`${text.replace(' ', 'T')}Z`);
  return Number.isNaN(d.getTime()) ? new Date(0) : d;
}
