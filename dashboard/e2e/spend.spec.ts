import { expect, test, type APIRequestContext } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const screenshots = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'screenshots');
mkdirSync(screenshots, { recursive: true });

const dashboard = '/llm-apm/';

// Tenants of this run only: the sample's history database outlives a run.
const run = Date.now().toString(36);
const alpha = `e2e-alpha-${run}`;
const beta = `e2e-beta-${run}`;

async function chatAs(request: APIRequestContext, user: string, tenant: string, message: string) {
  // The headers the sample's LlmApm:Attribution reads (samples/ChatService/appsettings.json).
  const response = await request.post('/api/chat', {
    headers: { 'X-User-Id': user, 'X-Tenant-Id': tenant },
    data: { message },
  });
  expect(response.status()).toBe(200);
}

interface Spend {
  rows: { key: string | null; requests: number; costUsd: number }[];
}

test('the Spend page ranks the requests of two tenants, and a tenant opens its requests', async ({ page }) => {
  await chatAs(page.request, `ann@${alpha}`, alpha, '/echo The first question of alpha.');
  await chatAs(page.request, `bob@${alpha}`, alpha, '/echo The second question of alpha, a little longer than the first one.');
  await chatAs(page.request, `cyd@${beta}`, beta, '/echo One from beta.');

  // The records are written as the requests end; api/spend shares an answer for two seconds.
  await expect(async () => {
    const spend = (await (await page.request.get(`${dashboard}api/spend?window=1h&by=tenant&limit=500`)).json()) as Spend;
    expect(spend.rows.find((r) => r.key === alpha)?.requests).toBe(2);
    expect(spend.rows.find((r) => r.key === beta)?.requests).toBe(1);
  }).toPass();

  await page.goto(`${dashboard}#/spend`);
  await expect(page.getByRole('heading', { name: 'Spend' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Spend' })).toHaveAttribute('aria-current', 'page');
  const tenants = page.getByRole('region', { name: 'By tenant' });
  await expect(tenants.getByRole('link', { name: alpha })).toBeVisible();
  await expect(tenants.getByRole('link', { name: beta })).toBeVisible();
  await expect(tenants.getByRole('row').filter({ has: page.getByRole('link', { name: alpha }) }).getByRole('cell').nth(2)).toHaveText('2');
  const users = page.getByRole('region', { name: 'By user' });
  await expect(users.getByRole('link', { name: `cyd@${beta}` })).toBeVisible();
  await page.screenshot({ path: join(screenshots, 'spend.png'), fullPage: true });

  // Another window asks again.
  await page.getByRole('button', { name: '7d' }).click();
  await expect(page.getByRole('button', { name: '7d' })).toHaveAttribute('aria-pressed', 'true');
  await expect(tenants.getByRole('link', { name: alpha })).toBeVisible();

  // A tenant's name opens the request list filtered by it: its two requests, no other.
  await tenants.getByRole('link', { name: alpha }).click();
  await expect(page).toHaveURL(new RegExp(`#/requests\\?tenant=${alpha}$`));
  await expect(page.getByRole('heading', { name: 'Requests' })).toBeVisible();
  await expect(page.getByRole('list', { name: 'Requests' }).getByRole('button')).toHaveCount(2);
});
