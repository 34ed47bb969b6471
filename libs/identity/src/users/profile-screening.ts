import { Injectable } from '@nestjs/common';
import { Tx } from '../../../core/src/database/unit-of-work';
import { Viewer } from '../../../core/src/graphql/viewer';

/**
 * A member's profile change about to be stored: the texts it sets (fields it leaves alone or
 * clears are absent), the bio as written and as rendered.
 */
export interface ProfileChange {
  viewer: Viewer;
  displayName?: string;
  bio?: { source: string; html: string };
  location?: string;
  website?: string;
}

/** What the checks decided: the bio's HTML as readers will get it (censored words masked), and notes for `stored` (`flag:<rule>`). */
export interface ProfileVerdict {
  bioHtml?: string;
  reasons: string[];
}

/**
 * A step between rendering a profile change and storing it (watched words): `check` may throw
 * to refuse the change (then nothing is written) or replace the bio's HTML; `stored` runs
 * inside the storing transaction.
 */
export interface ProfileCheck {
  readonly name: string;
  check(c: ProfileChange, verdict: ProfileVerdict): Promise<void>;
  stored?(tx: Tx, c: ProfileChange, verdict: ProfileVerdict): Promise<void>;
}

/**
 * The registry of profile checks. Identity owns the seam; moderation plugs its watched words in
 * at start-up, so identity never depends on moderation (which depends on it), as the forum's
 * PostingPolicy does for posts.
 */
@Injectable()
export class ProfileScreening {
  private readonly checks: ProfileCheck[] = [];

  register(check: ProfileCheck): void {
    if (!this.checks.some((c) => c.name === check.name)) this.checks.push(check);
  }

  async evaluate(c: ProfileChange): Promise<ProfileVerdict> {
    const verdict: ProfileVerdict = { reasons: [] };
    for (const check of this.checks) await check.check(c, verdict);
    return verdict;
  }

  /** Inside the storing transaction (which may run again): each run hands the checks a verdict of its own. */
  async stored(tx: Tx, c: ProfileChange, verdict: ProfileVerdict): Promise<void> {
    const own: ProfileVerdict = { ...verdict, reasons: [...verdict.reasons] };
    for (const check of this.checks) await check.stored?.(tx, c, own);
  }
}
