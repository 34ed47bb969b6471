import { seedDemoCommunity } from '../../apps/cli/src/seed/demo';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { makeUser } from '../factories';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

describe('the demo seed', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const tokenOf = async (handle: string) => {
    const [u] = await t.sql(`SELECT id FROM users WHERE handle = $1`, [handle]);
    return t.get(SessionsService).issue(u.id, {});
  };

  it('fills the community through the API, keeps internal content internal, and is idempotent', async () => {
    const logins = await seedDemoCommunity(t.app);
    expect(logins.map((l) => l.login)).toEqual(['admin', 'mod', 'alice', 'bob', 'carol', 'dave', 'erin']);
    const spacesOf = async (handle: string) =>
      expectOk(await t.gql(`{ spaces { slug } }`, {}, { token: await tokenOf(handle) })).spaces.map((s: { slug: string }) => s.slug).sort();
    expect(await spacesOf('carol')).toEqual(['community']);
    expect(await spacesOf('erin')).toEqual(['community', 'partners']);
    expect(await spacesOf('bob')).toEqual(['community', 'internal', 'partners']);
    const anon = expectOk(await t.gql(`{ space(slug: "community") { boards { slug topics { edges { node { title kind acceptedAnswer { id } replyCount } } } } } }`));
    const help = anon.space.boards.find((b: { slug: string }) => b.slug === 'help');
    expect(help.topics.edges[0].node).toMatchObject({ kind: 'QUESTION', replyCount: 2 });
    expect(help.topics.edges[0].node.acceptedAnswer).not.toBeNull();

    const boards = expectOk(
      await t.gql(`{ space(slug: "community") { boards { slug ideas(sort: TOP) { edges { node { title idea { status voteCount } } } } articleTree { topic { title } } } } }`),
    ).space.boards;
    expect(boards.find((b: { slug: string }) => b.slug === 'ideas').ideas.edges.map((e: any) => [e.node.title, e.node.idea.status, e.node.idea.voteCount])).toEqual([
      ['Dark mode for the dashboard', 'PLANNED', 4],
      ['Export hub history as CSV', 'NEW', 3],
    ]);
    expect(JSON.stringify(boards.find((b: { slug: string }) => b.slug === 'kb').articleTree)).toContain('Resetting the hub’s sync token');
    // The community manager's tools: an announcement with a poll, a live Q&A in slow mode, a wiki FAQ, a profile.
    const tools = expectOk(
      await t.gql(`{ pinnedTopics { title firstPost { poll { question options { text } } } } topics(first: 100) { edges { node { title slowModeSeconds firstPost { wiki } } } } user(handle: "alice") { bioHtml location } }`),
    );
    expect(tools.pinnedTopics).toEqual([{ title: 'Welcome to the Acme Community', firstPost: { poll: { question: 'How many Acme hubs do you run?', options: [{ text: 'One' }, { text: 'Two to five' }, { text: 'More than five' }] } } }]);
    expect(tools.topics.edges.find((e: { node: { title: string } }) => e.node.title === 'Live Q&A with the hub team').node.slowModeSeconds).toBe(60);
    expect(tools.topics.edges.filter((e: { node: { firstPost: { wiki: boolean } } }) => e.node.firstPost.wiki).map((e: { node: { title: string } }) => e.node.title)).toEqual([
      'Community FAQ: add what you see asked often',
    ]);
    expect(tools.user).toEqual({ bioHtml: expect.stringContaining('<strong>hubs</strong>'), location: 'Lyon' });
    // An interest group anyone sees and asks to join, run by its owner: one request accepted, one waiting.
    const beta = `{ group(slug: "beta-testers") { joining viewerMembership members { edges { node { owner user { handle } } } } requests { totalCount } } }`;
    expect(expectOk(await t.gql(beta, {}, { token: await tokenOf('alice') })).group).toEqual({
      joining: 'REQUEST', viewerMembership: 'OWNER',
      members: { edges: [{ node: { owner: true, user: { handle: 'alice' } } }, { node: { owner: false, user: { handle: 'carol' } } }] },
      requests: { totalCount: 1 },
    });
    expect(expectOk(await t.gql(beta, {}, { token: await tokenOf('dave') })).group).toMatchObject({ viewerMembership: 'REQUESTED', requests: null });
    // The community manager reads idea votes by segment: employees (her own group), customers and partners (hers to run), beta testers (public).
    const [darkMode] = await t.sql(`SELECT id FROM topics WHERE title = 'Dark mode for the dashboard'`);
    const bySegment = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { idea { votesBySegment { segment count } } } }`, { id: darkMode.id }, { token: await tokenOf('alice') }));
    expect(bySegment.topic.idea.votesBySegment.map((s: { segment: string }) => s.segment).sort()).toEqual(['beta-testers', 'customers', 'employees', 'partners']);

    const before = (await t.sql(`SELECT count(*)::int AS n FROM posts`))[0].n;
    await seedDemoCommunity(t.app);
    expect((await t.sql(`SELECT count(*)::int AS n FROM posts`))[0].n).toBe(before);
  });

  it('makes no demo account when one of their handles is taken (the staff accounts with the published password would stay)', async () => {
    const other = await bootTestApp();
    try {
      await makeUser(other, { handle: 'alice' });
      await expect(seedDemoCommunity(other.app)).rejects.toThrow(/"alice" already holds one of them/);
      expect(await other.sql(`SELECT handle FROM users ORDER BY handle`)).toEqual([{ handle: 'alice' }]);
      // A demo address held under another handle stops it too, and the message names that account.
      await other.sql(`DELETE FROM users WHERE handle = 'alice'`);
      const holder = await makeUser(other, { handle: 'someone-else' });
      await other.sql(`UPDATE users SET email = 'bob@demo.parvis.example' WHERE id = $1`, [holder.id]);
      await expect(seedDemoCommunity(other.app)).rejects.toThrow(/account "someone-else" already holds one of them/);
    } finally {
      await other.close();
    }
  });

  it('says so when an earlier seed stopped part-way, instead of calling the half community done', async () => {
    const other = await bootTestApp();
    try {
      await makeUser(other, { handle: 'admin' });
      await expect(seedDemoCommunity(other.app)).rejects.toThrow(/stopped part-way/);
    } finally {
      await other.close();
    }
  });
});
