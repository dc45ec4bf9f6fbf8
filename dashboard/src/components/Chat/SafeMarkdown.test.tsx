import { render, screen } from '@testing-library/react';
import { SafeMarkdown } from './SafeMarkdown';

describe('SafeMarkdown', () => {
  it('shows HTML in the model output as inert text', () => {
    const { container } = render(<SafeMarkdown text={'<img src=x onerror=alert(1)> <script>alert(2)</script>'} />);
    expect(container.querySelector('img')).toBeNull();
    expect(container.querySelector('script')).toBeNull();
    expect(container.textContent).toBe('<img src=x onerror=alert(1)> <script>alert(2)</script>');
  });

  it('never makes a link for javascript:, data: or relative URLs', () => {
    const { container } = render(
      <SafeMarkdown text={'[x](javascript:alert(1)) [y](data:text/html,hi) [z](/relative) [w](JaVaScRiPt:alert(1))'} />,
    );
    expect(container.querySelector('a')).toBeNull();
    expect(screen.getByText(/\[x\]\(javascript:alert\(1\)\)/)).toBeTruthy();
  });

  it('links http and https URLs, safely', () => {
    render(<SafeMarkdown text={'See [the docs](https://example.com/a?b=1) and [old](http://example.org).'} />);
    const link = screen.getByRole('link', { name: 'the docs' });
    expect(link.getAttribute('href')).toBe('https://example.com/a?b=1');
    expect(link.getAttribute('rel')).toContain('noopener');
    expect(screen.getByRole('link', { name: 'old' }).getAttribute('href')).toBe('http://example.org/');
  });

  it('renders the small Markdown subset as elements', () => {
    const { container } = render(
      <SafeMarkdown text={'Some **bold**, *italic* and `code`.\n\n- one\n- two\n\n```\n<b>raw</b>\n```'} />,
    );
    expect(container.querySelector('strong')?.textContent).toBe('bold');
    expect(container.querySelector('em')?.textContent).toBe('italic');
    expect(container.querySelector('p code')?.textContent).toBe('code');
    expect(screen.getAllByRole('listitem').map((li) => li.textContent)).toEqual(['one', 'two']);
    expect(container.querySelector('pre')?.textContent).toBe('<b>raw</b>');
    expect(container.querySelector('b')).toBeNull();
  });
});
