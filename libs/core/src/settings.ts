/**
 * The brand only `settingsToken` puts on a token: not exported, so no other code can name it, and a plain `Symbol()` is
 * not a SettingsToken to the compiler (until 2026-12-06 the brand was an optional field any symbol had, and only
 * `CoreModule.forRoot`'s check at boot caught a plain one). A type only: no token carries it at run time.
 */
declare const settingsBrand: unique symbol;

/**
 * A token for a feature's optional settings (`settingsToken`): what the feature injects with `@Optional()`, its defaults applying
 * where nothing provides one (in production, nothing does). The only tokens `CoreOptions.settings` provides.
 */
export type SettingsToken<T> = symbol & { readonly [settingsBrand]: T };

/** A value for a settings token (`CoreOptions.settings`). */
export interface Setting<T = unknown> {
  provide: SettingsToken<T>;
  useValue: T;
}

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
