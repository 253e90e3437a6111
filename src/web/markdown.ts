// Notes rendered as HTML for the page with `marked`, made safe: raw HTML in a note is shown as
// text (never parsed by the browser), links go only to http(s)/mailto or inside the app, images
// become links, [[wikilinks]] become links to the task page, ```diff fences get line classes.
import { Marked, type Tokens } from 'marked';
import { linkName } from '../lifecycle/task.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const SAFE_HREF = /^(https?:|mailto:)/i;

function wikilinkHtml(raw: string, embed: boolean): string {
  const [target, alias] = raw.split('|', 2) as [string, string | undefined];
  const label = escapeHtml((alias ?? target).trim());
  const id = linkName(target);
  if (embed || !id) return `<span class="wikilink">${label}</span>`;
  return `<a class="wikilink" href="/task/${encodeURIComponent(id)}">${label}</a>`;
}

function diffHtml(text: string): string {
  const lines = text.split('\n').map((l) => {
    const cls = l.startsWith('+++') || l.startsWith('---') ? 'd-file' : l.startsWith('@@') ? 'd-hunk' : l.startsWith('+') ? 'd-add' : l.startsWith('-') ? 'd-del' : 'd-ctx';
    return `<span class="${cls}">${escapeHtml(l)}</span>`;
  });
  return `<pre class="diff"><code>${lines.join('\n')}</code></pre>\n`;
}

const marked = new Marked({
  gfm: true,
  async: false,
  extensions: [
    {
      name: 'wikilink',
      level: 'inline',
      start: (src: string) => src.match(/!?\[\[/)?.index,
      tokenizer(src: string) {
        const m = /^(!?)\[\[([^\]\n]{1,300})\]\]/.exec(src);
        if (m) return { type: 'wikilink', raw: m[0], embed: m[1] === '!', target: m[2] };
        return undefined;
      },
      renderer: (t: Tokens.Generic) => wikilinkHtml(String(t.target), Boolean(t.embed)),
    },
  ],
  renderer: {
    html: ({ text }) => escapeHtml(text),
    link(token) {
      const inner = this.parser.parseInline(token.tokens);
      if (!SAFE_HREF.test(token.href.trim())) return `<span class="link">${inner}</span>`;
      return `<a href="${escapeHtml(token.href.trim())}" rel="noopener noreferrer" target="_blank">${inner}</a>`;
    },
    image: ({ href, text }) => (SAFE_HREF.test(href.trim()) ? `<a href="${escapeHtml(href.trim())}" rel="noopener noreferrer" target="_blank">🖼 ${escapeHtml(text || href)}</a>` : `<span>🖼 ${escapeHtml(text || href)}</span>`),
    code: ({ text, lang }) => (lang?.trim().toLowerCase() === 'diff' ? diffHtml(text) : `<pre><code>${escapeHtml(text)}</code></pre>\n`),
  },
});

/** Note Markdown (frontmatter already split off) as safe HTML. */
export function renderMarkdown(md: string): string {
  return marked.parse(md, { async: false });
}
