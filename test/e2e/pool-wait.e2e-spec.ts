import request from 'supertest';
import { QueryRunner } from 'typeorm';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { makeSpace, makeUser } from '../factories';
import { gateCalls } from '../support/gates';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

/**
 * A statement waits for a pool connection DB_CONNECTION_TIMEOUT_MS at most. Every connection of
 * the pool (one here) is held by the test, not by a request, until it lets go: each wait below
 * ends with the bound, whatever the machine's speed, and nothing is timed.
 */
describe('the wait for a pool connection (DB_CONNECTION_TIMEOUT_MS)', () => {
  let t: TestApp;
  let held: QueryRunner | undefined;
  /**
   * Takes the pool's one connection. The test's own take waits with the same bound as a request's
   * (pg-pool bounds the opening of a connection by it too), and on a loaded machine opening one can
   * take longer (seen in a fresh-clone run with the embedded server): it asks again then. Only the
   * requests' waits are under test, and they start once the connection is held.
   */
  const holdThePool = async () => {
    for (let attempt = 1; ; attempt++) {
      const runner = t.ds.createQueryRunner();
      try {
        await runner.connect();
        held = runner;
        return;
      } catch (err) {
        await runner.release().catch(() => undefined);
        if (attempt >= 50 || !/timeout exceeded when trying to connect/.test(String(err))) throw err;
      }
    }
  };
  /** Gives it back (after each test too, however it ended). */
  const letGo = async () => {
    await held?.release();
    held = undefined;
  };
  beforeAll(async () => {
    t = await bootTestApp({ DB_POOL_SIZE: '1', DB_CONNECTION_TIMEOUT_MS: '300' });
  });
  afterEach(letGo);
  afterAll(() => t.close());

  it('answers a request that found no connection free INTERNAL with a correlation id, nothing of the pool in it, and serves it once one is free', async () => {
    await holdThePool();
    const res = await t.gql('{ spaces { id } }');
    const err = expectError(res, 'INTERNAL');
    expect(err.extensions.correlationId).toEqual(expect.any(String));
    expect(err.message).toBe('Something went wrong on our side');
    expect(JSON.stringify(res.errors)).not.toMatch(/timeout|connect|stack|node_modules/i);
    await letGo();
    expect(expectOk(await t.gql('{ spaces { id } }')).spaces).toEqual([]);
  });

  it('answers a signed-in request, whose session is read before any field, the same way', async () => {
    const user = await makeUser(t);
    await holdThePool();
    const res = await t.gql('{ me { handle } }', {}, { token: user.token });
    const err = expectError(res, 'INTERNAL');
    expect(err.extensions.correlationId).toEqual(expect.any(String));
    expect(JSON.stringify(res.errors)).not.toMatch(/timeout|connect|stack|node_modules/i);
    await letGo();
    expect(expectOk(await t.gql('{ me { handle } }', {}, { token: user.token })).me).toEqual({ handle: user.handle });
  });

  /**
   * Runs `mutation` and, once its transaction committed (UnitOfWork.run returned), takes the
   * pool's one connection before the answer is made: what the answer reads after the commit
   * waits for the pool, and fails with its bound. Answers the response, the pool given back.
   */
  const answerWithThePoolHeldAfterCommit = async (mutation: string, variables: Record<string, unknown>, token: string) => {
    let armed = true;
    const gate = gateCalls(t.get(UnitOfWork), 'run', () => armed && !(armed = false), 'after');
    try {
      const answering = t.gql(mutation, variables, { token });
      await gate.begun;
      await holdThePool();
      gate.open();
      return await answering;
    } finally {
      gate.restore();
      await letGo();
    }
  };

  it('answers a space admin’s change with what its transaction read, not with reads after its commit: a pool with no connection free then does not make a saved change look failed', async () => {
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
    await holdThePool();
    const busy = await request(t.http).get('/health');
    expect(busy.status).toBe(503);
    expect(busy.body).toEqual({ status: 'error', database: { status: 'busy' } });
    await letGo();
    const up = await request(t.http).get('/health');
    expect(up.status).toBe(200);
    expect(up.body.database.status).toBe('up');
  });
});

// /health with a wait bound past its own check (HEALTH_POOL_WAIT_MS): test/e2e/health.e2e-spec.ts.
