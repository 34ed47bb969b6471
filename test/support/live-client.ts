import { io, Socket } from 'socket.io-client';

/**
 * A real Socket.IO client on the test API (`url`), signed in with `token` or anonymous, kept
 * in `sockets` for the suite to disconnect; resolves once connected, rejects on a refusal.
 */
export function connectLive(url: string, sockets: Socket[], token?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(url, { path: '/socket.io', transports: ['websocket'], auth: token ? { token } : {}, reconnection: false, forceNew: true });
    sockets.push(s);
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

/** The next `event` the client receives; rejects when none comes within `ms`. */
export function nextLiveEvent<T = any>(s: Socket, event: string, ms = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event}`)), ms);
    s.once(event, (d: T) => {
      clearTimeout(timer);
      resolve(d);
    });
  });
}
