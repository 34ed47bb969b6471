import { tamperReport } from './audit-verify';

describe("audit:verify's report of a log found wrong", () => {
  const mismatch = (stored: string | null, said: string | null) =>
    tamperReport({ ok: false, checked: 4, problem: { id: '7', what: 'outcome-mismatch', outcome: { stored, said } } });

  it('tells an entry with no outcome from one whose outcome is NONE (a ContentOutcome), either way round', () => {
    expect(mismatch('NONE', null)).toBe(
      "The moderation log was tampered with: entry 7's outcome is NONE, where its own fields give it no outcome (written wrong, or changed around the append-only trigger); the 4 entries before it are intact.",
    );
    expect(mismatch(null, 'NONE')).toBe(
      'The moderation log was tampered with: entry 7 has no outcome, where its own fields say NONE (written wrong, or changed around the append-only trigger); the 4 entries before it are intact.',
    );
    expect(mismatch('HIDDEN', 'DELETED')).toMatch(/^The moderation log was tampered with: entry 7's outcome is HIDDEN, where its own fields say DELETED \(/);
    // No word for "none" that reads like the value NONE.
    expect([mismatch('NONE', null), mismatch(null, 'NONE')].join(' ')).not.toMatch(/\bnone\b/);
  });

  it('names the entry and what was found for the other problems, as before', () => {
    expect(tamperReport({ ok: false, checked: 2, problem: { id: '3', what: 'altered' } })).toBe('The moderation log was tampered with: entry 3 is altered; the 2 entries before it are intact.');
    expect(tamperReport({ ok: false, checked: 2, problem: { id: '3', what: 'broken-chain' } })).toMatch(/: entry 3 is not chained to the entry before it \(/);
    expect(tamperReport({ ok: false, checked: 9, problem: { id: '10', what: 'end-mismatch' } })).toMatch(/: the log does not end where its head says, at entry 10 \(.*\); the 9 entries before it are intact\.$/);
  });
});
