import { NestFactory } from '@nestjs/core';
import { ContentModule } from './content.module';
import { ContentRenderer, excerpt, RenderWork, htmlToText, sanitizeRendered, MAX_COLLECTED_MENTIONS, MAX_HTML_NESTING, QUOTE_SCAN_BUDGET } from './renderer';

const ID = '01a207d7-22e1-733a-9303-5a2047c59e37';
const ID2 = '0f7b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d';

/** Every tag in `html` with its attributes, entity-decoded (what a browser would see). */
function tags(html: string): { name: string; attrs: Record<string, string> }[] {
  const decode = (v: string) =>
    v
      .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
      .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  return [...html.matchAll(/<([a-z][a-z0-9]*)\b([^>]*)>/gi)].map((m) => ({
    name: m[1].toLowerCase(),
    attrs: Object.fromEntries([...m[2].matchAll(/([^\s=/]+)(?:="([^"]*)")?/g)].map((a) => [a[1].toLowerCase(), decode(a[2] ?? '')])),
  }));
}

/** How deep elements nest in `html` (void elements aside). */
function nesting(html: string): number {
  let depth = 0;
  let deepest = 0;
  for (const m of html.matchAll(/<(\/?)([a-z][a-z0-9]*)\b[^>]*>/gi)) {
    if (['br', 'hr', 'img'].includes(m[2].toLowerCase())) continue;
    depth += m[1] ? -1 : 1;
    deepest = Math.max(deepest, depth);
  }
  return deepest;
}

/** Fails if the HTML could run script: a dangerous tag, an event handler, a style, or a non-http(s)/mailto URL. */
function expectInert(html: string): void {
  for (const { name, attrs } of tags(html)) {
    expect(['script', 'style', 'iframe', 'object', 'embed', 'form', 'input', 'svg', 'math']).not.toContain(name);
    for (const [attr, value] of Object.entries(attrs)) {
      expect(attr).not.toMatch(/^on|^style$|^formaction$/);
      if (attr === 'href' || attr === 'src') {
        const url = value.replace(/[\u0000-\u0020]/g, '');
        expect(url).not.toMatch(/^[/\\]{2}/);
        const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url);
        if (scheme) expect(['http', 'https', 'mailto']).toContain(scheme[1].toLowerCase());
      }
    }
  }
}

describe('ContentRenderer', () => {
  const r = new ContentRenderer();
  const html = (md: string) => r.render(md).html;

  it('renders markdown', () => {
    expect(html('# Title\n\nSome **bold**, _em_ and ~~gone~~.\n\n1. one\n2. two\n\n---')).toBe(
      '<h1>Title</h1>\n<p>Some <strong>bold</strong>, <em>em</em> and <s>gone</s>.</p>\n<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n<hr />\n',
    );
    expect(html('3. three')).toBe('<ol start="3">\n<li>three</li>\n</ol>\n');
    expect(html('line one\nline two')).toBe('<p>line one\nline two</p>\n');
  });

  it("keeps a list's start as markdown writes it, from 0 to nine digits (CommonMark's bound)", () => {
    expect(html('0. zero')).toBe('<ol start="0">\n<li>zero</li>\n</ol>\n');
    expect(html('999999999. last')).toBe('<ol start="999999999">\n<li>last</li>\n</ol>\n');
  });

  it.each(['-1', '1e3', '0x10', '5px', ' 5', '5 ', '+5', '1.5', '', 'x', '1234567890', '99999999999999999999'])(
    'drops an imported list start that is no number markdown would write: %j',
    (start) => {
      expect(sanitizeRendered(`<ol start="${start}"><li>a</li></ol>`)).toBe('<ol><li>a</li></ol>');
    },
  );

  it('keeps an imported list start markdown could write, as the number it is', () => {
    expect(sanitizeRendered('<ol start="12"><li>a</li></ol>')).toBe('<ol start="12"><li>a</li></ol>');
    expect(sanitizeRendered('<ol start="007"><li>a</li></ol>')).toBe('<ol start="7"><li>a</li></ol>');
  });

  it('escapes raw HTML instead of passing it', () => {
    const out = html('<script>alert(1)</script>\n\n<iframe src="https://evil.example"></iframe> <b onclick="x()">b</b> <style>*{}</style>');
    expect(out).not.toMatch(/<(script|iframe|b|style)[\s>]/i);
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expectInert(out);
  });

  it.each([
    '[x](javascript:alert(1))',
    '[x](JAVASCRIPT:alert(1))',
    '[x](JaVaScRiPt:alert(1))',
    '[x](<javascript:alert(1)>)',
    '<javascript:alert(1)>',
    '[x][r]\n\n[r]: javascript:alert(1)',
    '[x](vbscript:msgbox(1))',
    '[x](data:text/html,<script>alert(1)</script>)',
    '[x](data:text/html;base64,PHNjcmlwdD4=)',
    '[x](jav&#x09;ascript:alert(1))',
    '[x](&#106;avascript:alert(1))',
    '[x](java&#x0A;script:alert(1))',
    '[x](java\u0000script:alert(1))',
    '[x](//evil.example/x)',
    '<a href="javascript:alert(1)">x</a>',
    '<img src=x onerror=alert(1)>',
    '![x](javascript:alert(1))',
    '![x](x" onerror="alert(1))',
    '[x](https://a.example "t\\" onmouseover=\\"alert(1)")',
    // Obfuscated schemes: entities, white space, control characters, case.
    '[x](JAVA\tSCRIPT:alert(1))',
    '[x](java&Tab;script:alert(1))',
    '[x](javascript&colon;alert(1))',
    '[x](&#x6A;&#x61;vascript:alert(1))',
    '[x](   javascript:alert(1))',
    '[x](<   javascript:alert(1)>)',
    '[x](\u0001javascript:alert(1))',
    '[x](\u00A0javascript:alert(1))',
    // Autolinks, reference links and images with the same schemes.
    '<vbscript:msgbox(1)>',
    '<data:text/html,x>',
    '<https://a.example" onmouseover="alert(1)>',
    '<mailto:javascript:alert(1)>',
    '![x][i]\n\n[i]: javascript:alert(1)',
    '![x][i]\n\n[i]: data:image/svg+xml,<svg onload=alert(1)>',
    '[![x](https://i.example/a.png)](javascript:alert(1))',
    '[x][r]\n\n[r]: <vbscript:msgbox(1)> "t"',
    // Protocol-relative, however written.
    '[x]( //evil.example)',
    '[x](/\\evil.example)',
    '[x](\\\\evil.example)',
    '![x](//evil.example/a.png)',
    '![x](\\\\evil.example/a.png)',
    // Raw HTML of every kind is text.
    '<svg onload=alert(1)><script>alert(1)</script></svg>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<img src="https://i.example/a.png" srcset="javascript:alert(1) 1x">',
    '<form><button formaction="javascript:alert(1)">x</button></form>',
    '<a href="https://e.example" target="_blank">x</a>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '`<img src=x onerror=alert(1)>` and `&lt;script&gt;`',
    '```html\n<script>alert(1)</script>\n```',
  ])('never produces script from %j', (md) => {
    const out = html(md);
    expectInert(out);
    expect(out).not.toMatch(/<script|<img[^>]*onerror/i);
  });

  // HTML the renderer did not make: the Stack Exchange importer passes a dump's through the allowlist alone.
  it.each([
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="java&#x0A;script:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="\u0000javascript:alert(1)">x</a>',
    '<a href="\u0001javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="//evil.example">x</a>',
    '<a href="\t//evil.example">x</a>',
    '<a href="/\\evil.example">x</a>',
    '<a href="\\\\evil.example">x</a>',
    '<img src="x" onerror="alert(1)">',
    '<img src="javascript:alert(1)">',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<img src="//evil.example/a.png">',
    '<img src="https://i.example/a.png" srcset="javascript:alert(1) 1x, //evil.example/b.png 2x">',
    '<svg><script>alert(1)</script></svg>',
    '<svg onload="alert(1)"><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    '<math href="javascript:alert(1)">x</math>',
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">x</button><input type="image" src="x" onerror="alert(1)"></form>',
    '<p style="background:url(javascript:alert(1))" onclick="alert(1)">x</p>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe><object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<a href="https://e.example" title="&quot;><script>alert(1)</script>">x</a>',
    '<base href="javascript:alert(1)//"><a href="x">x</a>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<table background="javascript:alert(1)"><tr><td background="javascript:alert(1)">x</td></tr></table>',
  ])('lets no script through the allowlist from HTML %j', (raw) => {
    const out = sanitizeRendered(raw);
    expectInert(out);
    expect(out).not.toMatch(/<(script|style|svg|math|iframe|object|embed|form|input|button|base|meta|noscript)\b|\son[a-z]+=|srcset|javascript:/i);
  });

  it('marks every external link of imported HTML nofollow ugc noopener, whatever rel or target it had', () => {
    expect(sanitizeRendered('<a href="https://e.example" target="_blank" rel="opener">x</a>')).toBe('<a href="https://e.example" rel="nofollow ugc noopener">x</a>');
    expect(sanitizeRendered('<a href="HTTP://E.EXAMPLE" REL="follow">x</a>')).toBe('<a href="HTTP://E.EXAMPLE" rel="nofollow ugc noopener">x</a>');
    expect(sanitizeRendered('<a href="mailto:a@e.example">x</a>')).toBe('<a href="mailto:a@e.example" rel="nofollow ugc noopener">x</a>');
    expect(sanitizeRendered('<a href="/t/1" rel="nofollow">x</a>')).toBe('<a href="/t/1">x</a>');
  });

  it('drops images with data:, protocol-relative or other non-http URLs', () => {
    for (const src of ['data:image/svg+xml;base64,PHN2Zz4=', 'data:image/png;base64,AAAA', '//evil.example/a.png', 'mailto:a@b.example']) {
      const out = html(`![pic](${src})`);
      expect(out).not.toContain('<img');
      expectInert(out);
    }
    expect(html('![pic](https://cdn.example/a.png "T")')).toBe(
      '<p><img src="https://cdn.example/a.png" alt="pic" title="T" referrerpolicy="no-referrer" loading="lazy" /></p>\n',
    );
    expect(html('![pic](/uploads/a.png)')).toBe('<p><img src="/uploads/a.png" alt="pic" /></p>\n');
  });

  it("asks readers' browsers to send another host no referer for an external image, and to load it only when near", () => {
    expect(html('![pic](HTTP://CDN.EXAMPLE/a.png)')).toBe('<p><img src="HTTP://CDN.EXAMPLE/a.png" alt="pic" referrerpolicy="no-referrer" loading="lazy" /></p>\n');
    // Imported HTML cannot choose otherwise: what it says is replaced for an external image, dropped for one of this site.
    expect(sanitizeRendered('<img src="https://cdn.example/a.png" referrerpolicy="unsafe-url" loading="eager">')).toBe(
      '<img src="https://cdn.example/a.png" referrerpolicy="no-referrer" loading="lazy" />',
    );
    expect(sanitizeRendered('<img src="/uploads/a.png" referrerpolicy="unsafe-url" loading="eager">')).toBe('<img src="/uploads/a.png" />');
  });

  it('marks external links nofollow ugc noopener, and leaves relative links alone', () => {
    expect(html('[a](https://example.com/x "T")')).toBe('<p><a href="https://example.com/x" title="T" rel="nofollow ugc noopener">a</a></p>\n');
    expect(html('[a](HTTP://example.com)')).toContain('rel="nofollow ugc noopener"');
    // linkify-it's defaults: URLs with a scheme and e-mail addresses, not bare domains.
    expect(html('https://example.com and www.example.org')).toBe(
      '<p><a href="https://example.com" rel="nofollow ugc noopener">https://example.com</a> and www.example.org</p>\n',
    );
    expect(html('[b](/t/123)')).toBe('<p><a href="/t/123">b</a></p>\n');
    expect(html('[c](#reply-2)')).toBe('<p><a href="#reply-2">c</a></p>\n');
    // Autolinks, e-mail addresses and reference links are external links too.
    expect(html('<https://e.example/a>')).toBe('<p><a href="https://e.example/a" rel="nofollow ugc noopener">https://e.example/a</a></p>\n');
    expect(html('a@e.example')).toBe('<p><a href="mailto:a@e.example" rel="nofollow ugc noopener">a@e.example</a></p>\n');
    expect(html('[d][r]\n\n[r]: https://e.example/r "R"')).toBe('<p><a href="https://e.example/r" title="R" rel="nofollow ugc noopener">d</a></p>\n');
    // Protocol-relative and backslashed URLs reach other hosts: never same-site, never an href a browser takes to one.
    for (const md of ['[e](//evil.example)', '[e](/\\evil.example)', '[e](\\\\evil.example)']) {
      expect(html(md)).not.toMatch(/href="[\/\\]{2}|href="\/\\/);
    }
  });

  it('finds mentions, lower-cased and unique, and renders them as profile links', () => {
    const res = r.render('Hi @Alice, (@alice) and @bob-2! @BOB_2 too; thanks @carol.');
    expect(res.mentions).toEqual(['alice', 'bob-2', 'bob_2', 'carol']);
    expect(res.html).toContain('Hi <a class="mention" href="/u/alice" data-handle="alice">@Alice</a>, (<a class="mention" href="/u/alice" data-handle="alice">@alice</a>)');
    expect(res.html).toContain('thanks <a class="mention" href="/u/carol" data-handle="carol">@carol</a>.</p>');
    expect(r.render('# @dave\n\n- **@erin**').mentions).toEqual(['dave', 'erin']);
  });

  it('collects at most MAX_COLLECTED_MENTIONS distinct handles from a body full of them', () => {
    const handles = Array.from({ length: 5000 }, (_, i) => `user${String(i).padStart(4, '0')}`);
    const res = r.render(handles.map((h) => `@${h}`).join(' '));
    expect(res.mentions).toEqual(handles.slice(0, MAX_COLLECTED_MENTIONS));
    expect(r.render('@same @same @SAME').mentions).toEqual(['same']);
  });

  it('finds a mention right after a word of a script written without spaces, and none with a mark on its last letter', () => {
    expect(r.render('こんにちは@alice、你好@bob_2').mentions).toEqual(['alice', 'bob_2']);
    expect(r.render('田中@example.com').mentions).toEqual([]);
    const marked = r.render('hi @alice\u0301 and @carol');
    expect(marked.mentions).toEqual(['carol']);
    expect(marked.html).not.toContain('data-handle="alice"');
  });

  it('does not find mentions in code, links, e-mail addresses or other @ words', () => {
    const res = r.render(
      [
        '`@incode` and ``` @alsocode ```',
        '```\n@fenced\n```',
        '    @indented',
        '[@linked](https://e.example) [see @linked2](/t/1) https://x.example/@inurl',
        'mail a@bob.com or alice.smith+x@example.org, user@host, josé@host',
        '@ab @this_handle_is_much_longer_than_30 @nestjs/common @site.example @me@social.example',
        '![@inalt](https://i.example/a.png)',
      ].join('\n\n'),
    );
    expect(res.mentions).toEqual([]);
    expect(res.html).not.toContain('class="mention"');
    expect(res.html).toContain('<code>@incode</code>');
    expect(res.html).toContain('<pre><code>@fenced\n</code></pre>');
  });

  it('renders post quotes with a reference and collects their ids', () => {
    const res = r.render(`Before\n[quote post=${ID.toUpperCase()}]\nquoted **text** by @zoe\n\n- item\n[/quote]\n\nmy answer, see [quote post=${ID}] inline`);
    expect(res.quotedPostIds).toEqual([ID]);
    // A mention inside the quote is linked but not collected: its author's, already told.
    expect(res.mentions).toEqual([]);
    expect(r.render(`[quote post=${ID}]\n@zoe said\n[/quote]\n\nand @yann agrees, @zoe`).mentions).toEqual(['yann', 'zoe']);
    expect(res.html).toBe(
      '<p>Before</p>\n' +
        `<blockquote class="quote" data-post-id="${ID}">\n` +
        '<p>quoted <strong>text</strong> by <a class="mention" href="/u/zoe" data-handle="zoe">@zoe</a></p>\n' +
        '<ul>\n<li>item</li>\n</ul>\n' +
        '</blockquote>\n' +
        `<p>my answer, see [quote post=${ID}] inline</p>\n`,
    );
  });

  it('pairs nested quotes and ignores closing lines inside code', () => {
    const res = r.render(`[quote post=${ID}]\nouter\n[quote post=${ID2}]\ninner\n[/quote]\n\`\`\`\n[/quote]\n\`\`\`\n[/quote]\nafter`);
    expect(res.quotedPostIds).toEqual([ID, ID2]);
    expect(res.html).toBe(
      `<blockquote class="quote" data-post-id="${ID}">\n<p>outer</p>\n` +
        `<blockquote class="quote" data-post-id="${ID2}">\n<p>inner</p>\n</blockquote>\n` +
        '<pre><code>[/quote]\n</code></pre>\n' +
        '</blockquote>\n<p>after</p>\n',
    );
    // Inside fenced code a quote is just code.
    expect(r.render(`\`\`\`\n[quote post=${ID}]\nx\n[/quote]\n\`\`\``).quotedPostIds).toEqual([]);
  });

  it('leaves a quote with a malformed id, or without a closing line, as text', () => {
    // The last two are shaped as UUIDs but of version 0 and of variant c: ids no argument takes (isUuid, ids.ts), nor a quote.
    for (const md of ['[quote post=not-an-id]\nx\n[/quote]', `[quote post=${ID}x]\nx\n[/quote]`, '[quote post=12345678-1234-0234-8234-123456789012]\nx\n[/quote]', '[quote post=12345678-1234-7234-c234-123456789012]\nx\n[/quote]', `[quote post="${ID}"]\nx\n[/quote]`, `[quote post=${ID}]\nnever closed`]) {
      const res = r.render(md);
      expect(res.quotedPostIds).toEqual([]);
      expect(res.html).not.toContain('<blockquote');
      expect(res.html).toContain('[quote post=');
    }
  });

  it('scans a bounded number of lines for closing lines, however many quote openings stay unclosed', () => {
    // Each opening line scans ahead for its [/quote]. Unbounded, 2,000 unclosed openings cost about 2,000²/2 lines
    // (each also scanned again as a paragraph's possible end), and twice as many four times that.
    const work: RenderWork = { quoteLinesScanned: 0 };
    const counted = new ContentRenderer(work);
    /** What `counted` renders of `markdown`, with the lines its quote rule scanned doing so. */
    const renderCountingWork = (markdown: string) => {
      const before = work.quoteLinesScanned;
      const rendered = counted.render(markdown);
      return { rendered, quoteLinesScanned: work.quoteLinesScanned - before };
    };
    const unclosed = (n: number) => renderCountingWork(`[quote post=${ID}]\n`.repeat(n) + '[/quote]\n');
    const some = unclosed(2000);
    const twice = unclosed(4000);
    expect(some.quoteLinesScanned).toBeLessThanOrEqual(QUOTE_SCAN_BUDGET);
    expect(twice.quoteLinesScanned).toBeLessThanOrEqual(2 * some.quoteLinesScanned);
    for (const { rendered } of [some, twice]) expect(rendered.html).toContain(`[quote post=${ID}]`);
    // A quote that closes is scanned once to its closing line: a post comes nowhere near the budget.
    const closed = renderCountingWork(`[quote post=${ID}]\n${'a line\n\n'.repeat(1000)}[/quote]\nafter`);
    expect(closed.rendered.quotedPostIds).toEqual([ID]);
    expect(closed.quoteLinesScanned).toBe(2001);
  });

  it('bounds how deep elements nest, whatever the markdown or HTML, keeping the text', () => {
    // Emphasis is not held to markdown-it's maxNesting (100, for blocks): 5,000 asterisks each side nested 2,501 elements.
    const emphasis = html(`${'*'.repeat(5000)}deep${'*'.repeat(5000)}`);
    expect(nesting(emphasis)).toBeLessThanOrEqual(MAX_HTML_NESTING);
    expect(emphasis).toContain('deep');
    for (const tag of ['blockquote', 'em', 'ul><li']) {
      const out = sanitizeRendered(`<${tag}>`.repeat(5000) + 'deep');
      expect(nesting(out)).toBeLessThanOrEqual(MAX_HTML_NESTING);
      expect(out).toContain('deep');
    }
    // Nesting a document plausibly holds stays.
    expect(nesting(html(`${'> '.repeat(30)}**_x_**`))).toBe(33);
  });

  it("keeps a mention's and a quote's own attributes only as the renderer makes them, not as HTML forges them", () => {
    // As rendered, they pass the allowlist unchanged (stored HTML re-sanitized, say).
    const made = html(`@alice\n\n[quote post=${ID}]\nq\n[/quote]`);
    expect(sanitizeRendered(made)).toBe(made);
    // Imported HTML (the Stack Exchange importer sanitizes dump HTML with this allowlist alone) cannot dress a link as a mention…
    expect(sanitizeRendered('<a class="mention" data-handle="admin" href="https://evil.example/login">@admin</a>')).toBe(
      '<a href="https://evil.example/login" rel="nofollow ugc noopener">@admin</a>',
    );
    expect(sanitizeRendered('<a class="mention" data-handle="admin" href="/u/mallory">@admin</a>')).toBe('<a href="/u/mallory">@admin</a>');
    expect(sanitizeRendered('<a class="mention" data-handle="x&quot; onclick=&quot;alert(1)" href="/u/x&quot; onclick=&quot;alert(1)">@x</a>')).not.toMatch(/mention|data-handle/);
    expect(sanitizeRendered('<a data-handle="admin">x</a>')).toBe('<a>x</a>');
    // …nor a blockquote as a quote of something that is no post id.
    for (const id of ['javascript:alert(1)', '../../admin', `${ID} onmouseover=x`, '', ID.toUpperCase()]) {
      expect(sanitizeRendered(`<blockquote class="quote" data-post-id="${id}"><p>q</p></blockquote>`)).toBe('<blockquote><p>q</p></blockquote>');
    }
    expect(sanitizeRendered('<blockquote class="quote"><p>q</p></blockquote>')).toBe('<blockquote><p>q</p></blockquote>');
  });

  it('keeps code language classes but nothing else in class attributes', () => {
    expect(html('```js\nx\n```')).toBe('<pre><code class="language-js">x\n</code></pre>\n');
    expect(html('```TypeScript {1,3}\nx\n```')).toContain('<code class="language-typescript">');
    expect(html('```c++\nx\n```')).toContain('<pre><code>x');
    for (const md of ['```js" onmouseover="x\nx\n```', '```js&quot; onmouseover=&quot;x\nx\n```', '```language-x onerror\nx\n```']) {
      const out = html(md);
      expectInert(out);
      expect(out).not.toMatch(/onmouseover|onerror|&quot;/);
    }
    // The allowlist itself filters class by class, whatever produced the HTML.
    expect(sanitizeRendered('<code class="language-x onerror">x</code>')).toBe('<code class="language-x">x</code>');
    expect(sanitizeRendered('<code class="language-X&quot;">x</code><p class="a" style="color:red" onclick="x()">p</p>')).toBe('<code>x</code><p>p</p>');
    expect(sanitizeRendered('<a href="https://e.example" target="_blank" rel="opener" class="evil">x</a>')).toBe('<a href="https://e.example" rel="nofollow ugc noopener">x</a>');
    expect(sanitizeRendered('<a href="/u/ann" target="_blank" rel="opener" class="mention evil" data-handle="ann">x</a>')).toBe(
      '<a href="/u/ann" class="mention" data-handle="ann">x</a>',
    );
  });

  it('renders GFM tables without style attributes', () => {
    expect(html('| a | b |\n|--:|:-:|\n| 1 | 2 |')).toBe(
      '<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>1</td>\n<td>2</td>\n</tr>\n</tbody>\n</table>\n',
    );
  });

  it('leaves control characters out of the HTML, which forbids them in text (tabs and line breaks aside)', () => {
    const out = html('one\u0001two\u0002 three\u000Bfour\u000Cfive\u001B[31mred\u007F\u0085six\u009F `co\u0007de`\n\n```\nblock\u0008\n```');
    expect(out).not.toMatch(/[\u0001-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/);
    expect(out).toBe('<p>onetwo three four five[31mredsix <code>code</code></p>\n<pre><code>block\n</code></pre>\n');
    expect(excerpt('a\u0001b\u000Cc')).toBe('ab c');
  });

  it('counts links and images, not mentions', () => {
    expect(r.render('[a](https://a.example) and https://b.example and <https://c.example> and a@mail.example, @someone').links).toBe(4);
    expect(r.render('![one](https://a.example/1.png) ![two](https://a.example/2.png)\n\n[![linked](https://a.example/3.png)](https://a.example)').links).toBe(4);
    expect(r.render('no links here, @someone').links).toBe(0);
  });

  it('is provided by ContentModule', async () => {
    const app = await NestFactory.createApplicationContext(ContentModule, { logger: false });
    try {
      expect(app.get(ContentRenderer).render('**x**').html).toBe('<p><strong>x</strong></p>\n');
    } finally {
      await app.close();
    }
  });
});

describe('excerpt', () => {
  it('gives the plain text, whitespace collapsed', () => {
    expect(excerpt('# Title\n\nSome **bold** & <text>, `code` and @Alice\n\n- a\n- b')).toBe('Title Some bold & <text>, code and @Alice a b');
    expect(excerpt('&amp;lt; stays literal')).toBe('&lt; stays literal');
  });

  it('cuts to max characters with an ellipsis', () => {
    expect(excerpt('word '.repeat(100))).toHaveLength(200);
    const short = excerpt('word '.repeat(100), 20);
    expect(short).toBe('word word word word…');
    expect(excerpt('abc', 3)).toBe('abc');
    expect(excerpt('aaaaaaa😀b', 9)).toBe('aaaaaaa…');
  });
});

describe('htmlToText', () => {
  it('keeps words of separate blocks apart and decodes entities', () => {
    expect(htmlToText('<p>Tom &amp; Jerry</p><p>second<br>line</p><ul><li>a</li><li>b</li></ul>')).toBe('Tom & Jerry second line a b');
  });

  it('drops tags and their attributes, keeping text only', () => {
    expect(htmlToText('<a href="https://x.example" title="secret">link</a> <code>&lt;b&gt;</code>')).toBe('link <b>');
  });
});
