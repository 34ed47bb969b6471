import type { IncomingMessage } from 'node:http';
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
