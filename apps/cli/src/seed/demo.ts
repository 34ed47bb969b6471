import { INestApplication } from '@nestjs/common';
import { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { AuthService } from '../../../../libs/identity/src/auth/auth.service';
import { SessionsService } from '../../../../libs/identity/src/sessions/sessions.service';
import { UsersRepository } from '../../../../libs/identity/src/users/users.repository';

export interface DemoLogin {
  role: string;
  login: string;
  password: string;
}

export const DEMO_PASSWORD = 'parvis-demo-2026';

const PEOPLE = [
  { handle: 'admin', name: 'Ada Admin', role: 'ADMIN' as const, group: 'employees', label: 'admin' },
  { handle: 'mod', name: 'Morgan Moderator', role: 'MODERATOR' as const, group: 'employees', label: 'global moderator' },
  { handle: 'alice', name: 'Alice (Support)', role: 'MEMBER' as const, group: 'employees', label: 'employee, space moderator' },
  { handle: 'bob', name: 'Bob (Engineering)', role: 'MEMBER' as const, group: 'employees', label: 'employee' },
  { handle: 'carol', name: 'Carol Customer', role: 'MEMBER' as const, group: 'customers', label: 'customer' },
  { handle: 'dave', name: 'Dave Customer', role: 'MEMBER' as const, group: 'customers', label: 'customer' },
  { handle: 'erin', name: 'Erin (Partner)', role: 'MEMBER' as const, group: 'partners', label: 'partner' },
];

/** A demo account's e-mail address (the seed refuses to run when one is taken). */
const demoEmail = (p: { handle: string }): string => `${p.handle}@demo.parvis.example`;

/**
 * Fills a demo community through the public GraphQL API, so the demo data goes
 * through exactly the validation, rendering and access rules real users meet.
 * Running it again changes nothing.
 */
export async function seedDemoCommunity(app: INestApplication): Promise<DemoLogin[]> {
  const logins = PEOPLE.map((p) => ({ role: p.label, login: p.handle, password: DEMO_PASSWORD }));
  if (await app.get(UsersRepository).findByHandle('admin')) {
    // The seed goes through the API, step by step: its last step (a published article) says it finished.
    const [done] = await app.get(DataSource).query(
      `SELECT EXISTS (SELECT 1 FROM articles a JOIN boards b ON b.id = a.board_id JOIN spaces s ON s.id = b.space_id
                       WHERE s.slug = 'community' AND b.slug = 'kb' AND a.state = 'PUBLISHED') AS finished`,
    );
    if (!done.finished) {
      throw new Error('A previous seed stopped part-way (the demo admin exists, the community is incomplete): seed an empty database (a new PARVIS_DATA_DIR or DATABASE_URL).');
    }
    console.log('The demo community is already there.');
    return logins;
  }
  // Every demo account is new, or none is made: creating the admin and moderator (with the
  // published demo password) before stumbling on an existing handle would leave them behind.
  const taken: Array<{ handle: string }> = await app.get(DataSource).query(
    `SELECT handle FROM users WHERE lower(handle) = ANY($1::text[]) OR lower(email) = ANY($2::text[]) ORDER BY handle`,
    [PEOPLE.map((p) => p.handle), PEOPLE.map(demoEmail)],
  );
  if (taken.length) {
    throw new Error(`The demo accounts need their handles and e-mail addresses, and the account${taken.length > 1 ? 's' : ''} ${taken.map((u) => `"${u.handle}"`).join(', ')} already hold${taken.length > 1 ? '' : 's'} one of them: seed an empty database (a new PARVIS_DATA_DIR or DATABASE_URL).`);
  }
  if (!app.getHttpServer().listening) await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/graphql`;
  const gql = async (token: string, query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown[] };
    if (body.errors) throw new Error(`seed: ${JSON.stringify(body.errors)}`);
    return body.data!;
  };

  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};
  for (const p of PEOPLE) {
    const { user } = await app
      .get(AuthService)
      .createAccount({ email: demoEmail(p), handle: p.handle, password: DEMO_PASSWORD, displayName: p.name }, p.role);
    ids[p.handle] = user.id;
    tokens[p.handle] = await app.get(SessionsService).issue(user.id, { userAgent: 'parvis seed' });
  }
  const admin = tokens.admin;

  const groups: Record<string, string> = {};
  // Employees see one another (an internal directory); customers and partners are seen by their
  // owner, the community manager, who reads idea votes by segment (a group one does not see is no segment).
  for (const [slug, name, visibility] of [['employees', 'Employees', 'MEMBERS'], ['customers', 'Customers', 'OWNERS'], ['partners', 'Partners', 'OWNERS']]) {
    const d = await gql(admin, `mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }`, { i: { slug, name, visibility } });
    groups[slug] = d.createGroup.id;
  }
  for (const p of PEOPLE) {
    await gql(admin, `mutation($i: GroupMemberInput!) { addGroupMember(input: $i) { id } }`, { i: { groupId: groups[p.group], userId: ids[p.handle] } });
  }
  for (const slug of ['customers', 'partners']) {
    await gql(admin, `mutation($i: SetGroupOwnerInput!) { setGroupOwner(input: $i) { id } }`, { i: { groupId: groups[slug], userId: ids.alice, owner: true } });
  }

  // An interest group customers ask to join, run by the community manager as its owner (Discourse's group owners).
  const beta = (
    await gql(admin, `mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }`, {
      i: { slug: 'beta-testers', name: 'Beta testers', description: 'Try hub firmware before it ships and tell the hub team what breaks.', visibility: 'PUBLIC', joining: 'REQUEST' },
    })
  ).createGroup.id as string;
  await gql(admin, `mutation($i: SetGroupOwnerInput!) { setGroupOwner(input: $i) { id } }`, { i: { groupId: beta, userId: ids.alice, owner: true } });
  const askToJoin = (who: string, message: string) =>
    gql(tokens[who], `mutation($i: GroupRequestInput!) { requestGroupMembership(input: $i) { id } }`, { i: { groupId: beta, message } });
  await askToJoin('carol', 'I run three hubs at home and would love to try the betas.');
  const [carolsRequest] = (await gql(tokens.alice, `{ group(slug: "beta-testers") { requests { edges { node { id } } } } }`)).group.requests.edges;
  await gql(tokens.alice, `mutation($i: DecideGroupRequestInput!) { decideGroupRequest(input: $i) { id } }`, { i: { requestId: carolsRequest.node.id, accept: true } });
  await askToJoin('dave', 'Happy to test the CSV export early.');

  const createSpace = async (slug: string, name: string, description: string, visibility: string) =>
    (await gql(admin, `mutation($i: CreateSpaceInput!) { createSpace(input: $i) { id } }`, { i: { slug, name, description, visibility } })).createSpace.id as string;
  const grant = (spaceId: string, level: string, who: { groupId?: string; userId?: string }) =>
    gql(admin, `mutation($i: SpaceGrantInput!) { grantSpaceAccess(input: $i) { id } }`, { i: { spaceId, level, ...who } });
  const board = async (spaceId: string, slug: string, name: string, description: string, kind = 'FORUM') =>
    (await gql(admin, `mutation($i: CreateBoardInput!) { createBoard(input: $i) { id } }`, { i: { spaceId, slug, name, description, kind } })).createBoard.id as string;

  const internal = await createSpace('internal', 'Inside Acme', 'Where Acme employees share what they know.', 'RESTRICTED');
  await grant(internal, 'PARTICIPATE', { groupId: groups.employees });
  await grant(internal, 'MODERATE', { userId: ids.alice });
  const community = await createSpace('community', 'Acme Community', 'Questions and discussions about Acme products.', 'PUBLIC');
  await grant(community, 'MODERATE', { userId: ids.alice });
  const partnerSpace = await createSpace('partners', 'Partner Network', 'Resellers and integrators working with Acme.', 'RESTRICTED');
  await grant(partnerSpace, 'PARTICIPATE', { groupId: groups.partners });
  await grant(partnerSpace, 'PARTICIPATE', { groupId: groups.employees });

  const help = await board(community, 'help', 'Help & questions', 'Ask the community and Acme staff.');
  const lounge = await board(community, 'lounge', 'Lounge', 'Show what you built, share tips.');
  const ideas = await board(community, 'ideas', 'Ideas', 'Suggest improvements.', 'IDEAS');
  const kb = await board(community, 'kb', 'Knowledge base', 'Answers we keep up to date.', 'KNOWLEDGE');
  const engineering = await board(internal, 'engineering', 'Engineering', 'Internal technical notes.');
  const partnerBoard = await board(partnerSpace, 'deals', 'Deals & integrations', 'Co-selling and integration work.');

  const topic = async (who: string, boardId: string, title: string, body: string, kind = 'DISCUSSION', tags: string[] = []) =>
    (await gql(tokens[who], `mutation($i: CreateTopicInput!) { createTopic(input: $i) { id firstPost { id } } }`, { i: { boardId, title, body, kind, tags } })).createTopic as {
      id: string;
      firstPost: { id: string };
    };
  const reply = async (who: string, topicId: string, body: string) =>
    (await gql(tokens[who], `mutation($i: ReplyInput!) { replyToTopic(input: $i) { id } }`, { i: { topicId, body } })).replyToTopic.id as string;
  const react = (who: string, postId: string, kind: string) => gql(tokens[who], `mutation($i: ReactionInput!) { react(input: $i) { id } }`, { i: { postId, kind } });

  const q1 = await topic(
    'carol',
    help,
    'How do I reset the sync token on the Acme hub?',
    'Since the last update my hub refuses to sync.\n\nI tried **restarting** it twice. Any idea, @alice?',
    'QUESTION',
    ['hub', 'sync'],
  );
  await reply('dave', q1.id, 'Same here. Unplugging it for a minute did not help.');
  const answer = await reply(
    'alice',
    q1.id,
    'Open *Settings → Devices → Hub*, choose **Reset sync token**, then sign in again.\n\nDetails: [support article](https://support.acme.example/hub-sync).',
  );
  await react('carol', answer, 'THANKS');
  await react('dave', answer, 'LIKE');
  await gql(tokens.carol, `mutation($id: ID!) { acceptAnswer(postId: $id) { id } }`, { id: answer });

  const d1 = await topic('dave', lounge, 'Show us your Acme desk setup', 'Mine: two hubs, one dashboard, too many cables.', 'DISCUSSION', ['setup']);
  await reply('erin', d1.id, 'We deploy this layout for most of our retail customers.');
  await react('carol', d1.firstPost.id, 'LAUGH');

  const i1 = await topic('bob', engineering, 'Postmortem: hub sync outage', 'Root cause: token rotation raced the firmware update. Actions below.', 'DISCUSSION', ['postmortem']);
  await reply('alice', i1.id, 'Support saw 140 tickets; the reset procedure is now in the community answer.');
  await react('mod', i1.firstPost.id, 'INSIGHTFUL');

  const p1 = await topic('erin', partnerBoard, 'Bulk provisioning API for resellers?', 'We onboard 500 hubs per customer. Is there a bulk endpoint?', 'QUESTION', ['api']);
  await reply('bob', p1.id, 'Yes: the provisioning API accepts batches of 1,000. Docs are in the partner portal.');

  await gql(tokens.alice, `mutation($i: TopicStatusInput!) { setTopicStatus(input: $i) { id } }`, { i: { topicId: q1.id, pinned: true } });

  // The community manager's tools: a profile, an announcement above every feed, a poll, a live Q&A in slow mode, a wiki FAQ.
  await gql(tokens.alice, `mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { id } }`, {
    i: { bio: 'Community manager at Acme. Ask me about **hubs**, sync and the roadmap.', location: 'Lyon' },
  });
  const welcome = await topic('alice', lounge, 'Welcome to the Acme Community', 'Start with the *Help & questions* board, and say hello here.', 'DISCUSSION', ['welcome']);
  await gql(tokens.mod, `mutation($i: GlobalPinInput!) { setGlobalPin(input: $i) { id } }`, { i: { topicId: welcome.id, pinned: true } });
  await gql(tokens.alice, `mutation($i: CreatePollInput!) { createPoll(input: $i) { id } }`, {
    i: { postId: welcome.firstPost.id, question: 'How many Acme hubs do you run?', options: ['One', 'Two to five', 'More than five'], kind: 'SINGLE', results: 'ON_VOTE', publicVoters: false },
  });
  const qa = await topic('alice', lounge, 'Live Q&A with the hub team', 'Ask your questions below: the hub team answers live on Friday.', 'DISCUSSION', ['live-qa']);
  await gql(tokens.alice, `mutation($i: TopicSlowModeInput!) { setTopicSlowMode(input: $i) { id } }`, { i: { topicId: qa.id, seconds: 60, durationHours: 72 } });
  // A FAQ the community writes together: a wiki post any member from trust level 1 may improve.
  const faq = await topic('alice', help, 'Community FAQ: add what you see asked often', 'Questions asked again and again, with their answers. Anyone may improve this post.', 'DISCUSSION', ['faq']);
  await gql(tokens.mod, `mutation($id: ID!) { setPostWiki(postId: $id, wiki: true) { id } }`, { id: faq.firstPost.id });

  // Ideas: votes from customers and employees, one planned with an official response, one merged duplicate.
  const vote = (who: string, topicId: string) => gql(tokens[who], `mutation($id: ID!) { voteIdea(topicId: $id) { id } }`, { id: topicId });
  const idea1 = await topic('carol', ideas, 'Dark mode for the dashboard', 'The dashboard is very bright at night. A dark theme would help.', 'IDEA', ['dashboard']);
  const idea2 = await topic('dave', ideas, 'Export hub history as CSV', 'I want to analyse a month of readings in a spreadsheet.', 'IDEA', ['export']);
  const idea3 = await topic('erin', ideas, 'Download readings to Excel', 'Our customers ask for spreadsheets of their readings.', 'IDEA', ['export']);
  for (const who of ['dave', 'erin', 'bob']) await vote(who, idea1.id);
  await vote('carol', idea2.id);
  await gql(tokens.alice, `mutation($i: SetIdeaStatusInput!) { setIdeaStatus(input: $i) { id } }`, {
    i: { topicId: idea1.id, status: 'PLANNED', response: 'Planned for the spring release. Thanks for the votes!' },
  });
  await gql(tokens.alice, `mutation($i: MergeIdeaInput!) { mergeIdea(input: $i) { id } }`, { i: { sourceId: idea3.id, targetId: idea2.id } });

  // Knowledge: the accepted answer becomes an article, reviewed and published by another editor.
  const article = (
    await gql(tokens.alice, `mutation($i: PromotePostInput!) { promotePostToArticle(input: $i) { id } }`, {
      i: { postId: answer, boardId: kb, title: 'Resetting the hub’s sync token' },
    })
  ).promotePostToArticle.id as string;
  await gql(tokens.alice, `mutation($id: ID!) { submitArticle(topicId: $id) { id } }`, { id: article });
  await gql(tokens.mod, `mutation($id: ID!) { publishArticle(topicId: $id) { id } }`, { id: article });
  return logins;
}
