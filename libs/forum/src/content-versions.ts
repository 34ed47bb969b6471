import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { WarningThrottle } from '../../core/src/warning-throttle';

/** How much of `content_versions` used makes the hourly check warn (a percentage of its values). */
export const CONTENT_VERSIONS_WARN_PERCENT = 75;

/** How often the worker reads the sequence's use (a job, so once an hour for the whole site). */
export const CONTENT_VERSIONS_CHECK_MS = 3600_000;

/**
 * Past CONTENT_VERSIONS_WARN_PERCENT, the check warns again when the figure reaches the next step of this many percent (80,
 * 85… 100) or CONTENT_VERSIONS_REWARN_MS after its last warning, whichever comes first: until 2026-12-06 it warned at every
 * hourly check, forever, a line operators learn to skip. The figure moves over months, so a step is news; a day keeps it in view.
 */
export const CONTENT_VERSIONS_WARN_STEP_PERCENT = 5;
export const CONTENT_VERSIONS_REWARN_MS = 24 * 3600_000;

/** How much of the `content_versions` sequence is used. */
export interface ContentVersionsUse {
  /** Values handed out so far. */
  used: number;
  /** Values it has in all (2^31 - 1 for the `integer` sequence). */
  max: number;
  /** `used` of `max`, rounded down to hundredths, so 100 only once none is left. */
  percent: number;
}

/** One line for operators: `content versions: 1610612736 of 2147483647 used (75.00%)`. */
export function describeContentVersionsUse(u: ContentVersionsUse): string {
  return `content versions: ${u.used} of ${u.max} used (${u.percent.toFixed(2)}%)`;
}

/** What an operator must know once the use is at CONTENT_VERSIONS_WARN_PERCENT or past it; undefined before. */
export function contentVersionsWarning(u: ContentVersionsUse): string | undefined {
  if (u.percent < CONTENT_VERSIONS_WARN_PERCENT) return undefined;
  return `past ${CONTENT_VERSIONS_WARN_PERCENT}%: once it ends every write of a post, topic or idea fails; widen the versions before then (docs/architecture.md, versions)`;
}

/**
 * The use of `content_versions`, the sequence every write of a post, topic or idea draws its
 * version from (`next_version`, migration 1765328400000): once it ends, every such write fails
 * ("reached maximum value of sequence"). `content:versions` prints it; the worker reads it hourly
 * (a job of ForumModule's) and warns past CONTENT_VERSIONS_WARN_PERCENT, again at each step
 * (CONTENT_VERSIONS_WARN_STEP_PERCENT) or daily (CONTENT_VERSIONS_REWARN_MS). What it last warned of is
 * the process's own: a restart, or another worker process taking the job, warns once more.
 */
@Injectable()
export class ContentVersionsUsage {
  private readonly log = new Logger('ContentVersions');
  /** The step last warned of (a multiple of CONTENT_VERSIONS_WARN_STEP_PERCENT); undefined below the threshold. */
  private warnedStep: number | undefined;
  /** A warning a day at most (CONTENT_VERSIONS_REWARN_MS), but for a step above `warnedStep`. */
  private readonly warnings = new WarningThrottle(CONTENT_VERSIONS_REWARN_MS);

  constructor(private readonly ds: DataSource) {}

  /**
   * One statement: the sequence's last value (not yet handed out while `is_called` is false, as
   * after its creation or a `setval(…, false)`) and its bounds from the catalog. Reading it hands
   * out no value and takes no lock.
   */
  async read(): Promise<ContentVersionsUse> {
    const [row] = await this.ds.query<Array<{ used: string; max: string }>>(
      `SELECT (CASE WHEN v.is_called THEN v.last_value ELSE v.last_value - 1 END) - s.seqmin + 1 AS used, s.seqmax - s.seqmin + 1 AS max
         FROM content_versions v, pg_sequence s WHERE s.seqrelid = 'content_versions'::regclass`,
    );
    // bigint arrives as text; both stay below 2^31 here, exact as numbers.
    const used = Number(row.used);
    const max = Number(row.max);
    return { used, max, percent: Math.floor((used / max) * 10_000) / 100 };
  }

  /**
   * Reads the use and warns when it is at CONTENT_VERSIONS_WARN_PERCENT or past it: the first time, then when it reaches a
   * step above the last one warned of, or CONTENT_VERSIONS_REWARN_MS after the last warning, as the monotonic clock
   * (performance.now) counts it; a test moves that clock as others move Date.now (jest.spyOn), a day without waiting one.
   */
  async check(): Promise<ContentVersionsUse> {
    const use = await this.read();
    const now = performance.now();
    const warning = contentVersionsWarning(use);
    if (!warning) {
      this.warnedStep = undefined;
      this.warnings.reset();
      return use;
    }
    const step = Math.floor(use.percent / CONTENT_VERSIONS_WARN_STEP_PERCENT) * CONTENT_VERSIONS_WARN_STEP_PERCENT;
    if (!this.warnings.take(now, this.warnedStep === undefined || step > this.warnedStep)) return use;
    this.log.warn({ contentVersions: use }, `${describeContentVersionsUse(use)}: ${warning}`);
    this.warnedStep = step;
    return use;
  }
}
