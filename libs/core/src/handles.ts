/**
 * What a handle is, in one place: 3–30 of the letters a-z, the digits, `_` and `-`. Sign-up takes
 * any case and stores it lower-cased, which the users.handle CHECK holds (`^[a-z0-9_-]{3,30}$`,
 * migration 1763888400000); the renderer links `@handle`, search filters by one, and an import
 * makes placeholders' handles by the same rule, so a handle one of them takes, the others take.
 */
export const HANDLE_MIN = 3;
export const HANDLE_MAX = 30;

/** The characters of a handle, as the body of a regular expression's class (`-` last, so it is no range). */
export const HANDLE_CHARS = 'A-Za-z0-9_-';

/** A handle as typed (any case), whole. */
export const HANDLE_RE = new RegExp(`^[${HANDLE_CHARS}]{${HANDLE_MIN},${HANDLE_MAX}}$`);

/** What a refusal of a handle says. */
export const HANDLE_RULE = `must be ${HANDLE_MIN}–${HANDLE_MAX} characters of a-z, 0-9, _ and -`;

/** A handle as stored (lower-case): what users.handle holds and what the renderer writes in a mention's `data-handle`. */
export function isStoredHandle(text: string): boolean {
  return HANDLE_RE.test(text) && text === text.toLowerCase();
}
