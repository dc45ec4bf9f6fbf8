import type { ReactNode } from 'react';

/**
 * Renders model output as React elements from a tiny Markdown subset: paragraphs, line breaks,
 * fenced and inline code, **bold**, *italic*, bullet and numbered lists, and [links](https://...).
 * Everything else, HTML included, stays literal text: nothing here ever becomes markup, and a link
 * is only made for an http: or https: URL.
 */
export function renderSafeMarkdown(source: string): ReactNode[] {
  const blocks: ReactNode[] = [];
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  let key = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    const fence = /^\s*```/.exec(line);
    if (fence) {
      const code: string[] = [];
      i += 1;
      while (i < lines.length && !/^\s*```/.test(lines[i] ?? '')) {
        code.push(lines[i] ?? '');
        i += 1;
      }
      i += 1; // closing fence (or end of a still-streaming answer)
      blocks.push(
        <pre key={key++} className="md-pre">
          <code>{code.join('\n')}</code>
        </pre>,
      );
      continue;
    }
    if (line.trim() === '') {
      i += 1;
      continue;
    }
    const bullet = /^\s*[-*]\s+/;
    const numbered = /^\s*\d+[.)]\s+/;
    if (bullet.test(line) || numbered.test(line)) {
      const ordered = numbered.test(line);
      const pattern = ordered ? numbered : bullet;
      const items: ReactNode[] = [];
      while (i < lines.length && pattern.test(lines[i] ?? '')) {
        items.push(<li key={items.length}>{renderInline((lines[i] ?? '').replace(pattern, ''))}</li>);
        i += 1;
      }
      blocks.push(ordered ? <ol key={key++}>{items}</ol> : <ul key={key++}>{items}</ul>);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      blocks.push(
        <p key={key++} className="md-heading">
          <strong>{renderInline(heading[2] ?? '')}</strong>
        </p>,
      );
      i += 1;
      continue;
    }
    const paragraph: string[] = [];
    while (
      i < lines.length &&
      (lines[i] ?? '').trim() !== '' &&
      !/^\s*```/.test(lines[i] ?? '') &&
      !bullet.test(lines[i] ?? '') &&
      !numbered.test(lines[i] ?? '')
    ) {
      paragraph.push(lines[i] ?? '');
      i += 1;
    }
    const children: ReactNode[] = [];
    paragraph.forEach((text, index) => {
      if (index > 0) children.push(<br key={`br-${index}`} />);
      children.push(...renderInline(text, `l${index}-`));
    });
    blocks.push(<p key={key++}>{children}</p>);
  }
  return blocks;
}

const inlinePattern = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(\*[^*\s][^*\n]*\*)|(\[[^\]\n]+\]\([^)\s]+\))/g;

export function renderInline(text: string, keyPrefix = ''): ReactNode[] {
  const nodes: ReactNode[] = [];
  let last = 0;
  let index = 0;
  for (const match of text.matchAll(inlinePattern)) {
    const start = match.index;
    if (start > last) nodes.push(text.slice(last, start));
    const token = match[0];
    const key = `${keyPrefix}${index++}`;
    if (match[1]) {
      nodes.push(<code key={key}>{token.slice(1, -1)}</code>);
    } else if (match[2]) {
      nodes.push(<strong key={key}>{token.slice(2, -2)}</strong>);
    } else if (match[3]) {
      nodes.push(<em key={key}>{token.slice(1, -1)}</em>);
    } else {
      const link = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(token);
      const href = link ? safeHttpUrl(link[2] ?? '') : null;
      nodes.push(
        link && href ? (
          <a key={key} href={href} target="_blank" rel="noopener noreferrer nofollow">
            {link[1]}
          </a>
        ) : (
          token
        ),
      );
    }
    last = start + token.length;
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

/** The URL, normalised, if it is an absolute http: or https: URL; otherwise null. */
export function safeHttpUrl(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
}

/** Model output, shown as text with a tiny safe Markdown subset. */
export function SafeMarkdown({ text }: { text: string }) {
  return <div className="md">{renderSafeMarkdown(text)}</div>;
}
