import type { IncomingMessage } from 'node:http';
import { loadConfig, ConfigError } from '../config/config';
import { clientAddress, compileTrustProxy, networkOf } from './client-address';

/** A request that reached us from `peer`, carrying an X-Forwarded-For chain. */
function request(peer: string, forwardedFor?: string): IncomingMessage {
  return { socket: { remoteAddress: peer }, connection: { remoteAddress: peer }, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} } as unknown as IncomingMessage;
}

describe('client addresses behind proxies (TRUST_PROXY)', () => {
  const chain = '203.0.113.7, 198.51.100.2';
  const peer = '10.0.0.5';

  it('trusts nobody when unset or false: the peer is the client', () => {
    expect(clientAddress(request(peer, chain), compileTrustProxy(undefined))).toBe(peer);
    expect(clientAddress(request(peer, chain), compileTrustProxy('false'))).toBe(peer);
  });

  it('reads a number as a hop count, not as an address', () => {
    // One trusted hop: the load balancer in front of us, which appended the address it saw.
    expect(clientAddress(request(peer, chain), compileTrustProxy('1'))).toBe('198.51.100.2');
    expect(clientAddress(request(peer, chain), compileTrustProxy('2'))).toBe('203.0.113.7');
  });

  it('reads true as every hop, and a list as addresses, subnets or names', () => {
    expect(clientAddress(request(peer, chain), compileTrustProxy('true'))).toBe('203.0.113.7');
    expect(clientAddress(request(peer, chain), compileTrustProxy('10.0.0.0/8'))).toBe('198.51.100.2');
    expect(clientAddress(request(peer, chain), compileTrustProxy('10.0.0.0/8, 198.51.100.0/24'))).toBe('203.0.113.7');
    expect(clientAddress(request('127.0.0.1', chain), compileTrustProxy('loopback'))).toBe('198.51.100.2');
    expect(clientAddress(request(peer, chain), compileTrustProxy('loopback'))).toBe(peer);
  });

  it('refuses a value that is none of these when the configuration loads', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'yes-please' })).toThrow(ConfigError);
    expect(() => loadConfig({ TRUST_PROXY: 'yes-please' })).toThrow(/TRUST_PROXY/);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy('192.0.2.1', 3)).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy('192.0.2.1', 0)).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy('192.0.2.1', 1)).toBe(false);
  });
});

describe('the network an address counts as (per-address limits and bans)', () => {
  it('keeps IPv4 addresses, written plainly however they came', () => {
    expect(networkOf('203.0.113.7')).toBe('203.0.113.7');
    expect(networkOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('takes an IPv6 address as its /64, whichever of its 2^64 addresses and however it is written', () => {
    expect(networkOf('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(networkOf('2001:DB8:1:2::ffff')).toBe('2001:db8:1:2::/64');
    expect(networkOf('2001:0db8:0001:0002:0000:0000:0000:0001')).toBe('2001:db8:1:2::/64');
    expect(networkOf('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(networkOf('::1')).toBe('::/64');
  });

  it('leaves anything that is not an address as it is', () => {
    expect(networkOf('unknown')).toBe('unknown');
    expect(networkOf('')).toBe('');
  });
});
