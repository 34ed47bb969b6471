/** A push's version: none (null or undefined) from an event an older release committed. */
export type PushVersion = number | null | undefined;

/**
 * The newest version of each entity's state this process has pushed, per audience (a poll's
 * counts and its count-free news are told apart: they go to different sockets).
 *
 * A push reads its entity's state and version in one statement, then emits: two pushes of one
 * entity started back to back (two votes) run apart, and the later read could be emitted first,
 * leaving its readers with the older state. Asked right before the emit, with no wait between,
 * `admit` refuses a version older than one this process already sent, so one process never
 * sends an older state after a newer one. Equal versions are admitted: they are the same state,
 * read twice. Pushes started on another API process reach the same sockets through the Redis
 * adapter, in no order this one knows: for those the client's rule holds (each push carries its
 * version; a client drops one older than what it shows).
 *
 * Bounded (`limit` entities, the least recently pushed forgotten first): a forgotten entity's
 * older push could go out again, which the client's rule still drops (see README's *Order*), a
 * post held as a placeholder included: a page's placeholder carries its removal's version (until
 * 2026-12-07 none, and a hidden post's edit read before the hide then reached them). Not all of a
 * topic's pushes to a board's room: its keys there forgotten (`LiveGateway.boardNewsPasses`, `admitListChange`), one read
 * before the topic left the board (`topic:created`, `topic:updated`, `idea:updated`,
 * `topic:activity`) would then reach it. The client drops such a `topic:created` by its version,
 * below the `topic:removed` it heard (both carry the topic's, since 2026-12-07), but not one heard
 * after an older release's versionless `topic:moved` (a move's carries the topic's version
 * since 2026-12-07, and orders it as a removal's does), and compares the news with their own kinds alone.
 *
 * A push without a version (from an event an older release committed, during a rolling upgrade)
 * is sent as it was before versions, and notes nothing: `admit` and `passes` say yes to it, here
 * and nowhere else, so no caller tells a missing version apart itself.
 */
export class PushedVersions {
  private readonly newest = new Map<string, number>();

  constructor(private readonly limit = 10_000) {}

  /** Whether `version` of `key` may be sent: not older than one sent already (or none: see above). Notes it when so. */
  admit(key: string, version: PushVersion): boolean {
    if (!this.passes(key, version)) return false;
    if (typeof version !== 'number') return true;
    // Deleted first, so the entry moves to the end: the map's order is the order of last use.
    this.newest.delete(key);
    this.newest.set(key, version);
    if (this.newest.size > this.limit) this.newest.delete(this.newest.keys().next().value as string);
    return true;
  }

  /**
   * Whether `version` of `key` is not older than one sent already, without noting it: a push
   * ordered by a key of its own that must also not be older than a change noted under `key`
   * (a topic's news on a board read before it left the board: `LiveGateway.boardNewsPasses`).
   */
  passes(key: string, version: PushVersion): boolean {
    if (typeof version !== 'number') return true;
    const sent = this.newest.get(key);
    return sent === undefined || version >= sent;
  }

  /** `key` is gone for good (a poll deleted): nothing of it is sent from now on. */
  end(key: string): void {
    this.newest.delete(key);
    this.newest.set(key, Infinity);
    if (this.newest.size > this.limit) this.newest.delete(this.newest.keys().next().value as string);
  }
}
