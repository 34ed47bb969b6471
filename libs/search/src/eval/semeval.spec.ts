import { HANDLE_MAX, isStoredHandle } from '../../../core/src/handles';
import { semEvalHandle, semEvalHandleOf, semEvalHandles } from './semeval';

describe('SemEval placeholder handles', () => {
  // Ids that differ only in case or in characters a handle drops, and long ones alike in their first characters.
  const long = 'U'.repeat(HANDLE_MAX);
  const IDS = ['U12', 'u12', 'U.12', 'U_12', 'U1', `${long}a`, `${long}b`, '', '!!'];

  it('gives each id its own handle, one a sign-up would take, however alike the ids', () => {
    const handles = semEvalHandles(IDS);
    expect([...handles.keys()].sort()).toEqual([...IDS].sort());
    const made = [...handles.values()];
    expect(new Set(made.map((h) => h.toLowerCase())).size).toBe(IDS.length);
    for (const h of made) expect({ h, stored: isStoredHandle(h) }).toEqual({ h, stored: true });
  });

  it('keeps the plain handle of an id nothing collides with, and suffixes only the colliding ones', () => {
    const handles = semEvalHandles(IDS);
    expect(handles.get('U1')).toBe('ql-u1');
    expect(handles.get('U_12')).toBe('ql-u_12');
    for (const id of ['U12', 'u12', 'U.12']) expect(handles.get(id)).toMatch(/^ql-u12-[0-9a-f]{8}$/);
    for (const id of [`${long}a`, `${long}b`]) expect(handles.get(id)).toMatch(new RegExp(`^${semEvalHandle(id).slice(0, HANDLE_MAX - 9)}-[0-9a-f]{8}$`));
  });

  it('makes the same handles from the same ids whatever their order or repeats', () => {
    const once = semEvalHandles(IDS);
    expect(semEvalHandles([...IDS].reverse())).toEqual(once);
    expect(semEvalHandles([...IDS, ...IDS])).toEqual(once);
  });

  it('gives the handle made for an id, and refuses an id it was not given rather than leave its user without a handle', () => {
    const handles = semEvalHandles(IDS);
    expect(semEvalHandleOf(handles, 'U1')).toBe('ql-u1');
    expect(() => semEvalHandleOf(handles, 'U2')).toThrow('No placeholder handle was made for the SemEval user "U2"');
  });
});
