import { GraphQLSchemaHost } from '@nestjs/graphql';
import { GraphQLField, GraphQLSchema, isInputObjectType, isNonNullType, getNamedType } from 'graphql';
import { freshIp } from '../support/fresh-ip';
import { TableSnapshots, undocumentedRefusal } from '../support/refusals';
import { documentOf, ofType } from '../support/schema-values';
import { bootTestApp, GqlResult, TestApp } from '../support/test-app';

/**
 * One rule for every mutation the API serves (read from the schema, so a new resolver is covered
 * as it is added): one that needs a signed-in member answers a caller who is not signed in
 * UNAUTHENTICATED before anything is looked up, whatever the ids it is given, and runs no SQL
 * statement to say so (docs/architecture.md, API hygiene). Before, about half looked their target
 * up first and answered an unknown id NOT_FOUND: two answers to the same refusal, and a way for a
 * stranger to learn which ids exist. The schema's input checks still come first (a malformed
 * input is BAD_USER_INPUT whoever sends it: the rules are the schema's, public), so the inputs
 * sent here pass them: required fields filled as id-arguments fills them (ids fresh UUIDv7s, of
 * nothing), plus WELL_FORMED where the type alone gives a value those checks refuse. The checks a
 * service makes itself (one of two fields that go instead of each other, given both or neither)
 * come after its sign-in check, as in groups, bookmarks, drafts, polls: movePosts and
 * grant/revokeSpaceAccess are sent here with neither, and must still answer UNAUTHENTICATED.
 */

/** Mutations a caller who is not signed in may use, each with why: not sent here (their own suites pin them). */
const ANONYMOUS: Record<string, string> = {
  signUp: 'makes an account',
  signIn: 'signs in (a wrong login or password is UNAUTHENTICATED of its own)',
  signOut: 'revokes the session sent, if any: false without one',
  requestPasswordReset: 'for whoever forgot their password, signed out by definition',
  resetPassword: 'takes the token e-mailed by requestPasswordReset',
  verifyEmail: 'the link e-mailed at sign-up, "signed in or not"',
  confirmEmailChange: 'the link e-mailed to the new address, "signed in or not"',
  // appealSanction is sent (without an appeal token): only the token of a refused sign-in lets
  // a member barred site-wide appeal signed out (appeals' own suite), without one it is
  // UNAUTHENTICATED as the rest.
};

/**
 * Well-formed input fields the type alone does not give (by mutation, then input field), so
 * that the input passes the schema's checks: an e-mail address, a password's length, a poll's
 * two options, a watched word's pattern, a kind of e-mail, a domain.
 */
const WELL_FORMED: Record<string, Record<string, unknown>> = {
  appealSanction: { message: 'Please look at this sanction again' },
  changeEmail: { newEmail: 'someone@example.com', currentPassword: 'correct horse battery staple' },
  changePassword: { currentPassword: 'correct horse battery staple', newPassword: 'another horse battery staple' },
  createPoll: { options: ['One', 'Two'] },
  updatePoll: { options: ['One', 'Two'] },
  createWatchedWord: { pattern: 'qqzzqq', kind: 'WORD', action: 'FLAG' },
  setEmailPreference: { kind: '*' },
  setGroupAutomaticDomains: { domains: ['example.com'] },
};

/** Tables a refused request may change (see input-fuzz): rate-limit counters. */
const EXCLUDED_TABLES: Record<string, string> = {
  migrations: 'never written by requests',
  rate_events: 'a refused attempt counts against its limit by design',
  rate_tokens: 'reads charged before they answer',
};

/** The variables of a mutation: its required arguments filled, an input's fields as WELL_FORMED gives them. */
function variablesOf(field: GraphQLField<unknown, unknown>): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  for (const a of field.args) {
    if (!isNonNullType(a.type)) continue;
    vars[a.name] = ofType(a.type);
    if (isInputObjectType(getNamedType(a.type))) Object.assign(vars[a.name] as object, WELL_FORMED[field.name]);
  }
  return vars;
}

describe('a mutation that needs a signed-in member refuses an anonymous caller first (schema-wide)', () => {
  let t: TestApp;
  let schema: GraphQLSchema;

  beforeAll(async () => {
    t = await bootTestApp();
    schema = t.get(GraphQLSchemaHost).schema;
  });
  afterAll(() => t.close());

  it('lists only mutations the schema has as anonymous ones', () => {
    const mutations = schema.getMutationType()!.getFields();
    expect(Object.keys(ANONYMOUS).filter((name) => !(name in mutations))).toEqual([]);
    expect(Object.keys(WELL_FORMED).filter((name) => !(name in mutations))).toEqual([]);
  });

  /** What is wrong with an anonymous caller's answer, or null: UNAUTHENTICATED alone, no data. */
  function problemOf(res: GqlResult, name: string): string | null {
    const undocumented = undocumentedRefusal(res);
    if (undocumented) return undocumented;
    if (!res.errors?.length) return `accepted: ${JSON.stringify(res.data).slice(0, 120)}`;
    if (res.errors.some((e) => e.extensions.code !== 'UNAUTHENTICATED')) {
      return res.errors.map((e) => `${e.extensions.code} ${JSON.stringify(e.extensions.fields ?? e.message)}`).join(', ').slice(0, 200);
    }
    if (res.data?.[name] != null) return `data ${JSON.stringify(res.data)}`;
    return null;
  }

  it('answers UNAUTHENTICATED to a caller not signed in, with unknown ids and otherwise valid input, before any statement, and writes nothing', async () => {
    const snapshots = await TableSnapshots.of(t, EXCLUDED_TABLES);
    const before = await snapshots.take();
    const fields = Object.values(schema.getMutationType()!.getFields()).filter((f) => !(f.name in ANONYMOUS));
    expect(fields.length).toBeGreaterThan(90);
    const problems: string[] = [];
    for (const field of fields) {
      const ip = freshIp();
      // What the request costs beyond a bare one's (none, signed out: no session to read).
      const bare = await t.countStatements(() => t.gql(`{ __typename }`, {}, { ip }));
      let res!: GqlResult;
      const sent = await t.countStatements(async () => (res = await t.gql(documentOf({ kind: 'mutation', field }), variablesOf(field), { ip })));
      const problem = problemOf(res, field.name);
      if (problem) problems.push(`${field.name}: ${problem}`);
      else if (sent.count !== bare.count) problems.push(`${field.name}: ${sent.count - bare.count} statements: ${sent.statements.join(' / ').replace(/\s+/g, ' ').slice(0, 160)}`);
    }
    expect(problems).toEqual([]);
    expect(TableSnapshots.changed(before, await snapshots.take())).toEqual([]);
  });
});
