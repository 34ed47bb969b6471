import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState, setTopicState } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { connectLive, heardAfter, heardLive, pushedSoFar } from '../support/live-client';
import { withLockHeld } from '../support/row-locks';
import { AddressInfo } from 'node:net';
import type { Socket } from 'socket.io-client';

const UPDATE = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id displayName bio bioHtml location website } }`;
const PROFILE = `query($h: String!) { user(handle: $h) { id displayName bio bioHtml location website lastSeenAt } }`;
const ANONYMIZE = `mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`;
const RULE = `mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`;

describe('profiles', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const update = (u: TestUser, input: Record<string, unknown>) => t.gql(UPDATE, { input }, { token: u.token });
  const stored = async (u: TestUser) =>
    (await t.sql(`SELECT display_name, bio, bio_html, location, website FROM users WHERE id = $1`, [u.id]))[0];

  describe('bio, location and website', () => {
    it('sets them, shows the bio’s source to its author alone, and clears each with an empty text', async () => {
      const u = await makeUser(t);
      const other = await makeUser(t);
      const set = expectOk(await update(u, { bio: 'I make **maps**.', location: '  Lyon, France  ', website: 'https://maps.example.org/me' })).updateProfile;
      expect(set).toMatchObject({ bio: 'I make **maps**.', bioHtml: '<p>I make <strong>maps</strong>.</p>\n', location: 'Lyon, France', website: 'https://maps.example.org/me' });
      // Others read the rendering, never the source; so does someone signed out.
      for (const token of [other.token, undefined]) {
        expect(expectOk(await t.gql(PROFILE, { h: u.handle }, { token })).user).toMatchObject({
          bio: null, bioHtml: '<p>I make <strong>maps</strong>.</p>\n', location: 'Lyon, France', website: 'https://maps.example.org/me',
        });
      }
      expect(expectOk(await t.gql(PROFILE, { h: u.handle }, { token: u.token })).user.bio).toBe('I make **maps**.');

      // Null leaves a field alone; an empty text (or, trimmed, blank) clears it.
      expectOk(await update(u, { location: '' }));
      expect(await stored(u)).toMatchObject({ bio: 'I make **maps**.', location: null, website: 'https://maps.example.org/me' });
      expectOk(await update(u, { bio: '', website: '   ' }));
      expect(await stored(u)).toMatchObject({ bio: null, bio_html: null, location: null, website: null });
      expect(expectOk(await t.gql(PROFILE, { h: u.handle }, { token: other.token })).user).toMatchObject({ bioHtml: null, location: null, website: null });
    });

    it('refuses what is not valid and writes nothing, not even the valid fields beside it', async () => {
      const u = await makeUser(t);
      expectOk(await update(u, { bio: 'Before', location: 'Before', website: 'https://before.example.org' }));
      const before = await stored(u);
      const bad: Array<[string, unknown]> = [
        ['bio', 'x'.repeat(3001)],
        ['bio', '   \n\u200b '],
        ['location', 'y'.repeat(101)],
        ['location', 'two\nlines'],
        ['location', 'right\u202eto left'],
        ['website', 'javascript:alert(1)'],
        ['website', 'ftp://files.example.org'],
        ['website', 'example.org'],
        ['website', 'https://user:secret@example.org'],
        ['website', 'not an address'],
        ['website', `https://example.org/${'p'.repeat(300)}`],
      ];
      for (const [field, value] of bad) {
        const err = expectError(await update(u, { displayName: 'Changed', [field]: value }), 'BAD_USER_INPUT');
        expect(err.extensions.fields?.map((f) => f.field)).toContain(field);
      }
      expect(await stored(u)).toEqual(before);
      // At the limits, accepted.
      expectOk(await update(u, { bio: 'b'.repeat(3000), location: 'l'.repeat(100), website: `http://example.org/${'p'.repeat(281)}` }));
    });

    it('renders the bio as posts are: no script, no javascript: links, other sites’ links marked, and mentions notify nobody', async () => {
      const u = await makeUser(t);
      const mentioned = await makeUser(t);
      const bio = [
        '<script>alert(1)</script> <img src=x onerror=alert(2)>',
        '[click](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=) [mine](/u/me)',
        '[site](https://example.org) and http://autolinked.example.com',
        `Say hi to @${mentioned.handle}`,
      ].join('\n\n');
      const html: string = expectOk(await update(u, { bio })).updateProfile.bioHtml;
      // Paragraphs and links only, none of them with a handler or a script's URL: the hostile parts stay text.
      const tags = [...html.matchAll(/<([a-z0-9]+)([^>]*)>/gi)];
      expect(new Set(tags.map((m) => m[1]))).toEqual(new Set(['p', 'a']));
      for (const [, , attributes] of tags) expect(attributes).not.toMatch(/\son\w*=|javascript:|data:/i);
      expect(html).toContain('[click](javascript:alert(3))');
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).toContain('<a href="https://example.org" rel="nofollow ugc noopener">site</a>');
      expect(html).toContain('<a href="http://autolinked.example.com" rel="nofollow ugc noopener">');
      expect(html).toContain('<a href="/u/me">mine</a>');
      expect(html).toContain(`<a class="mention" href="/u/${mentioned.handle}" data-handle="${mentioned.handle}">@${mentioned.handle}</a>`);
      expect((await stored(u)).bio_html).toBe(html);
      // Nothing was written for the mention: no notification, nothing waiting in the outbox to make one.
      expect(await t.sql(`SELECT count(*)::int AS n FROM notifications WHERE user_id = $1`, [mentioned.id])).toEqual([{ n: 0 }]);
      expect(await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE payload::text LIKE '%' || $1 || '%'`, [mentioned.id])).toEqual([{ n: 0 }]);
    });

    it('stays as it is while its member is silenced site-wide, but may be hidden', async () => {
      const u = await makeUser(t);
      expectOk(await update(u, { bio: 'Kept', location: 'Kept', website: 'https://kept.example.org' }));
      const before = await stored(u);
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', now() + interval '1 day')`, [u.id]);
      for (const input of [{ bio: 'Changed' }, { location: '' }, { website: 'https://changed.example.org' }, { bio: 'Changed', hideProfile: true }]) {
        expectError(await update(u, input), 'FORBIDDEN');
      }
      expect(await stored(u)).toEqual(before);
      // Hiding it shows nothing new: that alone a silenced member may do.
      expectOk(await t.gql(`mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { hideProfile } }`, { input: { hideProfile: true } }, { token: u.token }));
      expect(await t.sql(`SELECT hide_profile FROM users WHERE id = $1`, [u.id])).toEqual([{ hide_profile: true }]);
    });

    it('goes with the account when it is anonymised, and the database holds a deleted account to that', async () => {
      const admin = await makeUser(t, { role: 'ADMIN' });
      const u = await makeUser(t);
      const other = await makeUser(t);
      expectOk(await update(u, { bio: 'About me', location: 'Here', website: 'https://me.example.org' }));
      expect(expectOk(await t.gql(PROFILE, { h: u.handle }, { token: other.token })).user.lastSeenAt).not.toBeNull();
      expectOk(await t.gql(ANONYMIZE, { id: u.id }, { token: admin.token }));
      expect(await stored(u)).toMatchObject({ bio: null, bio_html: null, location: null, website: null });
      const [{ handle }] = await t.sql(`SELECT handle FROM users WHERE id = $1`, [u.id]);
      expect(expectOk(await t.gql(PROFILE, { h: handle }, { token: other.token })).user).toMatchObject({ bioHtml: null, location: null, website: null, lastSeenAt: null });
      await expect(t.sql(`UPDATE users SET location = 'Back' WHERE id = $1`, [u.id])).rejects.toThrow(/users_deleted_tells_nothing/);
    });
  });

  describe('watched words', () => {
    const rules: Record<string, string> = {};

    beforeAll(async () => {
      const staff = await makeUser(t, { role: 'MODERATOR' });
      for (const [pattern, action, publicReason] of [
        ['crypto*', 'BLOCK', 'No crypto promotions here'],
        ['darn', 'CENSOR', 'Mind your language'],
        ['competitorx', 'REQUIRE_APPROVAL', 'Mentions of competitors are reviewed'],
        ['refund', 'FLAG', 'Refund requests go to support'],
      ]) {
        rules[action] = expectOk(await t.gql(RULE, { input: { pattern, kind: 'WORD', action, publicReason } }, { token: staff.token })).createWatchedWord.id;
      }
      // A space's own rule is for what is posted there: a profile belongs to no space.
      const space = await makeSpace(t, 'PUBLIC', [{ userId: staff.id, level: 'MODERATE' }]);
      expectOk(await t.gql(RULE, { input: { spaceId: space.id, pattern: 'gardening', kind: 'WORD', action: 'BLOCK', publicReason: 'Off topic here' } }, { token: staff.token }));
    });

    const profileChanges = async (u: TestUser) =>
      (await t.sql(`SELECT count(*)::int AS n FROM rate_events WHERE bucket = 'profile:user' AND key = $1`, [u.id]))[0].n as number;

    it('refuses a blocked word in any field, naming the field and the rule’s reason, and writes nothing', async () => {
      const u = await makeUser(t);
      expectOk(await update(u, { displayName: 'Plain name', bio: 'Plain bio', location: 'Plain place', website: 'https://plain.example.org' }));
      const before = await stored(u);
      const cases: Array<[string, Record<string, string>]> = [
        ['displayName', { displayName: 'CRYPTÔ King' }],
        ['bio', { bio: 'Ask me about **cryptocoins**', location: 'Fine place' }],
        // Spelt with an entity, the word shows in the rendered bio all the same.
        ['bio', { bio: 'Ask me about cr&#121;ptocoins' }],
        ['location', { location: 'Cryptoland', displayName: 'Fine name' }],
        ['website', { website: 'https://crypto.example.org' }],
      ];
      for (const [field, input] of cases) {
        const err = expectError(await update(u, input), 'BAD_USER_INPUT');
        expect(err.message).toBe('Your profile was refused: No crypto promotions here');
        expect(err.extensions.fields).toEqual([{ field, message: 'Your profile was refused: No crypto promotions here' }]);
      }
      expect(await stored(u)).toEqual(before);
      // Refusals cost none of the hour's changes, and the moderation log notes one per rule a while.
      expect(await profileChanges(u)).toBe(1);
      const logged = await t.sql(`SELECT after FROM moderation_log WHERE action = 'automod.block' AND target_id = $1`, [u.id]);
      expect(logged).toEqual([{ after: { ruleId: rules.BLOCK, kind: 'profile', field: 'displayName' } }]);
    });

    it('refuses every attempt once the hour’s changes are spent, a blocked one too, before screening it (as posts are paced)', async () => {
      const u = await makeUser(t);
      await t.sql(`INSERT INTO rate_events (bucket, key) SELECT 'profile:user', $1 FROM generate_series(1, 10)`, [u.id]);
      for (const input of [{ location: 'Plain place' }, { bio: 'All about crypto' }, { displayName: 'Darn Smith' }]) {
        expect(expectError(await update(u, input), 'RATE_LIMITED').extensions.retryAfterSeconds).toBeGreaterThan(0);
      }
      expect(await stored(u)).toMatchObject({ bio: null, location: null });
      // Never screened: no refusal logged, and none of them counted.
      expect(await t.sql(`SELECT action FROM moderation_log WHERE action LIKE 'automod.%' AND target_id = $1`, [u.id])).toEqual([]);
      expect(await profileChanges(u)).toBe(10);
    });

    it('does not count hiding or showing the profile as a change of it, nor refuse it once the hour’s changes are spent', async () => {
      const HIDE = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { hideProfile } }`;
      const hide = (u: TestUser, hideProfile: boolean) => t.gql(HIDE, { input: { hideProfile } }, { token: u.token });
      const u = await makeUser(t);
      expect(expectOk(await hide(u, true)).updateProfile).toEqual({ hideProfile: true });
      expect(expectOk(await hide(u, false)).updateProfile).toEqual({ hideProfile: false });
      expect(await profileChanges(u)).toBe(0);
      // Changed with something else, it is that change, counted once.
      expectOk(await update(u, { location: 'Somewhere', hideProfile: true }));
      expect(await profileChanges(u)).toBe(1);
      // The hour spent on changes: hiding (someone being harassed, say) is still taken at once.
      const spent = await makeUser(t);
      await t.sql(`INSERT INTO rate_events (bucket, key) SELECT 'profile:user', $1 FROM generate_series(1, 10)`, [spent.id]);
      expectError(await update(spent, { location: 'Elsewhere', hideProfile: true }), 'RATE_LIMITED');
      expect(expectOk(await hide(spent, true)).updateProfile).toEqual({ hideProfile: true });
      expect(await profileChanges(spent)).toBe(10);
      // Switching is paced on its own (each switch re-sends the member's live presence): ten at
      // once, then RATE_LIMITED with the wait, writing nothing.
      const switcher = await makeUser(t);
      for (let i = 0; i < 10; i++) expectOk(await hide(switcher, i % 2 === 0));
      expect(expectError(await hide(switcher, true), 'RATE_LIMITED').extensions.retryAfterSeconds).toBeGreaterThan(0);
      expect(await t.sql(`SELECT hide_profile FROM users WHERE id = $1`, [switcher.id])).toEqual([{ hide_profile: false }]);
      expect(await profileChanges(switcher)).toBe(0);
    });

    it('spends nothing of the hiding pace on a request that changes nothing (a client retrying), but every real switch, however they race', async () => {
      const HIDE = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { hideProfile } }`;
      const hide = (u: TestUser, hideProfile: boolean) => t.gql(HIDE, { input: { hideProfile } }, { token: u.token });
      const switches = async (u: TestUser) =>
        (await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE type = 'user.profile_hidden' AND aggregate_id = $1`, [u.id]))[0].n;
      const retrier = await makeUser(t);
      // Nine switches spent (shown, hidden, …, hidden), then the same hiding asked again and again.
      for (let i = 0; i < 9; i++) expectOk(await hide(retrier, i % 2 === 0));
      for (let i = 0; i < 12; i++) expect(expectOk(await hide(retrier, true)).updateProfile).toEqual({ hideProfile: true });
      expect(expectOk(await hide(retrier, false)).updateProfile).toEqual({ hideProfile: false }); // the tenth switch
      expect(expectOk(await hide(retrier, false)).updateProfile).toEqual({ hideProfile: false }); // no switch: still taken
      expectError(await hide(retrier, true), 'RATE_LIMITED');
      expect(await switches(retrier)).toBe(10);
      // Real switches racing one another, and no-ops racing them, never get past the pace.
      const racer = await makeUser(t);
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => hide(racer, i % 2 === 0)));
      expect(answers.filter((a) => a.errors?.length && a.errors[0].extensions.code !== 'RATE_LIMITED')).toEqual([]);
      expect(await switches(racer)).toBeLessThanOrEqual(10);
      const [{ hide_profile: now }] = await t.sql(`SELECT hide_profile FROM users WHERE id = $1`, [racer.id]);
      expect(expectOk(await hide(racer, now)).updateProfile).toEqual({ hideProfile: now });
    });

    it('masks a censored word in the bio and keeps its source, but refuses one where nothing can be masked', async () => {
      const u = await makeUser(t);
      const other = await makeUser(t);
      const res = expectOk(await update(u, { bio: 'Well **darn**, DARN it. Darnell is fine.' })).updateProfile;
      expect(res.bioHtml).toBe('<p>Well <strong>■■■■</strong>, ■■■■ it. Darnell is fine.</p>\n');
      expect(res.bio).toBe('Well **darn**, DARN it. Darnell is fine.');
      expect(expectOk(await t.gql(PROFILE, { h: u.handle }, { token: other.token })).user.bioHtml).toBe(res.bioHtml);
      expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'automod.censor' AND target_type = 'user' AND target_id = $1`, [u.id])).toEqual([{ n: 1 }]);
      for (const [field, input] of [['displayName', { displayName: 'Darn Smith' }], ['location', { location: 'Darn' }], ['website', { website: 'https://darn.example.org' }], ['bio', { bio: 'Well d&#97;rn' }]] as const) {
        const err = expectError(await update(u, input), 'BAD_USER_INPUT');
        expect(err.extensions.fields).toEqual([{ field, message: 'Your profile was refused: Mind your language' }]);
      }
      expect((await stored(u)).bio_html).toBe(res.bioHtml);
    });

    it('refuses what a rule would hold for approval, lets a flagged word through to the review queue, and ignores spaces’ rules', async () => {
      const u = await makeUser(t);
      const err = expectError(await update(u, { bio: 'Better than CompetitorX' }), 'BAD_USER_INPUT');
      expect(err.message).toBe('Your profile was refused: Mentions of competitors are reviewed');
      expect((await stored(u)).bio).toBeNull();

      expect(expectOk(await update(u, { location: 'Refund desk' })).updateProfile.location).toBe('Refund desk');
      const items = await t.sql(`SELECT space_id, target_type, kind, status FROM review_items WHERE target_id = $1`, [u.id]);
      expect(items).toEqual([{ space_id: null, target_type: 'USER', kind: 'AUTOMOD', status: 'PENDING' }]);
      expect(await t.sql(`SELECT after FROM moderation_log WHERE action = 'automod.flag' AND target_id = $1`, [u.id])).toEqual([{ after: { ruleIds: [rules.FLAG] } }]);

      expect(expectOk(await update(u, { bio: 'I love gardening' })).updateProfile.bioHtml).toBe('<p>I love gardening</p>\n');
    });

    it('refuses a change whose matching runs out of time (CONFLICT), since nobody would review it before it shows', async () => {
      const u = await makeUser(t);
      // Written straight to the table, as an old or imported rule might be.
      await t.sql(`INSERT INTO watched_words (id, space_id, pattern, kind, action, public_reason) VALUES (gen_random_uuid(), NULL, '(b+)+$', 'REGEX', 'FLAG', 'slow')`);
      try {
        expectError(await update(u, { location: `${'b'.repeat(40)}!` }), 'CONFLICT');
        expect((await stored(u)).location).toBeNull();
      } finally {
        await t.sql(`DELETE FROM watched_words WHERE pattern = '(b+)+$'`);
      }
    });

    it('refuses a change whose matching throws (CONFLICT) as one that runs out of time, writing nothing, never INTERNAL', async () => {
      const u = await makeUser(t);
      // A regex whose backtracking outgrows V8's stack throws a RangeError while matched; the test throws one where a word's own
      // regex is made (the app's matchingSteps). Two words, as in the automod e2e: on a loaded machine the run's 50 ms can run out
      // at the hook's entry, the first word's own regex already kept, and the retry then made none of it, called no hook and took
      // the change (FLAG). The retry makes the second word's and throws. Counted just before the throw: every count is a throw.
      await t.sql(`INSERT INTO watched_words (id, space_id, pattern, kind, action, public_reason) VALUES (gen_random_uuid(), NULL, 'thrownplace', 'WORD', 'FLAG', 'thrown'), (gen_random_uuid(), NULL, 'throwntown', 'WORD', 'FLAG', 'thrown')`);
      let thrown = 0;
      const overflow = new RangeError('Maximum call stack size exceeded');
      t.watchedWords.matchingSteps.made = (what) => {
        if (what !== 'own') return;
        thrown++;
        throw overflow;
      };
      try {
        expectError(await update(u, { location: 'thrownplace throwntown' }), 'CONFLICT');
        expect(thrown).toBe(1);
        expect((await stored(u)).location).toBeNull();
      } finally {
        delete t.watchedWords.matchingSteps.made;
        await t.sql(`DELETE FROM watched_words WHERE public_reason = 'thrown'`);
      }
    });
  });

  describe('activity counts', () => {
    const COUNTS = `query($h: String!) { user(handle: $h) { topicCount postCount posts(first: 1) { totalCount } } }`;

    it('count only what the viewer may read, as User.posts lists it', async () => {
      const employees = await makeGroup(t);
      const author = await makeUser(t, { groups: [employees] });
      const colleague = await makeUser(t, { groups: [employees] });
      const customer = await makeUser(t);
      const mod = await makeUser(t);
      const open = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
      const internal = await makeSpace(t, 'RESTRICTED', [{ groupId: employees, level: 'PARTICIPATE' }]);
      const openBoard = await makeBoard(t, open.id);
      const a = await createTopic(t, author.token, openBoard);
      await reply(t, author.token, a.id);
      await setPostState(t, (await reply(t, author.token, a.id)).id, 'HIDDEN');
      const hiddenTopic = await createTopic(t, author.token, openBoard);
      await reply(t, author.token, hiddenTopic.id);
      await setTopicState(t, hiddenTopic.id, 'HIDDEN');
      const c = await createTopic(t, author.token, await makeBoard(t, internal.id));
      await reply(t, author.token, c.id);
      // Someone else's posts count for them, not for the author.
      await reply(t, colleague.token, a.id);

      const expected: Array<[string, string | undefined, number, number]> = [
        // The visible topic and reply in the open space.
        ['anonymous', undefined, 1, 1],
        ['customer', customer.token, 1, 1],
        // The internal space's too.
        ['colleague', colleague.token, 2, 2],
        // What is hidden in the space they moderate, not the internal space.
        ['moderator', mod.token, 2, 3],
        // Their own hidden posts as well: everything.
        ['author', author.token, 3, 4],
      ];
      for (const [who, token, topics, replies] of expected) {
        const user = expectOk(await t.gql(COUNTS, { h: author.handle }, { token })).user;
        expect({ who, ...user }).toEqual({ who, topicCount: topics, postCount: replies, posts: { totalCount: topics + replies } });
      }
    });

    it('cost the same few statements for a list of users, however long, with every profile field', async () => {
      const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
      const LIST = `{ ignoredUsers { id bioHtml location website lastSeenAt topicCount postCount posts(first: 1) { totalCount } } }`;
      const listOf = async (n: number) => {
        const viewer = await makeUser(t);
        for (let i = 0; i < n; i++) {
          const u = await makeUser(t);
          expectOk(await update(u, { bio: `Bio ${i}`, location: `Place ${i}` }));
          const topic = await createTopic(t, u.token, board);
          for (let k = 0; k < i % 3; k++) await reply(t, u.token, topic.id);
          await t.sql(`INSERT INTO user_ignores (user_id, ignored_user_id) VALUES ($1, $2)`, [viewer.id, u.id]);
        }
        let users: any[] = [];
        const cost = await t.countStatements(async () => (users = expectOk(await t.gql(LIST, {}, { token: viewer.token })).ignoredUsers));
        expect(users).toHaveLength(n);
        for (const u of users) {
          const i = Number(u.location.slice('Place '.length));
          expect(u).toMatchObject({ bioHtml: `<p>Bio ${i}</p>\n`, topicCount: 1, postCount: i % 3, posts: { totalCount: 1 + (i % 3) } });
          expect(u.lastSeenAt).not.toBeNull();
        }
        return cost;
      };
      const two = await listOf(2);
      const seven = await listOf(7);
      expect(seven.count).toBe(two.count);
      // The profiles once for every user; the counts once for topicCount and postCount together,
      // and once more for totalCount, which is asked after its page, in a later batch.
      expect(seven.statements.filter((q) => /\bbio_html\b/.test(q))).toHaveLength(1);
      // Last seen (two subqueries a user) once for the whole list, apart from the profiles.
      expect(seven.statements.filter((q) => /max\(v\.day\)/.test(q))).toHaveLength(1);
      expect(seven.statements.filter((q) => /\bbio_html\b/.test(q) && /max\(v\.day\)/.test(q))).toEqual([]);
      expect(seven.statements.filter((q) => /FILTER \(WHERE p\.number = 1\)/.test(q))).toHaveLength(2);
    });
  });

  describe('hiding one’s profile', () => {
    const FULL = `query($h: String!) {
      user(handle: $h) { handle displayName bio bioHtml location website lastSeenAt topicCount postCount hideProfile posts(first: 5) { totalCount } }
    }`;
    const HIDE = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { hideProfile } }`;
    const sockets: Socket[] = [];
    afterAll(() => sockets.forEach((s) => s.disconnect()));

    /** A member with a full profile, a topic and a reply in a public space, who hides their profile. */
    async function hiddenMember() {
      const u = await makeUser(t);
      const spaceMod = await makeUser(t);
      const space = await makeSpace(t, 'PUBLIC', [{ userId: spaceMod.id, level: 'MODERATE' }]);
      const topic = await createTopic(t, u.token, await makeBoard(t, space.id));
      await reply(t, u.token, topic.id);
      expectOk(await update(u, { bio: 'Quiet **one**', location: 'Nowhere', website: 'https://quiet.example.org' }));
      expect(expectOk(await t.gql(HIDE, { input: { hideProfile: true } }, { token: u.token })).updateProfile).toEqual({ hideProfile: true });
      return { u, spaceMod, topic };
    }

    it('tells the live rooms only when the setting changes', async () => {
      const { u } = await hiddenMember();
      const told = async () => (await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE type = 'user.profile_hidden' AND aggregate_id = $1`, [u.id]))[0].n;
      expect(await told()).toBe(1);
      expectOk(await t.gql(HIDE, { input: { hideProfile: true } }, { token: u.token }));
      expectOk(await update(u, { location: 'Elsewhere' }));
      expect(await told()).toBe(1);
      expectOk(await t.gql(HIDE, { input: { hideProfile: false } }, { token: u.token }));
      expect(await told()).toBe(2);
    });

    it('shows others (signed out, members, a space’s moderator) only the handle, name and posts; the member, moderators and admins all of it', async () => {
      const { u, spaceMod } = await hiddenMember();
      const member = await makeUser(t);
      const moderator = await makeUser(t, { role: 'MODERATOR' });
      const admin = await makeUser(t, { role: 'ADMIN' });
      const shared = { handle: u.handle, displayName: `User ${u.handle}`, posts: { totalCount: 2 } };
      const hidden = { ...shared, bio: null, bioHtml: null, location: null, website: null, lastSeenAt: null, topicCount: null, postCount: null, hideProfile: null };
      const shown = { ...shared, bioHtml: '<p>Quiet <strong>one</strong></p>\n', location: 'Nowhere', website: 'https://quiet.example.org', topicCount: 1, postCount: 1, hideProfile: true };
      const viewers: Array<[string, string | undefined, Record<string, unknown>]> = [
        ['signed out', undefined, hidden],
        ['member', member.token, hidden],
        ['space moderator', spaceMod.token, hidden],
        ['moderator', moderator.token, { ...shown, bio: null }],
        ['admin', admin.token, { ...shown, bio: null }],
        ['themself', u.token, { ...shown, bio: 'Quiet **one**' }],
      ];
      for (const [who, token, expected] of viewers) {
        const user = expectOk(await t.gql(FULL, { h: u.handle }, { token })).user;
        expect({ who, ...user, lastSeenAt: user.lastSeenAt === null ? null : 'set' }).toEqual({ who, ...expected, lastSeenAt: expected === hidden ? null : 'set' });
      }
      // Only a boolean; a refused request changes nothing.
      for (const bad of ['yes', 1]) expectError(await t.gql(HIDE, { input: { hideProfile: bad, location: 'Elsewhere' } }, { token: u.token }), 'BAD_USER_INPUT');
      expect(await t.sql(`SELECT hide_profile, location FROM users WHERE id = $1`, [u.id])).toEqual([{ hide_profile: true, location: 'Nowhere' }]);
      // Shown again once they stop hiding it; hideProfile alone is a change, and says false to staff.
      expect(expectOk(await t.gql(HIDE, { input: { hideProfile: false } }, { token: u.token })).updateProfile).toEqual({ hideProfile: false });
      expect(expectOk(await t.gql(FULL, { h: u.handle }, { token: member.token })).user).toMatchObject({ location: 'Nowhere', topicCount: 1, hideProfile: null });
      expect(expectOk(await t.gql(FULL, { h: u.handle }, { token: moderator.token })).user.hideProfile).toBe(false);
      expect(await t.sql(`SELECT hide_profile FROM users WHERE id = $1`, [u.id])).toEqual([{ hide_profile: false }]);
    });

    it('hides it in lists too (a topic’s participants), at the same few statements however long the list', async () => {
      const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
      const viewer = await makeUser(t);
      const moderator = await makeUser(t, { role: 'MODERATOR' });
      const LIST = `query($id: ID!) { topic(id: $id) { participants(first: 10) { user { id location lastSeenAt topicCount postCount hideProfile } } } }`;
      const topicOf = async (n: number) => {
        const writers = [];
        for (let i = 0; i < n; i++) {
          const w = await makeUser(t);
          expectOk(await update(w, { location: 'Here', hideProfile: i % 2 === 1 }));
          writers.push(w);
        }
        const topic = await createTopic(t, writers[0].token, board);
        for (const w of writers.slice(1)) await reply(t, w.token, topic.id);
        return { id: topic.id, hidden: new Set(writers.filter((_, i) => i % 2 === 1).map((w) => w.id)) };
      };
      const costs = [];
      for (const n of [2, 7]) {
        const topic = await topicOf(n);
        let participants: Array<{ user: Record<string, unknown> & { id: string } }> = [];
        const cost = await t.countStatements(async () => (participants = expectOk(await t.gql(LIST, { id: topic.id }, { token: viewer.token })).topic.participants));
        expect(participants).toHaveLength(n);
        for (const { user } of participants) {
          if (topic.hidden.has(user.id)) expect(user).toEqual({ id: user.id, location: null, lastSeenAt: null, topicCount: null, postCount: null, hideProfile: null });
          else expect(user).toMatchObject({ location: 'Here', topicCount: expect.any(Number), hideProfile: null });
        }
        // The profiles (who hides) once, last seen once: not per user.
        expect(cost.statements.filter((q) => /\bhide_profile\b/.test(q))).toHaveLength(1);
        expect(cost.statements.filter((q) => /max\(v\.day\)/.test(q))).toHaveLength(1);
        costs.push(cost.count);
        const staff = expectOk(await t.gql(LIST, { id: topic.id }, { token: moderator.token })).topic.participants;
        expect(staff.every((p: { user: { location: string | null } }) => p.user.location === 'Here')).toBe(true);
      }
      expect(costs[1]).toBe(costs[0]);
    });

    it('does not let @mention suggestions order them by their last visit, but for moderators and admins', async () => {
      const prefix = `hid${Date.now().toString(36).slice(-6)}`;
      const recent = await makeUser(t, { handle: `${prefix}_b` });
      const older = await makeUser(t, { handle: `${prefix}_a` });
      await t.sql(`DELETE FROM user_visits WHERE user_id = ANY($1::uuid[])`, [[recent.id, older.id]]);
      await t.sql(`INSERT INTO user_visits (user_id, day) VALUES ($1, current_date), ($2, current_date - 30)`, [recent.id, older.id]);
      const SUGGEST = `query($p: String!) { userSuggestions(prefix: $p) { handle } }`;
      const order = async (token: string) => expectOk(await t.gql(SUGGEST, { p: prefix }, { token })).userSuggestions.map((u: { handle: string }) => u.handle);
      const member = await makeUser(t);
      const moderator = await makeUser(t, { role: 'MODERATOR' });
      expect(await order(member.token)).toEqual([recent.handle, older.handle]);
      expectOk(await t.gql(HIDE, { input: { hideProfile: true } }, { token: recent.token }));
      // As one never seen: after the member seen a month ago.
      expect(await order(member.token)).toEqual([older.handle, recent.handle]);
      expect(await order(moderator.token)).toEqual([recent.handle, older.handle]);
    });

    it('keeps the member out of a topic’s live presence and typing but for themself, moderators and admins', async () => {
      const { u, topic } = await hiddenMember();
      const url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
      const member = await makeUser(t);
      const visible = await makeUser(t);
      const moderator = await makeUser(t, { role: 'MODERATOR' });
      const join = async (s: Socket) => expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
      /** The first presence that counts `n` readers (earlier joins' come first). */
      const presenceOf = (s: Socket, n: number) =>
        new Promise<{ count: number; users: Array<{ id: string }> }>((resolve) => {
          const on = (p: { count: number; users: Array<{ id: string }> }) => {
            if (p.count !== n) return;
            s.off('presence', on);
            resolve(p);
          };
          s.on('presence', on);
        });
      const [m, v, mod, anon] = [await connectLive(url, sockets, member.token), await connectLive(url, sockets, visible.token), await connectLive(url, sockets, moderator.token), await connectLive(url, sockets)];
      for (const s of [m, v, mod, anon]) await join(s);
      const h = await connectLive(url, sockets, u.token);
      const seen = [m, mod, anon, h].map((s) => presenceOf(s, 5));
      await join(h);
      const [toMember, toModerator, toAnonymous, toThemself] = await Promise.all(seen);
      const ids = (p: { users: Array<{ id: string }> }) => p.users.map((x) => x.id).sort();
      // Counted (as an anonymous reader is), never named to others.
      expect(ids(toMember)).toEqual([member.id, visible.id, moderator.id].sort());
      expect(ids(toAnonymous)).toEqual(ids(toMember));
      expect(ids(toModerator)).toEqual([member.id, visible.id, moderator.id, u.id].sort());
      expect(ids(toThemself)).toEqual(ids(toModerator));

      // Typing: the moderator hears of it; the member's next typing is the visible writer's.
      const modHears = heardLive(mod, 'typing');
      const memberHears = heardLive(m, 'typing');
      expect(await h.timeout(5000).emitWithAck('typing', { topicId: topic.id })).toEqual({ ok: true });
      await modHears.first((p) => p.topicId === topic.id && p.user.id === u.id);
      expect(await v.timeout(5000).emitWithAck('typing', { topicId: topic.id })).toEqual({ ok: true });
      await memberHears.first((p) => p.topicId === topic.id && p.user.id === visible.id);
      // All the member heard before the visible writer's is theirs: nothing of the hidden member's.
      await pushedSoFar(t, [m]);
      expect(memberHears.soFar().map((p) => p.user.id)).toEqual([visible.id]);

      // Showing the profile again, or hiding it, tells the rooms the member is in at once: each picked by the room, among
      // what was pushed after every earlier push arrived (the list without them is the join's too).
      const shown = await heardAfter(t, m, 'presence');
      expectOk(await t.gql(HIDE, { input: { hideProfile: false } }, { token: u.token }));
      expect(ids(await shown.first((p) => p.topicId === topic.id))).toEqual([member.id, visible.id, moderator.id, u.id].sort());
      const hiddenAgain = await heardAfter(t, m, 'presence');
      expectOk(await t.gql(HIDE, { input: { hideProfile: true } }, { token: u.token }));
      expect(await hiddenAgain.first((p) => p.topicId === topic.id)).toMatchObject({ count: 5, users: expect.not.arrayContaining([expect.objectContaining({ id: u.id })]) });
    });
  });

  describe('last seen', () => {
    it('is read only when asked for, once for a topic’s participants however many', async () => {
      const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
      const viewer = await makeUser(t);
      const PARTICIPANTS = (fields: string) => `query($id: ID!) { topic(id: $id) { participants(first: 10) { user { id ${fields} } } } }`;
      const topicOf = async (n: number) => {
        const writers = [];
        for (let i = 0; i < n; i++) {
          const w = await makeUser(t);
          expectOk(await update(w, { bio: `Writer ${i}`, location: 'Somewhere', website: 'https://w.example.org' }));
          writers.push(w);
        }
        const topic = await createTopic(t, writers[0].token, board);
        for (const w of writers.slice(1)) await reply(t, w.token, topic.id);
        return topic.id;
      };
      const lastSeenStatements = (statements: string[]) => statements.filter((q) => /max\(v\.day\)|FROM sessions s WHERE s\.user_id/.test(q));
      const [two, seven] = [await topicOf(2), await topicOf(7)];
      const costs = [];
      for (const id of [two, seven]) {
        let participants: any[] = [];
        // The profile without last seen: none of its subqueries run.
        const profile = await t.countStatements(async () => (participants = expectOk(await t.gql(PARTICIPANTS('bioHtml location website'), { id }, { token: viewer.token })).topic.participants));
        expect(participants.every((p) => p.user.location === 'Somewhere')).toBe(true);
        expect(lastSeenStatements(profile.statements)).toEqual([]);
        // With it: one statement for all of them.
        const seen = await t.countStatements(async () => (participants = expectOk(await t.gql(PARTICIPANTS('bioHtml lastSeenAt'), { id }, { token: viewer.token })).topic.participants));
        expect(participants.every((p) => p.user.lastSeenAt !== null)).toBe(true);
        expect(lastSeenStatements(seen.statements)).toHaveLength(1);
        costs.push(seen.count);
      }
      expect(costs[1]).toBe(costs[0]);
    });

    it('is the latest use of a session, else the latest day of a visit, and null for one never seen', async () => {
      const u = await makeUser(t);
      const viewer = await makeUser(t);
      const seen = async (h: string) => expectOk(await t.gql(PROFILE, { h }, { token: viewer.token })).user.lastSeenAt;
      await t.sql(`UPDATE sessions SET last_used_at = '2026-01-02T03:04:05Z' WHERE user_id = $1`, [u.id]);
      await t.sql(`DELETE FROM user_visits WHERE user_id = $1`, [u.id]);
      expect(await seen(u.handle)).toBe('2026-01-02T03:04:05.000Z');
      // Sessions pruned: the visit days remain.
      await t.sql(`DELETE FROM sessions WHERE user_id = $1`, [u.id]);
      await t.sql(`INSERT INTO user_visits (user_id, day) VALUES ($1, '2025-12-30'), ($1, '2025-11-01')`, [u.id]);
      expect(new Date(await seen(u.handle)).getTime()).toBe(new Date((await t.sql(`SELECT '2025-12-30'::date::timestamptz AS d`))[0].d).getTime());
      await t.sql(`DELETE FROM user_visits WHERE user_id = $1`, [u.id]);
      expect(await seen(u.handle)).toBeNull();
    });

    /**
     * `users.last_visit_on` (kept for @mention suggestions) skips a member's row held at the
     * instant of the visit and keeps the day before until the next visit: last seen reads the
     * visits themselves, which tell the day however the visit was written.
     */
    it('is the latest visit day when the visit could not take the member’s row (held at that instant), their sessions pruned', async () => {
      const u = await makeUser(t);
      const viewer = await makeUser(t);
      const seen = async (h: string) => expectOk(await t.gql(PROFILE, { h }, { token: viewer.token })).user.lastSeenAt;
      await t.sql(`DELETE FROM sessions WHERE user_id = $1`, [u.id]);
      await t.sql(`DELETE FROM user_visits WHERE user_id = $1`, [u.id]);
      await t.sql(`INSERT INTO user_visits (user_id, day) VALUES ($1, '2025-11-01')`, [u.id]);
      await withLockHeld(t, `SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE`, [u.id], () =>
        t.sql(`INSERT INTO user_visits (user_id, day) VALUES ($1, '2025-12-30')`, [u.id]),
      );
      expect((await t.sql(`SELECT last_visit_on::text AS day FROM users WHERE id = $1`, [u.id]))[0].day).toBe('2025-11-01');
      expect(new Date(await seen(u.handle)).getTime()).toBe(new Date((await t.sql(`SELECT '2025-12-30'::date::timestamptz AS d`))[0].d).getTime());
    });
  });
});
