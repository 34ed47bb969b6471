import { ContentRenderer, excerpt } from './renderer';

describe('ContentRenderer', () => {
  const r = new ContentRenderer();
  const html = (md: string) => r.render(md).html;

  it('renders markdown', () => {
    expect(html('# Title\n\nSome **bold** and _em_.')).toBe('<h1>Title</h1>\n<p>Some <strong>bold</strong> and <em>em</em>.</p>\n');
  });

  it('escapes raw HTML instead of passing it', () => {
    const out = html('<script>alert(1)</script><iframe src="https://evil.example"></iframe><b onclick="x()">b</b>');
    expect(out).not.toMatch(/<(script|iframe|b)[\s>]/);
    expect(out).toContain('&lt;script&gt;');
  });

  it.each([
    '[x](javascript:alert(1))',
    '[x](JaVaScRiPt:alert(1))',
    '[x](vbscript:msgbox(1))',
    '[x](data:text/html;base64,PHNjcmlwdD4=)',
    '[x](jav&#x09;ascript:alert(1))',
    '[x](&#106;avascript:alert(1))',
    '<a href="javascript:alert(1)">x</a>',
    '![x](data:image/svg+xml;base64,PHN2Zz4=)',
    '![x](javascript:alert(1))',
    '<img src=x onerror=alert(1)>',
  ])('never produces an executable URL or handler from %s', (md) => {
    // Only real tags matter: escaped text such as &lt;a href="javascript:..."&gt; is inert.
    const tags = html(md).match(/<(a|img)\s[^>]*>/g) ?? [];
    for (const tag of tags) {
      expect(tag).not.toMatch(/\s(href|src)="\s*(javascript|vbscript|data):/i);
      expect(tag).not.toMatch(/\son\w+=/i);
    }
  });

  it('marks external links nofollow ugc noopener, and leaves relative links alone', () => {
    expect(html('[a](https://example.com/x)')).toBe('<p><a href="https://example.com/x" rel="nofollow ugc noopener">a</a></p>\n');
    expect(html('[b](/t/123)')).toBe('<p><a href="/t/123">b</a></p>\n');
    expect(html('https://example.com')).toContain('rel="nofollow ugc noopener"');
  });

  it('finds mentions, lower-cased and unique, in text only', () => {
    const res = r.render('Hi @Alice, @alice and @bob-2! `@incode` a@mail.example @x [@linked](https://e.example) @toolong_handle_over_thirty_chars');
    expect(res.mentions).toEqual(['alice', 'bob-2']);
    expect(res.html).toContain('<a href="/u/alice" class="mention" data-handle="alice">@Alice</a>');
    expect(res.html).toContain('<code>@incode</code>');
  });

  it('ignores mentions inside fenced code', () => {
    expect(r.render('```\n@carol\n```').mentions).toEqual([]);
  });

  it('renders post quotes with a reference and collects their ids', () => {
    const id = '01a207d7-22e1-733a-9303-5a2047c59e37';
    const res = r.render(`[quote post=${id.toUpperCase()}]\nquoted **text**\n[/quote]\n\nmy answer`);
    expect(res.quotedPostIds).toEqual([id]);
    expect(res.html).toContain(`<blockquote class="quote" data-post-id="${id}">`);
    expect(res.html).toContain('<strong>text</strong>');
  });

  it('leaves a quote with a malformed id as text', () => {
    const res = r.render('[quote post=not-an-id]\nx\n[/quote]');
    expect(res.quotedPostIds).toEqual([]);
    expect(res.html).not.toContain('data-post-id');
  });

  it('keeps code language classes but nothing else in class attributes', () => {
    expect(html('```js\nx\n```')).toContain('<code class="language-js">');
    expect(html('```js" onmouseover="x\nx\n```')).not.toMatch(/onmouseover="/);
  });

  it('renders tables and counts links', () => {
    expect(html('| a | b |\n|---|---|\n| 1 | 2 |')).toContain('<table>');
    expect(r.render('[a](https://a.example) and https://b.example and @someone').links).toBe(2);
  });

  it('makes plain-text excerpts', () => {
    expect(excerpt(r, '# Title\n\nSome **bold** & text')).toBe('Title Some bold & text');
    expect(excerpt(r, 'word '.repeat(100), 20)).toHaveLength(20);
  });
});
