/**
 * The brand only `settingsToken` puts on a token: not exported, so no other code can name it, and a plain `Symbol()` is
 * not a SettingsToken to the compiler (until 2026-12-06 the brand was an optional field any symbol had, and only
 * `CoreModule.forRoot`'s check at boot caught a plain one). A type only: no token carries it at run time.
 */
declare const settingsBrand: unique symbol;

/**
 * A token for a feature's optional settings (`settingsToken`): what the feature injects with `@Optional()`, its defaults applying
 * where nothing provides one (in production, nothing does). The only tokens `CoreOptions.settings` provides.
 * The brand holds T both ways (a function from T to T), so a token of one type is no token of another, wider or narrower: a
 * SettingsToken<WatchedWordsSettings> is no SettingsToken<unknown>, and a `Setting<unknown>` can carry none of the features' tokens.
 */
export type SettingsToken<T> = symbol & { readonly [settingsBrand]: (value: T) => T };

/** A value for a settings token: `useValue` of the token's type. */
export interface Setting<T = unknown> {
  provide: SettingsToken<T>;
  useValue: T;
}

/** The Setting an element of `settings` must be: the one of its own token's type (`never` for what has no settings token). */
type SettingOf<E> = E extends { provide: SettingsToken<infer T> } ? Setting<T> : never;

/**
 * The settings `S` (`CoreOptions.settings`), each element checked against its own token: `{ provide: WATCHED_WORDS_SETTINGS,
 * useValue: 42 }` does not compile. Until 2026-12-06 the option was a `Setting[]`, a `Setting<unknown>` each, which took any
 * value for any token. `S` is inferred where the settings are given (CoreModule.forRoot, AppModule.forRoot, createApp); an array
 * of several tokens' settings is checked element by element, whichever order they come in.
 */
export type Settings<S extends readonly unknown[]> = S & { readonly [K in keyof S]: SettingOf<S[K]> };

/** Every token `settingsToken` made: `CoreOptions.settings` refuses any other. */
const tokens = new Set<symbol>();

/** A new settings token, named `name` (as its Symbol's description). */
export function settingsToken<T>(name: string): SettingsToken<T> {
  const token = Symbol(name);
  tokens.add(token);
  return token as SettingsToken<T>;
}

/** Whether `token` was made by `settingsToken`. */
export function isSettingsToken(token: unknown): token is SettingsToken<unknown> {
  return typeof token === 'symbol' && tokens.has(token);
}
