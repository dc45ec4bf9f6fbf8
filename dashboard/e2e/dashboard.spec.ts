import { expect, test, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const screenshots = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'screenshots');
mkdirSync(screenshots, { recursive: true });

const dashboard = '/llm-apm/';

test.describe.configure({ mode: 'serial' });

async function sendChat(page: Page, message: string) {
  const input = page.getByLabel('Message');
  await input.fill(message);
  await input.press('Enter');
  const answer = page.getByTestId('assistant-message').last();
  // The answer is complete when it is no longer busy (done or error).
  await expect(answer).toHaveAttribute('aria-busy', 'false');
  return answer;
}

function requestIdFrom(href: string | null): string {
  const id = href?.replace('#/requests/', '');
  if (!id) throw new Error(`no request id in ${href}`);
  return decodeURIComponent(id);
}

let chatRequestId = '';

test('the service root opens the chat, and a message streams its answer', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/llm-apm\/#\/chat$/);
  await expect(page.getByRole('heading', { name: 'Chat' })).toBeVisible();

  // A free-form message: the simulated model answers with some text, piece by piece.
  // Record the answer's length at every DOM change to see it grow piece by piece.
  await page.evaluate(() => {
    const lengths: number[] = [];
    (window as unknown as { answerLengths: number[] }).answerLengths = lengths;
    new MutationObserver(() => {
      const answers = document.querySelectorAll('[data-testid="assistant-message"]');
      const last = answers[answers.length - 1];
      if (last) lengths.push(last.textContent?.length ?? 0);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const input = page.getByLabel('Message');
  await input.fill('What does an APM for LLM applications measure?');
  await input.press('Enter');
  const answer = page.getByTestId('assistant-message').last();
  await expect(answer).toHaveAttribute('aria-busy', 'false');
  await expect(answer).not.toHaveText('');
  const lengths = await page.evaluate(() => (window as unknown as { answerLengths: number[] }).answerLengths);
  expect(new Set(lengths.filter((length) => length > 0)).size).toBeGreaterThan(1);

  // The /echo directive makes the reply exactly the rest of the message.
  const echoed = await sendChat(page, '/echo Hello from the **dashboard** end-to-end test.');
  await expect(echoed).toHaveText('Hello from the dashboard end-to-end test.');
  await expect(echoed.locator('strong')).toHaveText('dashboard');

  const link = page.getByRole('link', { name: 'View request' }).last();
  await expect(link).toBeVisible();
  chatRequestId = requestIdFrom(await link.getAttribute('href'));
  await page.screenshot({ path: join(screenshots, 'chat.png') });
});

test('the chat request is in Requests with its steps, and expands into its waterfall', async ({ page }) => {
  expect(chatRequestId).not.toBe('');
  await page.goto(`${dashboard}#/requests`);
  await expect(page.getByRole('heading', { name: 'Requests' })).toBeVisible();
  const row = page.locator(`button[data-request-id="${chatRequestId}"]`);
  await expect(row).toBeVisible();

  // Search by a prefix of the request id narrows the list to it.
  await page.getByLabel('Request or trace id').fill(chatRequestId.slice(0, 10));
  await expect(page.getByRole('list', { name: 'Requests' }).getByRole('button')).toHaveCount(1);

  await row.focus();
  await page.keyboard.press('Enter');
  await expect(row).toHaveAttribute('aria-expanded', 'true');
  const details = page.getByRole('region', { name: `Request ${chatRequestId}` });
  const steps = details.getByRole('list', { name: 'Steps' }).getByRole('listitem');
  // A step's label is its name, its kind where drawn in a style of its own ("llm_api_call (LLM)"), then its timing.
  const names = await steps.evaluateAll((items) =>
    items.map((item) => item.getAttribute('aria-label')?.split(':')[0]?.replace(/ \(.*\)$/, '')),
  );
  for (const step of ['preprocessing', 'llm_api_call', 'response_parsing']) expect(names).toContain(step);
  // Every bar sits inside the timeline.
  const geometry = await details.getByTestId('waterfall-bar').evaluateAll((bars) =>
    bars.map((bar) => ({ left: parseFloat((bar as HTMLElement).style.left), width: parseFloat((bar as HTMLElement).style.width) })),
  );
  for (const { left, width } of geometry) {
    expect(left).toBeGreaterThanOrEqual(0);
    expect(width).toBeGreaterThan(0);
    expect(left + width).toBeLessThanOrEqual(100.5);
  }
  await expect(details.getByText(chatRequestId)).toBeVisible();

  // Screenshot with the unfiltered list and the row still open.
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(page.getByRole('list', { name: 'Requests' }).getByRole('button').nth(1)).toBeVisible();
  await expect(row).toHaveAttribute('aria-expanded', 'true');
  await page.screenshot({ path: join(screenshots, 'requests.png') });
});

test('a deep link opens one request', async ({ page }) => {
  await page.goto(`${dashboard}#/requests/${chatRequestId}`);
  await expect(page.getByRole('list', { name: 'Steps' })).toBeVisible();
  await expect(page.getByText(chatRequestId, { exact: true }).first()).toBeVisible();
  await page.goto(`${dashboard}#/requests/0000000000000000000000000000dead`);
  await expect(page.getByText('Request not found')).toBeVisible();
});

test('an injected failure shows up in Requests with its error type', async ({ page }) => {
  await page.goto(`${dashboard}#/chat`);
  const failed = await sendChat(page, '/fault rate_limited');
  await expect(failed.getByRole('alert')).toContainText('rate_limited');

  await page.goto(`${dashboard}#/requests`);
  await page.getByLabel('Status').selectOption('error');
  const firstRow = page.getByRole('list', { name: 'Requests' }).getByRole('button').first();
  await expect(firstRow).toContainText('rate_limited');
  await firstRow.click();
  const details = page.getByRole('region', { name: /^Request / });
  await expect(details.getByText('Error type')).toBeVisible();
  await expect(details.getByText('rate_limited', { exact: true }).first()).toBeVisible();

  // The page's screenshot: the whole history, with the failed request open.
  await page.getByLabel('Status').selectOption('');
  await expect(page.getByRole('list', { name: 'Requests' }).getByRole('button').nth(2)).toBeVisible();
  await expect(firstRow).toHaveAttribute('aria-expanded', 'true');
  await page.screenshot({ path: join(screenshots, 'requests.png') });
});

test('model output cannot run script: the XSS reply is inert text', async ({ page }) => {
  let dialogs = 0;
  page.on('dialog', (dialog) => {
    dialogs += 1;
    void dialog.dismiss();
  });
  await page.goto(`${dashboard}#/chat`);
  const payload = '<img src=x onerror=alert(1)> [x](javascript:alert(1))';
  const answer = await sendChat(page, `/echo ${payload}`);
  await expect(answer).toHaveText(payload);
  const log = page.getByRole('list', { name: 'Conversation' });
  await expect(log.locator('img')).toHaveCount(0);
  await expect(log.locator('a[href^="javascript"]')).toHaveCount(0);
  await page.waitForTimeout(500);
  expect(dialogs).toBe(0);
});

test("the overview's request count and error rate equal api/summary's", async ({ page }) => {
  await page.goto(`${dashboard}#/overview`);
  await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();
  const cardValue = (name: string) => page.getByRole('group', { name }).locator('.stat-value');
  await expect(cardValue('Total requests')).not.toHaveText('');

  const summary = (await (await page.request.get(`${dashboard}api/summary?window=5m`)).json()) as {
    count: number;
    errorRate: number;
  };
  expect(summary.count).toBeGreaterThanOrEqual(4);
  await expect(cardValue('Total requests')).toHaveText(summary.count.toLocaleString('en-US'));
  const pct = summary.errorRate * 100;
  const expectedRate = summary.errorRate === 0 ? '0%' : `${pct < 10 ? pct.toFixed(1) : pct.toFixed(0)}%`;
  await expect(cardValue('Error rate')).toHaveText(expectedRate);

  await expect(page.getByRole('img', { name: 'Requests over time' })).toBeVisible();
  await expect(page.getByRole('table').getByRole('rowheader').first()).toBeVisible();
  await page.screenshot({ path: join(screenshots, 'overview.png'), fullPage: true });
});

test('an unpriced model never reads as free, and the Chat tab is there for a host with a chat endpoint', async ({ page }) => {
  await page.goto(`${dashboard}#/chat`);
  const nav = page.getByRole('navigation', { name: 'Pages' });
  await expect(nav.getByRole('link', { name: 'Chat' })).toBeVisible();
  const answer = await sendChat(page, '/model my-unpriced-model /echo An answer nobody priced.');
  await expect(answer).toHaveText('An answer nobody priced.');

  await page.goto(`${dashboard}#/overview`);
  const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'my-unpriced-model' }) });
  await expect(row.getByRole('cell').last()).toHaveText('unpriced');
  await expect(page.getByRole('group', { name: 'Total cost' })).toContainText('unpriced');
});

test('a thumbs down in the chat reaches the history, the request page, the negative filter and /metrics', async ({ page }) => {
  await page.goto(`${dashboard}#/chat`);
  await sendChat(page, '/echo An answer the user does not like.');
  const link = page.getByRole('link', { name: 'View request' }).last();
  const id = requestIdFrom(await link.getAttribute('href'));

  await page.getByRole('button', { name: 'Bad answer' }).last().click();
  await expect(page.getByText('Thanks for the feedback.')).toBeVisible();

  // The history keeps the score with the request.
  const record = (await (await page.request.get(`${dashboard}api/requests/${id}`)).json()) as {
    scores: { name: string; polarity: string; value: number; source: string }[];
  };
  expect(record.scores).toEqual([expect.objectContaining({ name: 'user_feedback', polarity: 'negative', value: 0, source: 'dashboard' })]);

  // The metric, on a real scrape.
  const exposition = await (await page.request.get('/metrics')).text();
  const sample = exposition.split('\n').find((line) => line.startsWith('llm_scores_total{') && line.includes('name="user_feedback"') && line.includes('polarity="negative"'));
  expect(sample, exposition).toBeDefined();
  expect(Number(sample!.slice(sample!.lastIndexOf('}') + 1).trim().split(' ')[0])).toBeGreaterThanOrEqual(1);

  // The request page shows it, and the negative filter finds it.
  await page.goto(`${dashboard}#/requests/${id}`);
  await expect(page.getByTestId('score-row')).toContainText('user feedback');
  await expect(page.getByTestId('score-row')).toContainText('negative');
  await page.goto(`${dashboard}#/requests`);
  await page.getByLabel('Negative feedback only').check();
  await expect(page.getByText(id.slice(0, 12)).first()).toBeVisible();
  await page.screenshot({ path: join(screenshots, 'feedback.png') });
});

test('a request made for a user and tenant shows them in Requests, and the tenant filter finds it', async ({ page, request }) => {
  const tenant = `e2e-tenant-${Date.now()}`;
  async function chatFor(userId: string, tenantId: string): Promise<string> {
    const response = await request.post('/api/chat', {
      headers: { 'X-User-Id': userId, 'X-Tenant-Id': tenantId },
      data: { message: '/echo attributed' },
    });
    expect(response.ok()).toBe(true);
    const body = (await response.json()) as { requestId: string };
    return body.requestId;
  }
  const ours = await chatFor('e2e-user-1', tenant);
  const theirs = await chatFor('e2e-user-2', `${tenant}-other`);

  // A header that cannot be a tenant id is refused with problem details naming it.
  const refused = await request.post('/api/chat', {
    headers: { 'X-Tenant-Id': 't'.repeat(129) },
    data: { message: '/echo refused' },
  });
  expect(refused.status()).toBe(400);
  expect(((await refused.json()) as { detail: string }).detail).toContain("'X-Tenant-Id'");

  // The spend view's links land filtered: #/requests?tenant=...
  await page.goto(`${dashboard}#/requests?tenant=${encodeURIComponent(tenant)}`);
  const tenantFilter = page.getByRole('searchbox', { name: 'Tenant', exact: true });
  await expect(tenantFilter).toHaveValue(tenant);
  const row = page.locator(`button[data-request-id="${ours}"]`);
  await expect(row).toBeVisible();
  await expect(row).toContainText('e2e-user-1');
  await expect(row.getByTestId('tenant-chip')).toHaveText(tenant);
  await expect(page.locator(`button[data-request-id="${theirs}"]`)).toHaveCount(0);

  // Typing the other tenant in the filter finds the other request only.
  await tenantFilter.fill(`${tenant}-other`);
  await expect(page.locator(`button[data-request-id="${theirs}"]`)).toBeVisible();
  await expect(row).toHaveCount(0);

  await page.locator(`button[data-request-id="${theirs}"]`).click();
  const details = page.getByRole('region', { name: `Request ${theirs}` });
  await expect(details.getByRole('region', { name: 'Identifiers' })).toContainText('e2e-user-2');
  await page.screenshot({ path: join(screenshots, 'requests-attribution.png') });
});
