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
    expect(() => CoreModule.forRoot({ config, databaseUrl: 'postgres://nowhere/none', settings: [setting, { provide: plain, useValue: {} }] })).toThrow(/settings token/);
    // What settingsToken makes is one, its value's type kept.
    const made: SettingsToken<{ limit: number }> = settingsToken<{ limit: number }>('Example');
    const value: Setting<{ limit: number }> = { provide: made, useValue: { limit: 1 } };
    expect(CoreModule.forRoot({ config, databaseUrl: 'postgres://nowhere/none', settings: [value] }).exports).toContain(made);
  });

  it('provides and exports a settings token given its value', () => {
    const token = settingsToken<{ limit: number }>('Example');
    const value = { limit: 1 };
    const mod = CoreModule.forRoot({ config, databaseUrl: 'postgres://nowhere/none', settings: [{ provide: token, useValue: value }] });
    expect(mod.providers).toContainEqual({ provide: token, useValue: value });
    expect(mod.exports).toContain(token);
  });
});
