import { Injectable } from '@nestjs/common';
import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';

export interface RenderedContent {
  /** Safe HTML: markdown rendered, then passed through the sanitize-html allowlist. */
  html: string;
  /** Lower-cased handles mentioned as @handle (unique, in order of appearance). */
  mentions: string[];
  /** Ids of posts quoted with a `[quote post=<id>]` block (unique). */
  quotedPostIds: string[];
  /** How many links the author wrote (mentions excluded). */
  links: number;
}

type StateBlock = MarkdownIt.StateBlock;
type StateCore = MarkdownIt.StateCore;
type Token = MarkdownIt.Token;

interface RenderEnv {
  mentions: string[];
  quotedPostIds: string[];
  links: number;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const QUOTE_OPEN_RE = /^\[quote post=([^\]\s]+)\]$/i;
const QUOTE_CLOSE = '[/quote]';
/**
 * @handle, not preceded by a character that would make it part of a word or an
 * e-mail address, and not followed by more handle characters or a domain.
 */
const MENTION_RE = /(^|[^A-Za-z0-9_.+\-@])@([A-Za-z0-9_-]{3,30})(?![A-Za-z0-9_-]|\.[A-Za-z0-9])/g;

/** The HTML allowlist. Everything not named here is dropped. */
export const SANITIZE_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'code', 'em', 'strong', 'del', 's',
    'ul', 'ol', 'li', 'a', 'img', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel', 'class', 'data-handle'],
    img: ['src', 'alt', 'title'],
    code: ['class'],
    ol: ['start'],
    blockquote: ['class', 'data-post-id'],
  },
  allowedClasses: { code: ['language-*'], a: ['mention'], blockquote: ['quote'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: {
    a: (tagName, attribs) => {
      const href = attribs.href ?? '';
      const external = /^https?:\/\//i.test(href);
      const { rel: _ignored, ...rest } = attribs;
      return { tagName, attribs: external ? { ...rest, rel: 'nofollow ugc noopener' } : rest };
    },
  },
};

function quoteBlock(state: StateBlock, startLine: number, endLine: number, silent: boolean): boolean {
  if (state.sCount[startLine] - state.blkIndent >= 4) return false;
  const lineText = (n: number) => state.src.slice(state.bMarks[n] + state.tShift[n], state.eMarks[n]).trim();
  const m = QUOTE_OPEN_RE.exec(lineText(startLine));
  if (!m || !UUID_RE.test(m[1])) return false;
  let close = startLine + 1;
  while (close < endLine && lineText(close) !== QUOTE_CLOSE) close++;
  if (close >= endLine) return false;
  if (silent) return true;

  const id = m[1].toLowerCase();
  const env = state.env as unknown as RenderEnv;
  if (!env.quotedPostIds.includes(id)) env.quotedPostIds.push(id);
  const open = state.push('post_quote_open', 'blockquote', 1);
  open.attrSet('class', 'quote');
  open.attrSet('data-post-id', id);
  open.block = true;
  open.map = [startLine, close + 1];
  const oldLineMax = state.lineMax;
  state.lineMax = close;
  state.md.block.tokenize(state, startLine + 1, close);
  state.lineMax = oldLineMax;
  state.push('post_quote_close', 'blockquote', -1).block = true;
  state.line = close + 1;
  return true;
}

/** Turns @handle in plain text (outside links and code) into mention links. */
function mentionsRule(state: StateCore): void {
  const env = state.env as unknown as RenderEnv;
  for (const block of state.tokens) {
    if (block.type !== 'inline' || !block.children) continue;
    const out: Token[] = [];
    let linkDepth = 0;
    for (const tok of block.children) {
      if (tok.type === 'link_open') {
        linkDepth++;
        env.links++;
      }
      if (tok.type === 'link_close') linkDepth--;
      if (tok.type !== 'text' || linkDepth > 0 || !tok.content.includes('@')) {
        out.push(tok);
        continue;
      }
      let last = 0;
      const text = tok.content;
      for (const m of text.matchAll(MENTION_RE)) {
        const at = m.index! + m[1].length;
        const handle = m[2].toLowerCase();
        if (at > last) out.push(Object.assign(new state.Token('text', '', 0), { content: text.slice(last, at) }));
        const open = new state.Token('link_open', 'a', 1);
        open.attrs = [['href', `/u/${handle}`], ['class', 'mention'], ['data-handle', handle]];
        out.push(open, Object.assign(new state.Token('text', '', 0), { content: `@${m[2]}` }), new state.Token('link_close', 'a', -1));
        if (!env.mentions.includes(handle)) env.mentions.push(handle);
        last = at + 1 + m[2].length;
      }
      if (last === 0) out.push(tok);
      else if (last < text.length) out.push(Object.assign(new state.Token('text', '', 0), { content: text.slice(last) }));
    }
    block.children = out;
  }
}

/**
 * The content pipeline's first steps: markdown → HTML → allowlist. Raw HTML in the
 * markdown is escaped, never passed through; whatever markdown-it produces is still
 * sanitized, so a renderer bug cannot become an XSS.
 */
@Injectable()
export class ContentRenderer {
  private readonly md: MarkdownIt.MarkdownIt;

  constructor() {
    this.md = new MarkdownIt({ html: false, linkify: true, breaks: false, typographer: false });
    this.md.block.ruler.before('fence', 'post_quote', quoteBlock, { alt: ['paragraph', 'reference', 'blockquote', 'list'] });
    this.md.core.ruler.push('mentions', mentionsRule);
  }

  render(markdown: string): RenderedContent {
    const env: RenderEnv = { mentions: [], quotedPostIds: [], links: 0 };
    const raw = this.md.render(markdown, env as unknown as MarkdownIt.Env);
    return { html: sanitizeHtml(raw, SANITIZE_OPTIONS), ...env };
  }
}

/** Plain text of a markdown body, collapsed and cut to `max` characters (for previews). */
export function excerpt(renderer: ContentRenderer, markdown: string, max = 200): string {
  const text = sanitizeHtml(renderer.render(markdown).html, { allowedTags: [], allowedAttributes: {} })
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}
