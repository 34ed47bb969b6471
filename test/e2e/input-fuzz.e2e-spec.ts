import { writeFileSync } from 'fs';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import {
  getNamedType,
  GraphQLArgument,
  GraphQLField,
  GraphQLInputType,
  GraphQLSchema,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
} from 'graphql';
import { newId } from '../../libs/core/src/ids';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { publishedArticle } from '../factories/knowledge';
import { freshIp } from '../support/fresh-ip';
import { bootTestApp, expectOk, GqlResult, TestApp } from '../support/test-app';

/**
 * The ground rule across the whole schema: "Every input is validated. A bad request gets a
 * clear error with a code (API.md) and writes nothing." The schema is read from the
 * running API (the schema it serves) and every mutation, and every query field that takes arguments, is sent a
 * fixed set of malformed argument sets built from its argument types (one argument, or one
 * field of an input object, broken at a time while the rest keep a well-formed value), as an
 * admin (so permissions do not hide validation) and anonymously. Every answer must be an
 * error with a documented code (never INTERNAL), with no stack trace nor database message,
 * and no table may change (count and checksum of its rows, compared once per root field).
 *
 * The well-formed values are deliberately of nothing: ids are unknown UUIDs, so a request whose
 * other arguments pass validation ends in NOT_FOUND, and no case can be a legitimate write.
 */

/** Error codes clients may get (API.md; libs/core/src/errors.ts) but INTERNAL, which is a bug. */
const DOCUMENTED = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT', 'RATE_LIMITED', 'CONFLICT']);

/** What a database's or a runtime's own words look like in a message. */
const LEAK = /violates|relation "|syntax error|invalid input syntax|invalid byte sequence|duplicate key|QueryFailedError|unterminated|\bSQL\b|at .+\.(ts|js):\d+|node_modules|TypeError|ReferenceError|Cannot read prop/;

/**
 * Tables a refused request may legitimately change, each with why. Everything else is
 * compared before and after every root field's cases.
 */
const EXCLUDED_TABLES: Record<string, string> = {
  migrations: 'migration bookkeeping; never written by requests, excluded only to keep the checksum off the runner',
  rate_events: 'rate-limit counters: a refused attempt (sign-in, password or e-mail change, sign-up) counts against its limit by design',
  rate_tokens: 'rate-limit token buckets: search and similarTopics charge a read before they answer, refused or not',
};

/**
 * Malformed-looking values a field legitimately accepts (`Type.field` and the case's label,
 * as the failure lists it, without the caller), each with why. These cases are not sent (an
 * accepted one may write, as it should); any other case accepted is a failure.
 */
const ACCEPTED: Record<string, string> = {
  'Mutation.createGroup input description: empty string': 'an optional description of 0–500 characters: empty is no description',
  'Mutation.createGroup input description: whitespace only': 'trimmed to empty: no description',
  'Mutation.updateGroup input description: empty string': 'an optional description (0–500): empty clears it',
  'Mutation.updateGroup input description: whitespace only': 'trimmed to empty, which clears it',
  'Mutation.updateBoard input description: empty string': 'an optional description: empty clears it',
  'Mutation.updateBoard input description: whitespace only': 'trimmed to empty, which clears it',
  'Mutation.createBoard input description: empty string': 'an optional description: empty is none',
  'Mutation.createBoard input description: whitespace only': 'trimmed to empty: none',
  'Mutation.replyToTopic input body: control characters':
    'a markdown body: "the stored source keeps them, as typed" and rendering drops them (libs/content/src/renderer.ts, withoutControls)',
  'Mutation.setGroupAutomaticDomains input domains: empty list': 'documented: "an empty list turns the rule off"',
  'Mutation.report input note: empty string': 'an optional note (required with OTHER only): empty is none',
  'Mutation.report input note: whitespace only': 'trimmed to empty: none',
  'Mutation.rateArticle input comment: empty string': 'an optional comment: empty is none',
  'Mutation.rateArticle input comment: whitespace only': 'trimmed to empty: none',
  'Mutation.setIdeaStatus input response: control characters': 'a markdown official response: as post bodies, kept as typed and dropped by rendering',
  'Mutation.resolveReviewItem input note: empty string': 'an optional note: empty is none',
  'Mutation.resolveReviewItem input note: whitespace only': 'trimmed to empty: none',
  'Mutation.updateArticle input body: control characters': 'a markdown body: as post bodies, kept as typed and dropped by rendering',
  'Mutation.updateArticle input note: empty string': 'an optional revision note: blank is none (blankToNull)',
  'Mutation.updateArticle input note: whitespace only': 'blank is none (blankToNull)',
  'Mutation.updateArticle input summary: empty string': 'an optional abstract of up to SUMMARY_MAX characters: empty is none',
  'Mutation.updateArticle input summary: whitespace only': 'trimmed to empty: none',
  'Mutation.updateProfile input website: empty string': 'documented: "An empty text clears it"',
  'Mutation.updateProfile input website: whitespace only': 'trimmed to empty, which clears it (documented)',
  'Query.search query control characters': 'free search text: control characters are no words and match nothing (search-documents strips them from indexed text)',
  'Query.similarTopics title control characters': 'free text being typed, searched as search is: control characters match nothing',
  'Query.tags prefix empty string': 'documented: "blank for none"',
  'Query.tags prefix whitespace only': 'documented: trimmed, "blank for none"',
  'Query.similarTopics spaceId unknown uuid': 'a filter, "only topics of this space": of a space the viewer does not read, none (no NOT_FOUND, as search filters do)',
};

/** Known failures: `Type.field` → what is wrong. Each is reported as an it.todo until fixed. */
const KNOWN_FAILURES: Record<string, string> = {
};

const ONE_ARG_LIMIT = 200_001;
const BIG_INT = 2_147_483_647;
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

interface Case {
  label: string;
  value: unknown;
}

/**
 * The id a well-formed argument of this name takes: an unknown UUID in the first pass, an
 * existing row's (by the argument's name) in the second, so that broken fields next to it are
 * reached past the lookups. Set by each pass.
 */
let idOf: (name: string) => string = () => newId();
/** Which value a well-formed enum takes: its first, or (a pass of its own) its last. */
let enumPick: 'first' | 'last' = 'first';
/** The root field whose cases are being built (an idea's mutation takes an idea's topic, say). */
let currentField = '';

/** A well-formed value of the argument's type, by its name where the type alone says too little. */
function wellFormed(type: GraphQLInputType, name: string, depth = 0): unknown {
  if (isNonNullType(type)) return wellFormed(type.ofType, name, depth);
  if (isListType(type)) return [wellFormed(type.ofType, name, depth)];
  if (isEnumType(type)) {
    const values = type.getValues();
    const v = values[enumPick === 'first' ? 0 : values.length - 1];
    return v.value ?? v.name;
  }
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields())) {
      if (depth < 3 && (isNonNullType(f.type) || depth === 0)) out[f.name] = wellFormed(f.type, f.name, depth + 1);
    }
    return out;
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'ID':
        return idOf(name);
      case 'Int':
        return /first|last|limit/i.test(name) ? 10 : 1;
      case 'Float':
        return 1;
      case 'Boolean':
        return false;
      case 'DateTime':
        return '2030-01-01T00:00:00.000Z';
      case 'String':
        if (/email/i.test(name)) return 'fuzz@example.com';
        if (/password/i.test(name)) return 'correct horse battery staple';
        if (/slug|handle|login/i.test(name)) return 'fuzzname';
        if (/url|link/i.test(name)) return 'https://example.com/x';
        if (/^(after|before|cursor)$/i.test(name)) return null;
        if (/token/i.test(name)) return 'x'.repeat(43);
        if (/tag/i.test(name)) return 'fuzz';
        return 'Fuzz text';
    }
  }
  return null;
}

/** The malformed values for a position of this type (a whole argument or one input field). */
function malformed(type: GraphQLInputType, name: string, depth = 0, description?: string | null): Case[] {
  const required = isNonNullType(type);
  const inner = isNonNullType(type) ? type.ofType : type;
  const out: Case[] = [];
  if (required) out.push({ label: 'null', value: null });
  if (isListType(inner)) {
    const el = inner.ofType;
    const one = wellFormed(el, name, depth + 1);
    // An optional list may well be empty (no filter, nothing to add): only a required one must not.
    if (required) out.push({ label: 'empty list', value: [] });
    // Distinct elements, so that no deduplication makes the list short again.
    const named = getNamedType(el).name;
    const element = (i: number) => (named === 'ID' ? newId() : named === 'String' ? `fuzz${i}` : one);
    out.push({ label: '1001 elements', value: Array.from({ length: 1001 }, (_, i) => element(i)) });
    for (const c of malformed(el, name, depth + 1).slice(0, 4)) out.push({ label: `[${c.label}]`, value: [c.value] });
    return out;
  }
  if (isEnumType(inner)) return [...out, { label: 'unknown enum', value: 'NOT_A_VALUE' }, { label: 'empty enum', value: '' }];
  if (isInputObjectType(inner)) {
    out.push({ label: 'string for object', value: 'x' });
    const base = wellFormed(inner, name, depth) as Record<string, unknown>;
    if (Object.values(inner.getFields()).some((f) => isNonNullType(f.type))) out.push({ label: 'empty object', value: {} });
    if (depth >= 3) return out;
    for (const f of Object.values(inner.getFields())) {
      for (const c of malformed(f.type, f.name, depth + 1, f.description)) out.push({ label: `${f.name}: ${c.label}`, value: { ...base, [f.name]: c.value } });
    }
    return out;
  }
  if (!isScalarType(inner)) return out;
  switch (inner.name) {
    case 'ID':
      return [
        ...out,
        { label: 'not-a-uuid', value: 'not-a-uuid' },
        { label: 'sql in id', value: "1' OR '1'='1" },
        { label: 'empty id', value: '' },
        { label: 'NUL in id', value: '00000000-0000-0000-0000-00000000000\u0000' },
        { label: 'unknown uuid', value: newId() },
      ];
    case 'Int':
      if (/^(first|last|limit)$/i.test(name)) {
        // One past the documented maximum ("at most N"), else past API.md's 100.
        const max = Number(/at most (\d+)/.exec(description ?? '')?.[1] ?? 100);
        return [...out, { label: `${name} -1`, value: -1 }, { label: `${name} ${max + 1}`, value: max + 1 }, { label: `${name} max int`, value: BIG_INT }, { label: `${name} 2^31`, value: 2 ** 31 }];
      }
      return [...out, { label: '-1', value: -1 }, { label: 'min int', value: -BIG_INT - 1 }, { label: 'max int', value: BIG_INT }, { label: '2^31', value: 2 ** 31 }, { label: '1.5', value: 1.5 }];
    case 'Float':
      return [...out, { label: '-1e308', value: -1e308 }, { label: '1e308', value: 1e308 }, { label: 'string', value: 'x' }];
    case 'Boolean':
      return [...out, { label: 'string for boolean', value: 'yes' }];
    case 'DateTime':
      return [
        ...out,
        { label: 'not a date', value: 'not-a-date' },
        { label: 'month 13', value: '2026-13-45T99:99:99Z' },
        { label: 'year 1', value: '0001-01-01T00:00:00.000Z' },
        { label: 'year 275760', value: '+275760-09-13T00:00:00.000Z' },
      ];
    case 'String':
      if (/^(after|before|cursor)$/i.test(name)) {
        return [
          ...out,
          { label: 'forged cursor', value: 'forged' },
          { label: 'cursor of sql', value: b64(`{"id":"1' OR '1'='1","at":"x"}`) },
          { label: 'cursor of -1', value: b64('-1') },
          { label: 'cursor with NUL', value: b64('a\u0000b') },
          { label: 'empty cursor', value: '' },
        ];
      }
      return [
        ...out,
        { label: 'empty string', value: '' },
        { label: 'whitespace only', value: ' \t\n ' },
        { label: `${ONE_ARG_LIMIT} chars`, value: 'x'.repeat(ONE_ARG_LIMIT) },
        { label: 'NUL byte', value: 'Fuzz\u0000text' },
        { label: 'control characters', value: 'Fuzz\u0001\u0007\u001b[31m text' },
        { label: 'lone surrogate', value: 'Fuzz \ud800 text' },
        { label: 'invisible only', value: '\u200b\u00a0\u2060\ufeff' },
        ...overLimit(description),
      ];
  }
  return [...out, { label: 'object for scalar', value: { x: 1 } }];
}

/**
 * One past a documented character limit ("3–200 characters", "at most 60 characters", "up to
 * 500 characters"), counted as PostgreSQL counts (code points), in emoji with their variation
 * selector: a check that counts otherwise (class-validator's MaxLength skips the selectors)
 * lets it through to a CHECK constraint.
 */
function overLimit(description?: string | null): Case[] {
  const m = /(?:\d+\s*[–-]\s*|at most |up to )([\d,]+) characters/.exec(description ?? '');
  if (!m) return [];
  const max = Number(m[1].replace(/,/g, ''));
  return [{ label: `${max + 1} code points of emoji`, value: '\u2764\ufe0f'.repeat(Math.ceil((max + 1) / 2)) }];
}

/** Every malformed argument set for a root field: one argument (or input field) broken at a time. */
function casesOf(field: GraphQLField<unknown, unknown>): Array<{ label: string; vars: Record<string, unknown> }> {
  const base: Record<string, unknown> = {};
  for (const a of field.args) if (isNonNullType(a.type) || isInputObjectType(getNamedType(a.type))) base[a.name] = wellFormed(a.type, a.name);
  const out: Array<{ label: string; vars: Record<string, unknown> }> = [];
  for (const a of field.args) {
    for (const c of malformed(a.type, a.name, 0, a.description)) out.push({ label: `${a.name} ${c.label}`, vars: { ...base, [a.name]: c.value } });
  }
  return out;
}

function documentOf(kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>): string {
  const vars = field.args.map((a: GraphQLArgument) => `$${a.name}: ${a.type.toString()}`).join(', ');
  const args = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isCompositeType(getNamedType(field.type)) ? ' { __typename }' : '';
  return `${kind}(${vars}) { ${field.name}(${args})${selection} }`;
}

describe('every input is validated and a refused request writes nothing (schema-wide)', () => {
  let t: TestApp;
  let admin: TestUser;
  let schema: GraphQLSchema;
  let tables: string[];

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await makeUser(t, { role: 'ADMIN', trustLevel: 4 });
    schema = t.get(GraphQLSchemaHost).schema;
    const rows = await t.sql<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`);
    tables = rows.map((r) => r.name).filter((n) => !(n in EXCLUDED_TABLES));
  });
  afterAll(() => t.close());

  /** Count and checksum of every table's rows, in one statement. */
  async function snapshot(): Promise<Map<string, string>> {
    const sql = tables
      .map((n) => `SELECT '${n}' AS t, count(*)::text || ':' || md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM "${n}" x`)
      .join(' UNION ALL ');
    const rows = await t.sql<{ t: string; h: string }>(sql);
    return new Map(rows.map((r) => [r.t, r.h]));
  }

  function changed(before: Map<string, string>, after: Map<string, string>): string[] {
    return [...before.keys()].filter((k) => before.get(k) !== after.get(k));
  }

  /**
   * What is wrong with one answer, or null. The admin's text one past a documented limit must be
   * refused by name (BAD_USER_INPUT on that field): its input's other well-formed values may be
   * refused after validation (a parentId of no article, a title on a reply), which would hide
   * the limit not being checked.
   */
  function problemOf(res: GqlResult, label: string, who: 'admin' | 'anonymous'): string | null {
    if (res.status >= 500) return `HTTP ${res.status}`;
    if (!res.errors?.length) return `accepted: ${JSON.stringify(res.data).slice(0, 120)}`;
    const text = JSON.stringify(res.errors);
    for (const e of res.errors) {
      const code = e.extensions?.code;
      if (!DOCUMENTED.has(code)) return `code ${code}: ${e.message.slice(0, 160)}`;
    }
    if (/stacktrace|exception/i.test(text) || LEAK.test(text)) return `leaks: ${text.slice(0, 200)}`;
    const overLimitField = /(\w+):? \d+ code points of emoji$/.exec(label)?.[1];
    if (who === 'admin' && overLimitField && !res.errors.some((e) => e.extensions?.fields?.some((f) => f.field === overLimitField || f.field.endsWith(`.${overLimitField}`)))) {
      return `refused without naming ${overLimitField}: ${text.slice(0, 160)}`;
    }
    return null;
  }

  async function fuzz(kind: 'query' | 'mutation', pass: string): Promise<Record<string, string>> {
    const root = kind === 'query' ? schema.getQueryType()! : schema.getMutationType()!;
    const fields = Object.values(root.getFields()).filter((f) => kind === 'mutation' || f.args.length > 0);
    const failures: Record<string, string> = {};
    let requests = 0;
    const allProblems: Record<string, string[]> = {};
    for (const field of fields) {
      const key = `${root.name}.${field.name}`;
      const failureKey = `${pass}: ${key}`;
      const doc = documentOf(kind, field);
      currentField = field.name;
      const cases = casesOf(field).filter((c) => !(`${key} ${c.label}` in ACCEPTED));
      const before = await snapshot();
      const problems: string[] = [];
      for (const who of ['admin', 'anonymous'] as const) {
        const ip = freshIp();
        for (const c of cases) {
          const res = await t.gql(doc, c.vars, { token: who === 'admin' ? admin.token : undefined, ip });
          requests++;
          const p = problemOf(res, c.label, who);
          if (p) problems.push(`${who} ${c.label}: ${p}`);
        }
      }
      const diff = changed(before, await snapshot());
      if (diff.length) problems.push(`wrote to ${diff.join(', ')}`);
      if (problems.length) allProblems[failureKey] = problems;
      if (problems.length) failures[failureKey] = problems.slice(0, 5).join(' / ') + (problems.length > 5 ? ` (+${problems.length - 5} more)` : '');
      // The admin's session must survive whatever was sent, or later fields would be refused for it.
      expectOk(await t.gql(`{ me { id } }`, {}, { token: admin.token }));
    }
    console.log(`${pass}, ${kind}: ${fields.length} fields, ${requests} requests`);
    // FUZZ_OUT=/tmp/x writes every problem of every field (the failure message keeps five a field).
    if (process.env.FUZZ_OUT) writeFileSync(`${process.env.FUZZ_OUT}.${pass.replace(/ /g, '-')}.${kind}.json`, JSON.stringify(allProblems, null, 1));
    expect(fields.length).toBeGreaterThan(kind === 'mutation' ? 100 : 20);
    return failures;
  }

  function check(failures: Record<string, string>, prefix: string) {
    const known = Object.fromEntries(Object.entries(KNOWN_FAILURES).filter(([k]) => k.startsWith(prefix)));
    // New failures are bugs; a known one that passes now must leave the list.
    expect(Object.keys(failures).filter((k) => !(k in known)).map((k) => `${k}: ${failures[k]}`)).toEqual([]);
    expect(Object.keys(known).filter((k) => !(k in failures))).toEqual([]);
  }

  /** The pass's two tests: every mutation, every query field with arguments. */
  function fuzzEveryRootField(pass: string) {
    for (const kind of ['mutation', 'query'] as const) {
      it(`refuses every malformed argument of every ${kind === 'query' ? 'query field' : kind} with a documented code and writes nothing`, async () => {
        check(await fuzz(kind, pass), `${pass}: ${kind === 'query' ? 'Query' : 'Mutation'}.`);
      }, 600_000);
    }
  }

  describe('next to unknown ids (no case can legitimately write)', () => {
    beforeAll(() => {
      idOf = () => newId();
    });
    fuzzEveryRootField('unknown ids');
  });

  /**
   * The same cases with ids of existing rows (by the argument's name: a member's topic and
   * reply in a public forum, another topic there, its board and space, a group, another member;
 * for idea and article fields an idea and a published article of boards of those kinds, with
 * its current revision; for the review queue's, the item of a member's report), so that a broken
   * field is reached after the lookups that end the first pass in NOT_FOUND. Other ids stay unknown.
   */
  describe('next to existing rows', () => {
    beforeAll(async () => {
      const member = await makeUser(t);
      const author = await makeUser(t);
      const groupId = await makeGroup(t);
      const space = await makeSpace(t, 'PUBLIC');
      const boardId = await makeBoard(t, space.id);
      const topic = await createTopic(t, author.token, boardId);
      const post = await reply(t, author.token, topic.id);
      const other = await createTopic(t, author.token, boardId, { title: 'Another topic' });
      // By the argument's name; a list's elements by the list's (wellFormed passes it down).
      const real: Record<string, string> = {
        topicId: topic.id,
        sourceId: topic.id,
        toTopicId: other.id,
        postId: post.id,
        postIds: post.id,
        replyToPostId: post.id,
        targetId: post.id,
        boardId,
        boardIds: boardId,
        spaceId: space.id,
        spaceIds: space.id,
        groupId,
        groupIds: groupId,
        ownerGroupId: groupId,
        userId: member.id,
        ownerUserId: member.id,
      };
      // Idea and article mutations (and queries) take a topic of their board's kind.
      const ideasBoardId = await makeBoard(t, space.id, 'IDEAS');
      const idea = await createTopic(t, author.token, ideasBoardId, { title: 'An idea to vote on', kind: 'IDEA' });
      const kbBoardId = await makeBoard(t, space.id, 'KNOWLEDGE');
      const article = await publishedArticle(t, author.token, admin.token, kbBoardId);
      const [{ rev }] = await t.sql<{ rev: string }>(`SELECT current_revision_id AS rev FROM articles WHERE topic_id = $1`, [article]);
      // A pending review item (a member's report), for the review queue's mutations' `id`.
      const reported = await t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType: 'POST', targetId: post.id, reason: 'SPAM' } }, { token: member.token });
      expectOk(reported);
      const [{ item }] = await t.sql<{ item: string }>(`SELECT id AS item FROM review_items ORDER BY created_at DESC LIMIT 1`);
      idOf = (name) => {
        if (/ReviewItem/.test(currentField) && name === 'id') return item;
        if (name === 'baseRevisionId') return rev;
        if (/idea/i.test(currentField) && /^(topicId|sourceId|boardId)$/.test(name)) return name === 'boardId' ? ideasBoardId : idea.id;
        if (/article/i.test(currentField) && /^(topicId|boardId|parentId)$/.test(name)) return name === 'boardId' ? kbBoardId : article;
        return real[name] ?? newId();
      };
    });
    fuzzEveryRootField('existing rows');

    // Enums' first values lead some fields to a refusal of their own (a BAN takes no
    // duration, APPROVE needs a pending post): the same rows with every enum's last value.
    describe('with the last value of every enum', () => {
      beforeAll(() => {
        enumPick = 'last';
      });
      afterAll(() => {
        enumPick = 'first';
      });
      fuzzEveryRootField('existing rows, last enum values');
    });
  });

  for (const [field, why] of Object.entries(KNOWN_FAILURES)) it.todo(`known failure, ${field}: ${why}`);
});
