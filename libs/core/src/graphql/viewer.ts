export type GlobalRole = 'MEMBER' | 'MODERATOR' | 'ADMIN';

/** Global roles by power: a moderator acts on those below their own role only (sanctions, trust levels). */
export const ROLE_POWER: Record<GlobalRole, number> = { MEMBER: 0, MODERATOR: 1, ADMIN: 2 };

export interface ViewerUser {
  id: string;
  handle: string;
  role: GlobalRole;
  trustLevel: number;
  groupIds: string[];
}

/**
 * Who is asking, for one request. Per-request caches hang off it so the access
 * policy is computed once per request whatever the query asks for.
 */
export class Viewer {
  private readonly memo = new Map<string, unknown>();
  /** The keys memoized since `noteMade`, while noting. */
  private made: Set<string> | null = null;
  /** Resolving the session just extended its expiry: a session cookie should be sent again to match. */
  sessionRenewed = false;

  constructor(
    readonly user: ViewerUser | null,
    readonly sessionId: string | null = null,
    readonly ip = 'unknown',
  ) {}

  static anonymous(ip = 'unknown'): Viewer {
    return new Viewer(null, null, ip);
  }

  get id(): string | null {
    return this.user?.id ?? null;
  }
  get signedIn(): boolean {
    return this.user !== null;
  }
  get isAdmin(): boolean {
    return this.user?.role === 'ADMIN';
  }
  get isGlobalModerator(): boolean {
    return this.user?.role === 'MODERATOR' || this.user?.role === 'ADMIN';
  }

  forget(key: string): void {
    this.memo.delete(key);
  }

  peek<T>(key: string): T | undefined {
    return this.memo.get(key) as T | undefined;
  }

  /** Notes each key memoized from now on, until `endNoting` (a compiled query's run: compiled-queries.ts). */
  noteMade(): void {
    this.made = new Set();
  }

  /** Stops noting; with `forget`, forgets every entry memoized since `noteMade` (one made again after a `forget` too). */
  endNoting(forget: boolean): void {
    if (forget) for (const key of this.made ?? []) this.memo.delete(key);
    this.made = null;
  }

  memoize<T>(key: string, make: () => T): T {
    if (!this.memo.has(key)) {
      this.made?.add(key);
      this.memo.set(key, make());
    }
    return this.memo.get(key) as T;
  }
}
