import { AddressInfo } from 'node:net';
import { io, Socket } from 'socket.io-client';
import { hashPassword } from '../../libs/identity/src/auth/auth.service';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { makeUser } from '../factories';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

/**
 * Live connection places, and the client address behind one trusted proxy hop
 * (TRUST_PROXY=1), which HTTP requests and live connections both key on.
 */
describe('live connection caps and client addresses', () => {
  let t: TestApp;
  let url: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await bootTestApp({ TRUST_PROXY: '1', LIVE_MAX_PER_USER: '2', LIVE_MAX_ANONYMOUS_PER_IP: '2' });
    url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  /** Connects as `token` (or anonymously) from `address`, as the proxy in front of us reports it. */
  function connect(address: string, token?: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = io(url, {
        path: '/socket.io',
        transports: ['websocket'],
        auth: token ? { token } : {},
        extraHeaders: { 'x-forwarded-for': address },
        reconnection: false,
        forceNew: true,
      });
      sockets.push(s);
      s.once('connect', () => resolve(s));
      s.once('connect_error', reject);
    });
  }
  const closed = (s: Socket) =>
    new Promise<void>((resolve) => {
      s.once('disconnect', () => resolve());
      s.disconnect();
    });
  /** Whether the server has let go of the connection (its places are given back on its side). */
  const settle = () => new Promise((r) => setTimeout(r, 200));

  it('reads TRUST_PROXY=1 as one trusted hop for HTTP requests', async () => {
    const user = await makeUser(t, { passwordHash: await hashPassword('correct horse battery') });
    const res = await t.gql(
      `mutation($input: SignInInput!) { signIn(input: $input) { token } }`,
      { input: { login: user.handle, password: 'correct horse battery' } },
      { ip: '198.51.100.23' },
    );
    expectOk(res);
    const [session] = await t.sql(`SELECT ip FROM sessions WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1`, [user.id]);
    expect(session.ip).toBe('198.51.100.23');
  });

  it('caps anonymous connections per client address, and gives a place back when one closes', async () => {
    const first = await connect('203.0.113.10');
    await connect('203.0.113.10');
    await expect(connect('203.0.113.10')).rejects.toThrow(/RATE_LIMITED/);
    // Another address behind the same proxy has places of its own.
    await connect('203.0.113.11');
    await closed(first);
    await settle();
    await connect('203.0.113.10');
    // An IPv6 client counts as its /64: another address of it takes no new places.
    await connect('2001:db8:9:1::1');
    await connect('2001:db8:9:1::2');
    await expect(connect('2001:db8:9:1:a:b:c:d')).rejects.toThrow(/RATE_LIMITED/);
    await connect('2001:db8:9:2::1');
  });

  it('gives back the place of a client that left while its token was being checked', async () => {
    const member = await makeUser(t);
    const sessions = t.get(SessionsService);
    const resolve = sessions.resolve.bind(sessions);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const held = jest.spyOn(sessions, 'resolve').mockImplementation(async (...args) => {
      await gate;
      return resolve(...args);
    });
    try {
      // Three clients give up (a closed tab) while the server is still checking their token.
      const quitters = [1, 2, 3].map(() =>
        io(url, { path: '/socket.io', transports: ['websocket'], auth: { token: member.token }, extraHeaders: { 'x-forwarded-for': '203.0.113.40' }, reconnection: false, forceNew: true }),
      );
      while (held.mock.calls.length < 3) await new Promise((r) => setTimeout(r, 20));
      for (const q of quitters) q.disconnect();
      await settle();
      open();
      await settle();
    } finally {
      held.mockRestore();
    }
    await connect('203.0.113.40', member.token);
    await connect('203.0.113.40', member.token);
  });

  it('caps connections per signed-in user wherever they come from, and counts none of them against the address', async () => {
    const member = await makeUser(t);
    const first = await connect('203.0.113.20', member.token);
    await connect('203.0.113.21', member.token);
    await expect(connect('203.0.113.22', member.token)).rejects.toThrow(/RATE_LIMITED/);
    // Someone else on the same address is not held back by this member's places.
    await connect('203.0.113.20', (await makeUser(t)).token);
    await connect('203.0.113.20');
    await connect('203.0.113.20');
    await closed(first);
    await settle();
    await connect('203.0.113.22', member.token);
  });
});
