import { AppConfig } from './config/config';
import { CoreModule } from './core.module';
import { UnitOfWork } from './database/unit-of-work';
import { settingsToken } from './settings';

describe('CoreModule.forRoot', () => {
  const config = new AppConfig();

  it("refuses, in `settings`, a provider for any token but a feature's settings (AppConfig, UnitOfWork): it would replace the core's own", () => {
    for (const provide of [AppConfig, UnitOfWork, 'AppConfig', Symbol('AppConfig')]) {
      expect(() => CoreModule.forRoot({ config, databaseUrl: 'postgres://nowhere/none', settings: [{ provide, useValue: {} } as never] })).toThrow(
        /settings token/,
      );
    }
  });

  it('provides and exports a settings token given its value', () => {
    const token = settingsToken<{ limit: number }>('Example');
    const value = { limit: 1 };
    const mod = CoreModule.forRoot({ config, databaseUrl: 'postgres://nowhere/none', settings: [{ provide: token, useValue: value }] });
    expect(mod.providers).toContainEqual({ provide: token, useValue: value });
    expect(mod.exports).toContain(token);
  });
});
