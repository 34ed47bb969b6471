import { AppConfig } from './config/config';
import { CoreModule } from './core.module';
import { UnitOfWork } from './database/unit-of-work';
import { Setting, SettingsToken, settingsToken } from './settings';

describe('CoreModule.forRoot', () => {
  const config = new AppConfig();

  it("refuses, in `settings`, a provider for any token but a feature's settings (AppConfig, UnitOfWork): it would replace the core's own", () => {
    for (const provide of [AppConfig, UnitOfWork, 'AppConfig', Symbol('AppConfig')]) {
      expect(() => CoreModule.forRoot({ config, databaseUrl: 'postgres://nowhere/none', settings: [{ provide, useValue: {} } as never] })).toThrow(
        /settings token/,
      );
    }
  });

  it('types a plain Symbol as no settings token, so `settings` takes none at compile time (tsc -p tsconfig.test.json checks these lines)', () => {
    // @ts-expect-error a plain Symbol is no settings token: only settingsToken makes one
    const plain: SettingsToken<{ limit: number }> = Symbol('Example');
    // @ts-expect-error nor is one a Setting's token
    const setting: Setting = { provide: Symbol('Example'), useValue: {} };
    expect(() => CoreModule.forRoot({ config, databaseUrl: 'postgres://nowhere/none', settings: [setting, { provide: plain, useValue: { limit: 1 } }] })).toThrow(/settings token/);
    // What settingsToken makes is one, its value's type kept.
    const made: SettingsToken<{ limit: number }> = settingsToken<{ limit: number }>('Example');
    const value: Setting<{ limit: number }> = { provide: made, useValue: { limit: 1 } };
    expect(CoreModule.forRoot({ config, databaseUrl: 'postgres://nowhere/none', settings: [value] }).exports).toContain(made);
  });

  it("types each setting's value by its own token's type, so a value of another type does not compile (tsc -p tsconfig.test.json checks these lines)", () => {
    const databaseUrl = 'postgres://nowhere/none';
    const limits = settingsToken<{ limit: number }>('Limits');
    const clock = settingsToken<{ now(): number }>('Clock');
    // Until 2026-12-06 `settings` was a Setting[] (a Setting<unknown> each), which took any value for any token.
    // @ts-expect-error 42 is no { limit: number }
    CoreModule.forRoot({ config, databaseUrl, settings: [{ provide: limits, useValue: 42 }] });
    // @ts-expect-error each element is checked against its own token, whatever the others' types
    CoreModule.forRoot({ config, databaseUrl, settings: [{ provide: clock, useValue: { now: () => 1 } }, { provide: limits, useValue: { now: () => 1 } }] });
    // An array built first, as the test app builds its settings: its elements' types are a union, each checked.
    const swapped = [{ provide: clock, useValue: { limit: 1 } }, { provide: limits, useValue: { now: () => 1 } }];
    // @ts-expect-error the clock's token given the limits' value, and the limits' the clock's
    CoreModule.forRoot({ config, databaseUrl, settings: swapped });
    // @ts-expect-error nor does a Setting<unknown> carry a token of another type, to be given any value
    const loose: Setting = { provide: limits, useValue: 42 };
    expect(loose.provide).toBe(limits);
    // @ts-expect-error nor is a token of a wider type one of a narrower (the brand holds its type both ways, not only as a value's)
    const narrowed: SettingsToken<{ limit: number }> = settingsToken<unknown>('Wide');
    expect(typeof narrowed).toBe('symbol');
    // What is right compiles: several tokens, each given a value of its own type, in any order.
    const right = [{ provide: clock, useValue: { now: () => 1 } }, { provide: limits, useValue: { limit: 1 } }];
    expect(CoreModule.forRoot({ config, databaseUrl, settings: right }).exports).toEqual(expect.arrayContaining([clock, limits]));
    expect(CoreModule.forRoot({ config, databaseUrl, settings: [{ provide: limits, useValue: { limit: 2 } }] }).exports).toContain(limits);
  });

  it('refuses a setting that is not exactly { provide, useValue } (a useClass, useFactory, useExisting or any other key cast in with `as`): Nest would take it unchecked', () => {
    const token = settingsToken<{ limit: number }>('Example');
    const databaseUrl = 'postgres://nowhere/none';
    const odd: object[] = [
      { provide: token, useValue: { limit: 1 }, useClass: class Other {} },
      { provide: token, useValue: { limit: 1 }, useFactory: () => ({ limit: 2 }) },
      { provide: token, useFactory: () => ({ limit: 2 }) },
      { provide: token, useClass: class Other {} },
      { provide: token, useExisting: AppConfig },
      { provide: token, useValue: { limit: 1 }, scope: 2 },
      { provide: token },
    ];
    for (const setting of odd) {
      expect(() => CoreModule.forRoot({ config, databaseUrl, settings: [setting as never] })).toThrow(/exactly \{ provide, useValue \}/);
    }
    // The same token given its value alone is taken.
    expect(CoreModule.forRoot({ config, databaseUrl, settings: [{ provide: token, useValue: { limit: 1 } }] }).exports).toContain(token);
  });

  it('provides and exports a settings token given its value', () => {
    const token = settingsToken<{ limit: number }>('Example');
    const value = { limit: 1 };
    const mod = CoreModule.forRoot({ config, databaseUrl: 'postgres://nowhere/none', settings: [{ provide: token, useValue: value }] });
    expect(mod.providers).toContainEqual({ provide: token, useValue: value });
    expect(mod.exports).toContain(token);
  });
});
