import { expect, test, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The waterfall of a request that calls a tool and retrieves documents, in the real sample service: the simulated
// model calls lookup_order for "order 1001", the tool reads the order from the service's own API over HTTP, and the
// retrieve step embeds the message first.
const screenshots = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'screenshots');
mkdirSync(screenshots, { recursive: true });

const dashboard = '/llm-apm/';

test.describe.configure({ mode: 'serial' });

async function chatRequestId(page: Page, message: string): Promise<string> {
  await page.goto(`${dashboard}#/chat`);
  const input = page.getByLabel('Message');
  await input.fill(message);
  await input.press('Enter');
  const answer = page.getByTestId('assistant-message').last();
  await expect(answer).toHaveAttribute('aria-busy', 'false');
  await expect(answer).toContainText('I asked lookup_order: Order 1001 is shipped');
  const href = await page.getByRole('link', { name: 'View request' }).last().getAttribute('href');
  const id = href?.replace('#/requests/', '');
  if (!id) throw new Error(`no request id in ${href}`);
  return decodeURIComponent(id);
}

/** A row of the waterfall and what the browser drew for it. */
async function rows(page: Page) {
  const steps = page.getByRole('list', { name: 'Steps' }).getByRole('listitem');
  await expect(steps.first()).toBeVisible();
  return steps.evaluateAll((items) =>
    items.map((item) => {
      const bar = item.querySelector('[data-testid="waterfall-bar"]') as HTMLElement;
      const name = item.querySelector('.waterfall-name') as HTMLElement;
      const barStyle = getComputedStyle(bar);
      return {
        label: item.getAttribute('aria-label') ?? '',
        kind: item.getAttribute('data-kind'),
        depth: Number(item.getAttribute('data-depth')),
        barClass: bar.className,
        background: `${barStyle.backgroundColor} ${barStyle.backgroundImage}`,
        indent: name.getBoundingClientRect().left + parseFloat(getComputedStyle(name).paddingLeft),
      };
    }),
  );
}

let requestId = '';

test('a chat that calls a tool draws the tool bar, the nested embedding and the nested HTTP call', async ({ page }) => {
  // The first chat of a fresh service loads the tokenizer and opens the first connections: the second is the one shown.
  await chatRequestId(page, 'Where is order 1001?');
  requestId = await chatRequestId(page, 'Where is order 1001? It should have shipped.');
  await page.goto(`${dashboard}#/requests/${requestId}`);
  await expect(page.getByText(requestId, { exact: true }).first()).toBeVisible();
  const drawn = await rows(page);
  const index = (predicate: (row: (typeof drawn)[number]) => boolean) => {
    const i = drawn.findIndex(predicate);
    expect(i, JSON.stringify(drawn.map((r) => r.label))).toBeGreaterThanOrEqual(0);
    return i;
  };

  // The tool: its own kind, label and style, unlike the model calls' bars.
  const tool = drawn[index((r) => r.label.startsWith('execute_tool lookup_order (tool):'))]!;
  const llmCalls = drawn.filter((r) => r.label.startsWith('llm_api_call (LLM):'));
  expect(llmCalls).toHaveLength(2);
  expect(tool.kind).toBe('tool');
  expect(tool.barClass).toContain('bar-kind-tool');
  for (const llm of llmCalls) {
    expect(llm.barClass).toContain('bar-kind-llm_call');
    expect(tool.background).not.toBe(llm.background);
  }

  // Retrieval: the embedding call is the row right after retrieve, one level deeper and indented further.
  const retrieve = index((r) => r.label.startsWith('retrieve:'));
  const embedding = drawn[retrieve + 1]!;
  expect(embedding.label).toMatch(/^embedding_call \(embedding\):/);
  expect([drawn[retrieve]!.depth, embedding.depth]).toEqual([0, 1]);
  expect(embedding.indent).toBeGreaterThan(drawn[retrieve]!.indent);
  expect(embedding.background).not.toBe(tool.background);

  // The tool's HTTP call to the order API: nested under the tool, named by method and server, not the URL.
  const toolIndex = index((r) => r.label.startsWith('execute_tool lookup_order'));
  const http = drawn[toolIndex + 1]!;
  expect(http.kind).toBe('http');
  expect(http.label).toMatch(/^GET 127\.0\.0\.1:/);
  expect(http.label).not.toContain('/api/orders');
  expect(http.depth).toBe(1);
  expect(http.indent).toBeGreaterThan(tool.indent);

  await page.getByRole('list', { name: 'Steps' }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(screenshots, 'request-tools.png') });
});

test("the overview latency chart's slowest point opens its request", async ({ page }) => {
  expect(requestId).not.toBe('');
  await page.goto(`${dashboard}#/overview`);
  await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();
  const point = page.locator('figure', { hasText: 'Latency' }).locator('g[data-series="slowest"] a').first();
  await expect(point).toBeAttached();
  const href = await point.getAttribute('href');
  expect(href).toMatch(/^#\/requests\/[0-9a-f]{32}$/);
  // As a user does: the pointer rests on the point (the chart draws its hover markers over the bucket), then clicks.
  await point.hover();
  await point.click();
  await expect(page).toHaveURL(new RegExp(`${href!.replace(/[#/]/g, '\\$&')}$`));
  await expect(page.getByRole('list', { name: 'Steps' })).toBeVisible();
  await expect(page.getByText(href!.replace('#/requests/', ''), { exact: true }).first()).toBeVisible();
});
