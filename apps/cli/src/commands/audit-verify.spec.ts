import { INestApplicationContext } from '@nestjs/common';
import { AuditLog, VerifyProblem, VerifyResult } from '../../../../libs/core/src/audit/audit-log';
import { ALERT_EXIT } from '../exit-codes';
import { runAuditVerify, verifyReport } from './audit-verify';

describe("audit:verify's report of the log", () => {
  const found = (problems: VerifyProblem[], checked = 9, problemCount = problems.length) => new VerifyResult(checked, problems, problemCount);
  const lines = (problems: VerifyProblem[], checked?: number, problemCount?: number) => verifyReport(found(problems, checked, problemCount)).stderr!.split('\n');
  const mismatch = (stored: string | null, said: string | null) => lines([{ id: '7', what: 'outcome-mismatch', outcome: { stored, said } }])[1];

  it('reads the log intact (ok) from the count of problems found, none listed or not: never from the list alone', () => {
    expect(found([], 12).ok).toBe(true);
    expect(found([{ id: '3', what: 'altered' }]).ok).toBe(false);
    // verify(…, listed) may list none of those it counted (listed 0).
    expect(found([], 12, 3).ok).toBe(false);
    expect(verifyReport(found([], 12, 3)).exitCode).toBe(ALERT_EXIT);
  });

  it('says the log is intact, on standard output, and exits 0, when nothing is found', () => {
    expect(verifyReport(found([], 12))).toEqual({ exitCode: 0, stdout: 'The moderation log is intact (12 entries).' });
  });

  it(`lists what it found on standard error and exits ${ALERT_EXIT}: not 0, nor 1 (the command failed, nothing known), nor an interrupt's`, () => {
    expect(ALERT_EXIT).not.toBe(1);
    expect([0, 129, 130, 143]).not.toContain(ALERT_EXIT);
    const report = verifyReport(found([{ id: '3', what: 'altered' }]));
    expect(report).toEqual({ exitCode: ALERT_EXIT, stderr: expect.any(String) });
  });

  it('does not call every problem tampering: an outcome its fields do not say may be written wrong, and is worded so', () => {
    const report = lines([{ id: '7', what: 'outcome-mismatch', outcome: { stored: 'HIDDEN', said: 'DELETED' } }], 4);
    expect(report).toEqual([
      'The moderation log has 1 problem (4 entries checked):',
      "  entry 7's outcome is HIDDEN, where its own fields say DELETED (written wrong, or changed around the append-only trigger)",
    ]);
    expect(report.join('\n')).not.toMatch(/tamper/);
  });

  it('tells an entry with no outcome from one whose outcome is NONE (a ContentOutcome), either way round', () => {
    expect(mismatch('NONE', null)).toBe("  entry 7's outcome is NONE, where its own fields give it no outcome (written wrong, or changed around the append-only trigger)");
    expect(mismatch(null, 'NONE')).toBe('  entry 7 has no outcome, where its own fields say NONE (written wrong, or changed around the append-only trigger)');
    // No word for "none" that reads like the value NONE.
    expect([mismatch('NONE', null), mismatch(null, 'NONE')].join(' ')).not.toMatch(/\bnone\b/);
  });

  it('names each problem found, in the order found, each kind in its own words', () => {
    expect(
      lines([
        { id: '3', what: 'altered' },
        { id: '5', what: 'broken-chain' },
        { id: '10', what: 'end-mismatch' },
        { id: '12', what: 'count-mismatch', entries: { head: 12, found: 11 } },
      ]),
    ).toEqual([
      'The moderation log has 4 problems (9 entries checked):',
      '  entry 3 does not match its hash: changed after it was written (around the append-only trigger)',
      '  entry 5 is not chained to the entry before it (an entry was removed or reordered)',
      '  the log does not end where its head says, at entry 10 (entries were cut off its end, or added around the application)',
      '  its head counts 12 entries up to entry 12, where the log holds 11 (entries were removed, or added around the application)',
    ]);
  });

  it('says how many more were found than it lists', () => {
    const listed: VerifyProblem[] = Array.from({ length: 100 }, (_, i) => ({ id: String(i + 1), what: 'altered' }));
    const report = lines(listed, 500, 250);
    expect(report[0]).toBe('The moderation log has 250 problems (500 entries checked); the first 100:');
    expect(report).toHaveLength(102);
    expect(report[101]).toBe('  and 150 more');
  });

  describe('its exit code when closing after the check fails', () => {
    /** Services whose AuditLog finds `result`, opened and closed as withServices does; closing throws `closing` (when given). */
    const services = (result: VerifyResult, closing?: Error) => async (fn: (app: INestApplicationContext) => Promise<void>) => {
      const app = { get: (token: unknown) => (token === AuditLog ? { verify: async () => result } : undefined) } as unknown as INestApplicationContext;
      await fn(app);
      if (closing) throw closing;
    };
    const run = async (result: VerifyResult, closing?: Error) => {
      const out = { stdout: [] as string[], stderr: [] as string[] };
      const code = await runAuditVerify(services(result, closing), { stdout: (l) => out.stdout.push(l), stderr: (l) => out.stderr.push(l) });
      return { code, ...out };
    };
    const closeFailed = 'The check is done (its result above stands), but closing the database after it failed: Connection terminated unexpectedly';

    it('keeps the check\'s code, ALERT_EXIT, and says the close failed after the problems it lists', async () => {
      const found = await run(new VerifyResult(9, [{ id: '3', what: 'altered' }], 1), new Error('Connection terminated unexpectedly'));
      expect(found.code).toBe(ALERT_EXIT);
      expect(found.stdout).toEqual([]);
      expect(found.stderr).toEqual([expect.stringMatching(/^The moderation log has 1 problem/), closeFailed]);
    });

    it('keeps the check\'s code, 0, for a log found intact, and says the close failed', async () => {
      const intact = await run(new VerifyResult(12, [], 0), new Error('Connection terminated unexpectedly'));
      expect(intact).toEqual({ code: 0, stdout: ['The moderation log is intact (12 entries).'], stderr: [closeFailed] });
    });

    it('answers the check\'s code with nothing more when closing succeeds, and throws (exit 1) a failure before the check answered', async () => {
      expect(await run(new VerifyResult(12, [], 0))).toEqual({ code: 0, stdout: ['The moderation log is intact (12 entries).'], stderr: [] });
      const refused = async () => {
        throw new Error('database "x" does not exist');
      };
      await expect(runAuditVerify(refused, { stdout: () => undefined, stderr: () => undefined })).rejects.toThrow('does not exist');
    });
  });
});
