import { ConfigError, loadConfig } from './config';

describe('PUBLIC_URL (links in e-mails, and the domain of the Message-IDs Parvis gives)', () => {
  it('takes an http(s) URL, with a port, a path or an IPv6 host', () => {
    for (const url of ['https://forum.example.org/', 'http://localhost:3000', 'https://example.org/parvis', 'http://[::1]:3000']) {
      expect(loadConfig({ PUBLIC_URL: url }).publicUrl).toBe(url.replace(/\/$/, ''));
    }
  });

  it('refuses, when the configuration loads, one that starts as a URL but is none (no host, a space in it)', () => {
    for (const url of ['https://', 'http://exa mple.org', 'https://[forum', 'ftp://example.org']) {
      expect(() => loadConfig({ PUBLIC_URL: url })).toThrow(ConfigError);
      expect(() => loadConfig({ PUBLIC_URL: url })).toThrow(/PUBLIC_URL/);
    }
  });
});
