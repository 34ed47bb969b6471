import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';

/** Decides, per hop, whether the address that handed the request on is a proxy we trust. */
export type TrustProxy = (address: string, hop: number) => boolean;

const TRUST_NOBODY: TrustProxy = () => false;

/**
 * TRUST_PROXY as a trust function, shared by Express (`req.ip`) and the Socket.IO gateway so
 * both see the same client address:
 * - unset or `false`: no proxy, the socket's peer is the client;
 * - `true`: every hop is trusted (the left-most X-Forwarded-For entry is the client);
 * - a number: that many hops in front of Parvis are trusted;
 * - otherwise a comma-separated list of addresses, subnets or the names `loopback`,
 *   `linklocal`, `uniquelocal`.
 * Throws on a list entry that is not an address or subnet, so a typo fails at start-up.
 */
export function compileTrustProxy(setting: string | undefined): TrustProxy {
  const value = setting?.trim() ?? '';
  if (value === '' || value.toLowerCase() === 'false') return TRUST_NOBODY;
  if (value.toLowerCase() === 'true') return () => true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return proxyaddr.compile(value.split(',').map((v) => v.trim()));
}

/** The client's address behind the trusted proxies ('unknown' when the socket is gone). */
export function clientAddress(req: IncomingMessage, trust: TrustProxy): string {
  if (!req.socket?.remoteAddress) return 'unknown';
  return proxyaddr(req, trust);
}

/** How much of an IPv6 address one subscriber holds: ISPs hand out a /64 (or more) to each. */
const IPV6_NETWORK_BITS = 64;

/**
 * The network a client address stands for, as per-address limits and bans count it: an IPv4
 * address itself (written plainly when it came as `::ffff:a.b.c.d`), and the /64 an IPv6
 * address belongs to (`2001:db8:1:2::/64`), since whoever holds one address of it holds
 * 2^64 more. Anything else ('unknown') is returned as it is.
 */
export function networkOf(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address); // IPv4-mapped IPv6 comes back as IPv4
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const words = (parsed as ipaddr.IPv6).parts.slice(0, IPV6_NETWORK_BITS / 16);
  return `${new ipaddr.IPv6([...words, 0, 0, 0, 0]).toString()}/${IPV6_NETWORK_BITS}`;
}
