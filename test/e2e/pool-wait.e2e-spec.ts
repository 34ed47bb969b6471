import request from 'supertest';
import { QueryRunner } from 'typeorm';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { makeSpace, makeUser } from '../factories';
import { gateCalls } from '../support/gates';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

/**
 * A test app on a pool of one connection, whose statements wait for it `timeoutMs` at most (DB_CONNECTION_TIMEOUT_MS), booted
 * for the describe it is called in: `hold` takes the connection for the test, `release` gives it back (done after each test
 * too, however it ended). Nothing of the app holds it meanwhile, so every wait below ends with the bound, whatever the machine's
 * speed, and nothing is timed.
 */
function heldPoolOfOne(timeoutMs: number) {
  let app: TestApp;
  let held: QueryRunner | undefined;
  const release = async () => {
    await held?.release();
    held = undefined;
  };
  beforeAll(async () => {
    app = await bootTestApp({ DB_POOL_SIZE: '1', DB_CONNECTION_TIMEOUT_MS: String(timeoutMs) });
  });
  afterEach(release);
  afterAll(() => app.close());
  return {
    get t(): TestApp {
      return app;
    },
    /** Takes the pool's one connection. */
    hold: async () => {
      held = app.ds.createQueryRunner();
      await held.connect();
    },
    release,
  };
}

/** A statement waits for a pool connection DB_CONNECTION_TIMEOUT_MS at most (the pool's one connection held by the test: heldPoolOfOne). */
describe('the wait for a pool connection (DB_CONNECTION_TIMEOUT_MS)', () => {
  const pool = heldPoolOfOne(300);

  it('answers a request that found no connection free INTERNAL with a correlation id, nothing of the pool in it, and serves it once one is free', async () => {
    const { t } = pool;
    await pool.hold();
    const res = await t.gql('{ spaces { id } }');
    const err = expectError(res, 'INTERNAL');
    expect(err.extensions.correlationId).toEqual(expect.any(String));
    expect(err.message).toBe('Something went wrong on our side');
    expect(JSON.stringify(res.errors)).not.toMatch(/timeout|connect|stack|node_modules/i);
    await pool.release();
    expect(expectOk(await t.gql('{ spaces { id } }')).spaces).toEqual([]);
  });

  it('answers a signed-in request, whose session is read before any field, the same way', async () => {
    const { t } = pool;
    const user = await makeUser(t);
    await pool.hold();
    const res = await t.gql('{ me { handle } }', {}, { token: user.token });
    const err = expectError(res, 'INTERNAL');
    expect(err.extensions.correlationId).toEqual(expect.any(String));
    expect(JSON.stringify(res.errors)).not.toMatch(/timeout|connect|stack|node_modules/i);
    await pool.release();
    expect(expectOk(await t.gql('{ me { handle } }', {}, { token: user.token })).me).toEqual({ handle: user.handle });
  });

  /**
   * Runs `mutation` and, once its transaction committed (UnitOfWork.run returned), takes the
   * pool's one connection before the answer is made: what the answer reads after the commit
   * waits for the pool, and fails with its bound. Answers the response, the pool given back.
   */
  const answerWithThePoolHeldAfterCommit = async (mutation: string, variables: Record<string, unknown>, token: string) => {
    const { t } = pool;
    let armed = true;
    const gate = gateCalls(t.get(UnitOfWork), 'run', () => armed && !(armed = false), 'after');
    try {
      const answering = t.gql(mutation, variables, { token });
      await gate.begun;
      await pool.hold();
      gate.open();
      return await answering;
    } finally {
      gate.restore();
      await pool.release();
    }
  };

  it('answers a space admin’s change with what its transaction read, not with reads after its commit: a pool with no connection free then does not make a saved change look failed', async () => {
    const { t } = pool;
    const admin = await makeUser(t);
    const member = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC', [{ userId: admin.id, level: 'ADMIN' }]);
    const knowledge = await answerWithThePoolHeldAfterCommit(
      `mutation($input: KnowledgeSettingsInput!) { setKnowledgeSettings(input: $input) { id name viewerAccess knowledgeSettings { twoPersonReview verificationIntervalDays } } }`,
      { input: { spaceId: space.id, twoPersonReview: true, verificationIntervalDays: 30 } },
      admin.token,
    );
    expect(expectOk(knowledge).setKnowledgeSettings).toEqual({ id: space.id, name: expect.any(String), viewerAccess: 'ADMIN', knowledgeSettings: { twoPersonReview: true, verificationIntervalDays: 30 } });
    const granted = await answerWithThePoolHeldAfterCommit(
      `mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id viewerAccess } }`,
      { input: { spaceId: space.id, userId: member.id, level: 'MODERATE' } },
      admin.token,
    );
    expect(expectOk(granted).grantSpaceAccess).toEqual({ id: space.id, viewerAccess: 'ADMIN' });
    expect(await t.sql(`SELECT level FROM space_grants WHERE space_id = $1 AND user_id = $2`, [space.id, member.id])).toEqual([{ level: 3 }]);
  });

  it('reports on /health a pool with no connection free as busy (503), and up again once one is', async () => {
    const { t } = pool;
    await pool.hold();
    const busy = await request(t.http).get('/health');
    expect(busy.status).toBe(503);
    expect(busy.body).toEqual({ status: 'error', database: { status: 'busy' } });
    await pool.release();
    const up = await request(t.http).get('/health');
    expect(up.status).toBe(200);
    expect(up.body.database.status).toBe('up');
  });
});

// /health with a wait bound past its own check (HEALTH_POOL_WAIT_MS): test/e2e/health.e2e-spec.ts.
