import { expect, test } from '@playwright/test';

const dashboard = '/llm-apm/';

interface Replicas {
  replicas: { replica: string; requests: number; lastRequestAt: string }[];
}

test("the Overview's replica select lists the replica that served, from api/replicas, and filters by it", async ({ page }) => {
  const chat = await page.request.post('/api/chat', { data: { message: '/echo Which replica answers?' } });
  expect(chat.status()).toBe(200);
  const { requestId } = (await chat.json()) as { requestId: string };

  // The record says which replica served it; api/replicas lists it (the history may hold earlier runs' replicas too).
  let replica = '';
  await expect(async () => {
    const record = (await (await page.request.get(`${dashboard}api/requests/${requestId}`)).json()) as { replica: string | null };
    expect(record.replica).toBeTruthy();
    replica = record.replica ?? '';
    const listed = (await (await page.request.get(`${dashboard}api/replicas?window=24h`)).json()) as Replicas;
    expect(listed.replicas.find((r) => r.replica === replica)?.requests).toBeGreaterThanOrEqual(1);
  }).toPass();
  const listed = (await (await page.request.get(`${dashboard}api/replicas?window=24h`)).json()) as Replicas;

  await page.goto(`${dashboard}#/`);
  const select = page.getByRole('combobox', { name: 'Replica' });
  await expect(select.locator('option', { hasText: replica })).toHaveCount(1);
  await expect(select.locator('option')).toHaveCount(listed.replicas.length + 1);
  if (listed.replicas.length === 1) await expect(select).toBeDisabled();

  // The hash selects it: the cards are that replica's summary, and a link opens its requests.
  await page.goto(`${dashboard}#/?replica=${encodeURIComponent(replica)}`);
  await expect(select).toHaveValue(replica);
  const summary = (await (await page.request.get(`${dashboard}api/summary?window=5m&replica=${encodeURIComponent(replica)}`)).json()) as { count: number };
  expect(summary.count).toBeGreaterThanOrEqual(1);
  await expect(page.getByRole('group', { name: 'Total requests' }).locator('.stat-value')).toHaveText(summary.count.toLocaleString('en-US'));
  await page.getByRole('link', { name: 'Its requests' }).click();
  await expect(page).toHaveURL(new RegExp(`#/requests\\?replica=${encodeURIComponent(replica).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  await expect(page.getByLabel('Replica')).toHaveValue(replica);
});
