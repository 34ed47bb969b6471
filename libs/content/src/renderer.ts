import { Inject, Injectable, Optional } from '@nestjs/common';
import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';
import { HANDLE_CHARS, HANDLE_MAX, HANDLE_MIN, isStoredHandle } from '../../core/src/handles';
import { isUuid } from '../../core/src/ids';

export interface RenderedContent {
  /** Safe HTML: markdown rendered, then passed through the sanitize-html allowlist. */
  html: string;
  /** Lower-cased handles mentioned as @handle (unique, in order of appearance). */
  mentions: string[];
  /** Lower-cased ids of posts quoted with a `[quote post=<id>]` block (unique, in order). */
  quotedPostIds: string[];
  /** How many links the author wrote, autolinked URLs, e-mail addresses and images included (mentions excluded). */
  links: number;
}

type StateBlock = MarkdownIt.StateBlock;
type StateCore = MarkdownIt.StateCore;
type Token = MarkdownIt.Token;

/** What the rules collect while one document is parsed. */
type Collected = Omit<RenderedContent, 'html'>;

interface ParseState {
  found: Collected;
  /** Lines the quote rule has visited looking for `[/quote]`, held to QUOTE_SCAN_BUDGET. */
  quoteLinesScanned: number;
}

/**
 * Lines the quote rule may visit, in all, looking for `[/quote]` in one document. Each opening
 * line scans ahead, so thousands of unclosed ones would cost quadratic time; past the budget,
 * further openings stay text. Real posts (at most 100,000 characters) come nowhere near it.
 */
export const QUOTE_SCAN_BUDGET = 200_000;

// Kept under a symbol in markdown-it's env so it cannot collide with markdown-it's own keys (references).
const PARSE_STATE = Symbol('parvis.content.parse-state');

function parseState(env: MarkdownIt.Env): ParseState {
  return env[PARSE_STATE] as ParseState;
}

/** Any `[quote post=…]` line, valid id or not: used to pair nested opening and closing lines. */
const QUOTE_OPEN_RE = /^\[quote post=([^\]\s]*)\]$/i;
const QUOTE_CLOSE_RE = /^\[\/quote\]$/i;
const FENCE_OPEN_RE = /^(`{3,}|~{3,})(.*)$/;

/**
 * @handle, not preceded by a character that would make it part of a word or an e-mail
 * address (a letter of a script written without spaces may precede it: `こんにちは@alice`),
 * and not followed by more handle characters, a mark that would sit on its last letter
 * (`@alice\u0301` is no @alice), a domain (`@bob.com`), another `@`, or a `/` (so npm
 * scopes like `@nestjs/common` written in prose do not ping a user).
 */
const MENTION_RE = new RegExp(
  `(^|[^\\p{L}\\p{N}\\p{M}_.+\\-@]|[\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Thai}])@([${HANDLE_CHARS}]{${HANDLE_MIN},${HANDLE_MAX}})(?![@/\\p{M}${HANDLE_CHARS}]|\\.[\\p{L}\\p{N}])`,
  'gu',
);

/** Code languages become `class="language-…"`; anything else is dropped rather than escaped. */
const CODE_LANG_RE = /^[a-z0-9-]+$/;

const REL_EXTERNAL = 'nofollow ugc noopener';

/**
 * Links to this site: path-absolute (`/t/1`), or only a fragment or query. `//host` and
 * `/\host` are excluded because browsers resolve both to another host.
 */
function isSameSite(href: string): boolean {
  return /^\/(?![/\\])/.test(href) || /^[#?]/.test(href);
}

/**
 * A mention link as `mentionsRule` makes it: class `mention`, its handle in `data-handle` and its
 * profile as `href`. HTML that did not come from `render` (a Stack Exchange dump's) could otherwise
 * dress any link as one (a mention of @admin leading off the site), and readers' clients take
 * `data-handle` and `data-post-id` for what they say.
 */
function isMention(attribs: Record<string, string>): boolean {
  const handle = attribs['data-handle'];
  return handle !== undefined && isStoredHandle(handle) && attribs.href === `/u/${handle}` && hasClass(attribs.class, 'mention');
}

/** A quote as `quoteBlock` makes it: class `quote` and the quoted post's id, lower-cased, in `data-post-id`. */
function isPostQuote(attribs: Record<string, string>): boolean {
  const id = attribs['data-post-id'];
  return id !== undefined && isUuid(id) && id === id.toLowerCase() && hasClass(attribs.class, 'quote');
}

function hasClass(classes: string | undefined, name: string): boolean {
  return classes !== undefined && classes.split(/\s+/).includes(name);
}

/** A class attribute without one class. */
function withoutClass(classes: string, name: string): string {
  return classes
    .split(/\s+/)
    .filter((c) => c !== '' && c !== name)
    .join(' ');
}

/**
 * How deep elements may nest in stored HTML; deeper ones are dropped, their text kept. markdown-it
 * holds blocks to its maxNesting (100) but not emphasis (`*****…x…*****` nests one element per two
 * asterisks), and imported HTML has no bound at all: thousands of levels overflowed the stack of
 * what walks the tree (turndown, on import) and of browsers' layout.
 */
export const MAX_HTML_NESTING = 100;

/**
 * A list's start as markdown writes one (`7. seven`): at most nine digits, CommonMark's bound (a
 * longer number is no list item), 0 included. HTML that did not come from `render` can say
 * anything there (`-1`, `1e3`, a number past what browsers count in); only this is kept, as the
 * number it is.
 */
const LIST_START_RE = /^[0-9]{1,9}$/;

/**
 * What an image from another host is given: no referer (that host learns no page a reader was on)
 * and a load only when it nears the screen (a page of a hundred images does not call them all).
 * The reader's IP address still reaches that host: copying the image here or an image proxy would
 * hide it, and neither is built (docs/architecture.md, Forums).
 */
const EXTERNAL_IMAGE = { referrerpolicy: 'no-referrer', loading: 'lazy' } as const;

/**
 * The HTML allowlist. Everything not named here is dropped: no `style`, no `on*`, no
 * `target`, and only http(s)/mailto URLs (http(s) for images).
 */
const SANITIZE_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'code', 'em', 'strong', 'del', 's',
    'ul', 'ol', 'li', 'a', 'img', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel', 'class', 'data-handle'],
    img: ['src', 'alt', 'title', ...Object.keys(EXTERNAL_IMAGE)],
    code: ['class'],
    ol: ['start'],
    blockquote: ['class', 'data-post-id'],
  },
  // Classes are filtered one by one, so `class="language-x onerror"` keeps only `language-x`.
  allowedClasses: { code: [/^language-[a-z0-9-]+$/], a: ['mention'], blockquote: ['quote'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  // Elements (any, allowed or not) past this depth are dropped as disallowed ones are: their text stays.
  nestingLimit: MAX_HTML_NESTING,
  // An image whose URL was refused would only render as a broken-image icon.
  exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
  transformTags: {
    a: (tagName, attribs) => {
      // markdown-it never emits rel (raw HTML is off), but decide it here so nothing upstream can.
      const { rel: _ignored, ...rest } = attribs;
      if (!isMention(rest)) {
        delete rest['data-handle'];
        if (rest.class !== undefined) rest.class = withoutClass(rest.class, 'mention');
      }
      const href = rest.href;
      return { tagName, attribs: href === undefined || isSameSite(href) ? rest : { ...rest, rel: REL_EXTERNAL } };
    },
    ol: (tagName, attribs) => {
      const { start, ...rest } = attribs;
      return { tagName, attribs: start !== undefined && LIST_START_RE.test(start) ? { ...rest, start: String(Number(start)) } : rest };
    },
    img: (tagName, attribs) => {
      // Decided here, never taken from upstream (imported HTML could ask for `unsafe-url`).
      const { referrerpolicy: _policy, loading: _loading, ...rest } = attribs;
      return { tagName, attribs: rest.src === undefined || isSameSite(rest.src) ? rest : { ...rest, ...EXTERNAL_IMAGE } };
    },
    blockquote: (tagName, attribs) => {
      if (isPostQuote(attribs)) return { tagName, attribs };
      const { 'data-post-id': _ignored, ...rest } = attribs;
      if (rest.class !== undefined) rest.class = withoutClass(rest.class, 'quote');
      return { tagName, attribs: rest };
    },
  },
};

/**
 * What a CENSOR rule (watched words, lib moderation) puts in place of each character it masks.
 * The HTML stored is rendered from the masked text, the source keeps the text as written: HTML
 * holding it (or its percent-encoding, in a URL) is never rendered again from that source
 * (`content:rebake`), which would show what was masked.
 */
export const CENSOR_MASK = '■';

/**
 * The allowlist step on its own, for HTML that did not come from `render` (stored HTML
 * re-sanitized after the allowlist changes, say). `render` already applies it.
 */
export function sanitizeRendered(html: string): string {
  return sanitizeHtml(html, SANITIZE_OPTIONS);
}

/** Strips every tag; used for plain-text excerpts. */
const PLAIN_TEXT_OPTIONS: sanitizeHtml.IOptions = { allowedTags: [], allowedAttributes: {} };

/**
 * Block rule for
 *
 *     [quote post=<uuid>]
 *     markdown…
 *     [/quote]
 *
 * rendered as `<blockquote class="quote" data-post-id="<uuid>">`. Nested quotes pair up; an
 * opening line without a valid id (`isUuid`, the API's rule for ids) or without a closing line stays plain text. Closing lines
 * inside fenced or indented code do not count.
 */
function quoteBlock(state: StateBlock, startLine: number, endLine: number, silent: boolean): boolean {
  if (state.sCount[startLine] - state.blkIndent >= 4) return false;
  const lineText = (n: number): string => state.src.slice(state.bMarks[n] + state.tShift[n], state.eMarks[n]).trimEnd();
  const first = lineText(startLine);
  if (first.charCodeAt(0) !== 0x5b /* [ */) return false;
  const m = QUOTE_OPEN_RE.exec(first);
  if (!m || !isUuid(m[1])) return false;

  const close = findQuoteClose(state, startLine + 1, endLine, lineText);
  if (close < 0) return false;
  if (silent) return true;

  const id = m[1].toLowerCase();
  const { found } = parseState(state.env);
  if (!found.quotedPostIds.includes(id)) found.quotedPostIds.push(id);

  const open = state.push('post_quote_open', 'blockquote', 1);
  open.attrs = [['class', 'quote'], ['data-post-id', id]];
  open.block = true;
  open.markup = first;
  open.map = [startLine, close + 1];

  const oldParent = state.parentType;
  const oldLineMax = state.lineMax;
  state.parentType = 'blockquote';
  state.lineMax = close;
  state.md.block.tokenize(state, startLine + 1, close);
  state.parentType = oldParent;
  state.lineMax = oldLineMax;

  const end = state.push('post_quote_close', 'blockquote', -1);
  end.block = true;
  end.markup = '[/quote]';
  state.line = close + 1;
  return true;
}

/** The line of the `[/quote]` matching an opening line just before `from`, or -1. */
function findQuoteClose(state: StateBlock, from: number, endLine: number, lineText: (n: number) => string): number {
  const scan = parseState(state.env);
  let depth = 0;
  let fence: { char: string; length: number } | null = null;
  for (let line = from; line < endLine; line++) {
    if (scan.quoteLinesScanned >= QUOTE_SCAN_BUDGET) return -1;
    scan.quoteLinesScanned++;
    const empty = state.bMarks[line] + state.tShift[line] >= state.eMarks[line];
    // A non-empty line indented less than this block ends the enclosing list item.
    if (!empty && state.sCount[line] < state.blkIndent) return -1;
    if (empty || state.sCount[line] - state.blkIndent >= 4) continue;
    const text = lineText(line);
    if (fence) {
      const run = /^(`+|~+)$/.exec(text);
      if (run && run[1][0] === fence.char && run[1].length >= fence.length) fence = null;
      continue;
    }
    const f = FENCE_OPEN_RE.exec(text);
    if (f && !(f[1][0] === '`' && f[2].includes('`'))) {
      fence = { char: f[1][0], length: f[1].length };
    } else if (QUOTE_OPEN_RE.test(text)) {
      depth++;
    } else if (QUOTE_CLOSE_RE.test(text)) {
      if (depth === 0) return line;
      depth--;
    }
  }
  return -1;
}

/**
 * Keeps only a plain language name from a fence's info string, lower-cased, so the class
 * is always `language-[a-z0-9-]+` or absent (the allowlist enforces the same again).
 */
function codeLanguageRule(state: StateCore): void {
  for (const token of state.tokens) {
    if (token.type !== 'fence') continue;
    const lang = token.info.trim().split(/\s+/)[0].toLowerCase();
    token.info = CODE_LANG_RE.test(lang) ? lang : '';
  }
}

/**
 * At most this many distinct handles are collected from one body (to resolve and notify): far
 * above what posting limits let anyone but moderators mention, and a bound on the work a body
 * of 100,000 characters of @handles makes.
 */
export const MAX_COLLECTED_MENTIONS = 100;

/**
 * Counts links and turns @handle in text (outside links; code spans and blocks are not
 * text tokens) into mention links. Runs after linkify, so URLs and e-mail addresses are
 * already links by then and their `@` is skipped. A mention inside a `[quote]` is the quoted
 * author's, already told: it is linked but not collected, so quoting a post notifies nobody it
 * named again, and does not count against the quoting author's mention limit.
 */
function mentionsRule(state: StateCore): void {
  const { found } = parseState(state.env);
  const mentioned = new Set(found.mentions);
  const textToken = (content: string): Token => {
    const t = new state.Token('text', '', 0);
    t.content = content;
    return t;
  };
  let quoteDepth = 0;
  for (const block of state.tokens) {
    if (block.type === 'post_quote_open') quoteDepth++;
    else if (block.type === 'post_quote_close') quoteDepth--;
    if (block.type !== 'inline' || !block.children) continue;
    const out: Token[] = [];
    let linkDepth = 0;
    for (const tok of block.children) {
      if (tok.type === 'link_open') {
        linkDepth++;
        found.links++;
      } else if (tok.type === 'image') {
        // An image is a URL the author puts in front of readers, as a link is (and spammers use both).
        found.links++;
      } else if (tok.type === 'link_close') {
        linkDepth--;
      }
      if (tok.type !== 'text' || linkDepth > 0 || !tok.content.includes('@')) {
        out.push(tok);
        continue;
      }
      const text = tok.content;
      let last = 0;
      for (const m of text.matchAll(MENTION_RE)) {
        const at = (m.index ?? 0) + m[1].length;
        const handle = m[2].toLowerCase();
        if (at > last) out.push(textToken(text.slice(last, at)));
        const open = new state.Token('link_open', 'a', 1);
        open.attrs = [['class', 'mention'], ['href', `/u/${handle}`], ['data-handle', handle]];
        open.markup = 'mention';
        out.push(open, textToken(`@${m[2]}`), new state.Token('link_close', 'a', -1));
        if (quoteDepth === 0 && !mentioned.has(handle) && mentioned.size < MAX_COLLECTED_MENTIONS) {
          mentioned.add(handle);
          found.mentions.push(handle);
        }
        last = at + 1 + m[2].length;
      }
      if (last === 0) out.push(tok);
      else if (last < text.length) out.push(textToken(text.slice(last)));
    }
    block.children = out;
  }
}

/** The vertical tab and the form feed: white space to markdown, so they part words as a space does. */
const SPACING_CONTROLS = /[\u000B\u000C]/g;
/** The other control characters, C0 and C1, but for the tab and line breaks (markdown-it turns NUL into U+FFFD itself). */
const CONTROLS = /[\u0001-\u0008\u000E-\u001F\u007F-\u009F]/g;

/**
 * The source without the control characters HTML forbids in text (a stray ESC from a pasted
 * terminal log, a backspace): they would otherwise reach every page, excerpt and e-mail that
 * shows the post. The stored source keeps them, as typed.
 */
function withoutControls(markdown: string): string {
  return markdown.replace(SPACING_CONTROLS, ' ').replace(CONTROLS, '');
}

/** What a renderer given one tallies of its work (ContentRenderer's `work`). */
export interface RenderWork {
  quoteLinesScanned: number;
}
export const RENDER_WORK = Symbol('RenderWork');

/**
 * The content pipeline's first steps: markdown → HTML → allowlist. Raw HTML in the
 * markdown is escaped, never passed through; whatever markdown-it produces is still
 * sanitized, so a renderer or plugin bug cannot become an XSS.
 */
@Injectable()
export class ContentRenderer {
  private readonly md: MarkdownIt.MarkdownIt;

  /**
   * @param work where a renderer tallies the work its quote rule does (the lines it scans for closing lines), added to at each
   * render: tests bound it (QUOTE_SCAN_BUDGET), as they bound the SQL statements a page costs, rather than time a render.
   * Nothing gives one in production. A constructor argument rather than a method, so the renderer's API is `render` alone.
   */
  constructor(@Optional() @Inject(RENDER_WORK) private readonly work?: RenderWork) {
    this.md = new MarkdownIt({ html: false, linkify: true, breaks: false, typographer: false });
    this.md.block.ruler.before('fence', 'post_quote', quoteBlock, { alt: ['paragraph', 'reference', 'blockquote', 'list'] });
    this.md.core.ruler.push('code_language', codeLanguageRule);
    // After linkify and text_join, so links exist and escaped characters are merged into text.
    this.md.core.ruler.push('mentions', mentionsRule);
  }

  render(markdown: string): RenderedContent {
    const found: Collected = { mentions: [], quotedPostIds: [], links: 0 };
    const env: ParseState = { found, quoteLinesScanned: 0 };
    const raw = this.md.render(withoutControls(markdown), { [PARSE_STATE]: env });
    if (this.work) this.work.quoteLinesScanned += env.quoteLinesScanned;
    return { html: sanitizeRendered(raw), ...found };
  }
}

let excerptRenderer: ContentRenderer | undefined;

/**
 * Plain text of a markdown body, whitespace collapsed and cut to `max` characters with an
 * ellipsis (for notifications, previews and search). Not HTML: escape it when embedding.
 */
export function excerpt(markdown: string, max = 200): string {
  excerptRenderer ??= new ContentRenderer();
  const text = decodeTextEntities(sanitizeHtml(excerptRenderer.render(markdown).html, PLAIN_TEXT_OPTIONS))
    .replace(/\s+/g, ' ')
    .trim();
  if (text.length <= max) return text;
  if (max <= 1) return '…'.slice(0, Math.max(max, 0));
  let cut = text.slice(0, max - 1);
  // Do not leave half of a surrogate pair (an emoji, say) before the ellipsis.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}…`;
}

const TEXT_ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"' };

/** sanitize-html escapes only these in text; one pass, so `&amp;lt;` stays `&lt;`. */
function decodeTextEntities(s: string): string {
  return s.replace(/&(?:amp|lt|gt|quot);/g, (e) => TEXT_ENTITIES[e]);
}

/** Block ends and line breaks become spaces, so words on either side stay apart in plain text. */
const BLOCK_END = /<\/(?:p|div|li|ul|ol|h[1-6]|blockquote|pre|td|th|tr|table)>|<br\s*\/?>|<hr\s*\/?>/gi;

/** Text made safe to place in HTML, in an element or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The plain text of stored (sanitized) HTML, for search indexing: no markup, entities decoded. */
export function htmlToText(html: string): string {
  return decodeTextEntities(sanitizeHtml(html.replace(BLOCK_END, '$& '), PLAIN_TEXT_OPTIONS))
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The plain text of stored (sanitized) HTML as lines, one per block, list item or line break
 * (a code block keeps its own lines), blank lines left out: what a reader sees, for diffs.
 */
export function htmlToLines(html: string): string[] {
  return decodeTextEntities(sanitizeHtml(html.replace(BLOCK_END, '$&\n'), PLAIN_TEXT_OPTIONS))
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .filter((line) => line !== '');
}
