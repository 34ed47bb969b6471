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

  /** How much is memoized now, for `forgetSince`. */
  memoMark(): number {
    return this.memo.size;
  }

  /** Forgets what was memoized after `memoMark()` returned `mark` (a `forget` in between may keep one entry). */
  forgetSince(mark: number): void {
    let i = 0;
    for (const key of [...this.memo.keys()]) if (i++ >= mark) this.memo.delete(key);
  }

  memoize<T>(key: string, make: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, make());
    return this.memo.get(key) as T;
  }
}
