import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ContentRenderer } from '../../content/src/renderer';
import { handleCandidates } from '../../forum/src/import/stackexchange';
import { SignUpInput } from '../../identity/src/auth/dto/auth.inputs';
import { UserHandleArgs } from '../../identity/src/users/dto/user-handle.args';
import { SearchFilter } from '../../search/src/search.model';
import { semEvalHandle } from '../../search/src/eval/semeval';
import { HANDLE_MAX, HANDLE_RULE, isStoredHandle } from './handles';

/** Handles and near-handles: lengths at and past the bounds, each character class, look-alikes. */
const CASES = [
  'abc', 'ABC', 'Alice_B-2', '___', '-ab', 'ab-', '0123', 'a'.repeat(HANDLE_MAX), 'A'.repeat(HANDLE_MAX),
  'ab', 'a', 'a'.repeat(HANDLE_MAX + 1), 'al.ice', 'al ice', 'abc!', 'abcé', 'éabc', 'ａｂｃ', 'ab\u200Bc', 'ab\u0301c', 'abc@x', 'ab/c',
];

const renderer = new ContentRenderer();

function signUpTakes(handle: string): boolean {
  const input = plainToInstance(SignUpInput, { email: 'a@e.example', handle, password: 'long enough password' });
  return !validateSync(input).some((e) => e.property === 'handle');
}

function searchTakes(handle: string): boolean {
  return validateSync(plainToInstance(SearchFilter, { authorHandle: handle })).length === 0;
}

/** What a post saying `@handle` makes of it: a mention collected (to notify), and a link kept through the allowlist as one. */
function mentionOf(handle: string): { collected: boolean; linked: boolean } {
  const { html, mentions } = renderer.render(`hi @${handle} there`);
  const stored = handle.toLowerCase();
  return { collected: mentions.length === 1 && mentions[0] === stored, linked: html.includes(`data-handle="${stored}"`) };
}

/** What each input that takes a handle says of one: the refusals of its handle field (class-validator's constraint name, and its message). */
function refusals(handle: string): Record<string, Array<Record<string, string>>> {
  const of = (target: object, property: string) => validateSync(target).filter((e) => e.property === property).map((e) => e.constraints ?? {});
  return {
    signUp: of(plainToInstance(SignUpInput, { email: 'a@e.example', handle, password: 'long enough password' }), 'handle'),
    user: of(plainToInstance(UserHandleArgs, { handle }), 'handle'),
    search: of(plainToInstance(SearchFilter, { authorHandle: handle }), 'authorHandle'),
  };
}

describe('the handle rule, shared', () => {
  it.each([...CASES, ` ${CASES[0]} `, '', ' '])('is refused alike by sign-up, user(handle:) and search, with the one message: %j', (handle) => {
    const { signUp, user, search } = refusals(handle);
    expect({ user, search }).toEqual({ user: signUp, search: signUp });
    expect(signUp).toEqual(signUpTakes(handle) ? [] : [{ matches: HANDLE_RULE }]);
  });

  it('leaves an absent authorHandle alone: search without one filters by nobody', () => {
    expect(validateSync(plainToInstance(SearchFilter, {}))).toEqual([]);
  });

  it.each(CASES)('is the same for sign-up, search, @mentions and the stored form: %j', (handle) => {
    const takes = signUpTakes(handle);
    expect({ search: searchTakes(handle), mention: mentionOf(handle), stored: isStoredHandle(handle.toLowerCase()) }).toEqual({
      search: takes,
      mention: { collected: takes, linked: takes },
      stored: takes,
    });
  });

  it('takes and refuses some of the cases, so the agreement says something', () => {
    expect(CASES.filter(signUpTakes)).toEqual(['abc', 'ABC', 'Alice_B-2', '___', '-ab', 'ab-', '0123', 'a'.repeat(HANDLE_MAX), 'A'.repeat(HANDLE_MAX)]);
  });

  it.each(CASES)("gives a SemEval user only a handle sign-up would take and a mention would link, from the id %j", (id) => {
    const h = semEvalHandle(id);
    expect({ h, signUp: signUpTakes(h), mention: mentionOf(h), stored: isStoredHandle(h) }).toEqual({ h, signUp: true, mention: { collected: true, linked: true }, stored: true });
  });

  it.each(CASES)("gives an imported user only handles sign-up would take and a mention would link, from the name %j", (name) => {
    const candidates = handleCandidates(name, '7');
    expect(candidates.length).toBeGreaterThan(0);
    for (const h of candidates) {
      expect({ h, signUp: signUpTakes(h), mention: mentionOf(h), stored: isStoredHandle(h) }).toEqual({ h, signUp: true, mention: { collected: true, linked: true }, stored: true });
    }
  });
});
