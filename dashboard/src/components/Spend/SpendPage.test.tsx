import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { SpendDimension, WireBudgets, WireSpend } from '../../api/wireTypes';
import { jsonResponse } from '../../test/fakes';
import { calledPaths, renderWithServices } from '../../test/renderWithServices';
import { SpendPage } from './SpendPage';

const rowsBy: Record<SpendDimension, WireSpend['rows']> = {
  tenant: [
    { key: 'acme', requests: 12, costUsd: 0.75, inputTokens: 12000, outputTokens: 3400, unpricedRequests: 0 },
    { key: 'globex', requests: 5, costUsd: 0.25, inputTokens: 5000, outputTokens: 900, unpricedRequests: 1 },
    { key: null, requests: 2, costUsd: 0, inputTokens: 80, outputTokens: 20, unpricedRequests: 0 },
  ],
  user: [{ key: 'ann@acme', requests: 7, costUsd: 0.5, inputTokens: 7000, outputTokens: 2000, unpricedRequests: 0 }],
  route: [{ key: '/api/chat', requests: 19, costUsd: 1, inputTokens: 17080, outputTokens: 4320, unpricedRequests: 1 }],
  model: [{ key: 'gpt-4o-mini', requests: 19, costUsd: 1, inputTokens: 17080, outputTokens: 4320, unpricedRequests: 1 }],
};

function spend(path: string): WireSpend {
  const params = new URLSearchParams(path.split('?')[1]);
  const by = (params.get('by') ?? 'tenant') as SpendDimension;
  return {
    by,
    window: (params.get('window') ?? '24h') as WireSpend['window'],
    from: '2026-11-26T20:00:00Z',
    to: '2026-11-27T20:00:00Z',
    totalCostUsd: 1,
    rows: rowsBy[by],
  };
}

const budgets: WireBudgets = {
  budgets: [
    { name: 'per-tenant', scope: 'tenant', key: 'acme', period: 'day', limitUsd: 1, spentUsd: 0.9, ratio: 0.9, hard: false, resetsAt: '2026-11-28T00:00:00Z' },
    { name: 'global', scope: 'global', key: null, period: 'month', limitUsd: 100, spentUsd: 1, ratio: 0.01, hard: true, resetsAt: '2026-12-01T00:00:00Z' },
  ],
};

function fakeService(budgetAnswer: () => Response) {
  return vi.fn(async (input: RequestInfo | URL) => {
    const url = String(input);
    if (url.includes('/spend?')) return jsonResponse(spend(url));
    if (url.endsWith('/budgets')) return budgetAnswer();
    return jsonResponse({ title: 'Not found.', status: 404 }, 404);
  });
}

describe('SpendPage', () => {
  it('shows the cost by tenant, user, route and model, each name linking to its requests, and refetches for another window', async () => {
    const user = userEvent.setup();
    const fetchMock = fakeService(() => jsonResponse(budgets));
    renderWithServices(<SpendPage />, fetchMock as unknown as typeof fetch);

    const tenants = await screen.findByRole('region', { name: 'By tenant' });
    expect(within(tenants).getByRole('link', { name: 'acme' }).getAttribute('href')).toBe('#/requests?tenant=acme');
    expect(within(tenants).getByRole('link', { name: 'globex' }).getAttribute('href')).toBe('#/requests?tenant=globex');
    // Requests without a tenant are a row, but the request list cannot filter by "none".
    expect(within(tenants).getByText('(no tenant)').closest('a')).toBeNull();
    const acme = within(tenants).getByRole('row', { name: /acme/ });
    expect(acme.textContent).toContain('$0.7500');
    expect(acme.textContent).toContain('12,000');
    expect(within(tenants).getByLabelText('75% of the total')).toBeTruthy();
    // globex had an unpriced request: its cost is a lower bound, never read as complete.
    expect(within(tenants).getByRole('row', { name: /globex/ }).textContent).toContain('≥ $0.2500 + unpriced');

    const users = screen.getByRole('region', { name: 'By user' });
    expect(within(users).getByRole('link', { name: 'ann@acme' }).getAttribute('href')).toBe('#/requests?user=ann%40acme');
    const routes = screen.getByRole('region', { name: 'By route' });
    expect(within(routes).getByRole('link', { name: '/api/chat' }).getAttribute('href')).toBe('#/requests?route=%2Fapi%2Fchat');
    const models = screen.getByRole('region', { name: 'By model' });
    expect(within(models).getByRole('link', { name: 'gpt-4o-mini' }).getAttribute('href')).toBe('#/requests?model=gpt-4o-mini');
    expect(screen.getByTestId('spend-total').textContent).toBe('$1.00');

    expect(calledPaths(fetchMock)).toEqual(
      expect.arrayContaining([
        'spend?window=24h&by=tenant&limit=10',
        'spend?window=24h&by=user&limit=10',
        'spend?window=24h&by=route&limit=10',
        'spend?window=24h&by=model&limit=10',
      ]),
    );
    await user.click(screen.getByRole('button', { name: '7d' }));
    expect(screen.getByRole('button', { name: '7d' }).getAttribute('aria-pressed')).toBe('true');
    await waitFor(() => expect(calledPaths(fetchMock)).toEqual(expect.arrayContaining(['spend?window=7d&by=tenant&limit=10', 'spend?window=7d&by=model&limit=10'])));
  });

  it('shows a gauge per budget, warning from 80 %', async () => {
    renderWithServices(<SpendPage />, fakeService(() => jsonResponse(budgets)) as unknown as typeof fetch);

    const gauge = await screen.findByRole('meter', { name: 'per-tenant · acme' });
    expect(gauge.getAttribute('aria-valuenow')).toBe('90');
    expect(gauge.closest('li')?.className).toContain('budget-warn');
    expect(gauge.closest('li')?.textContent).toContain('soft');
    const global = screen.getByRole('meter', { name: 'global' });
    expect(global.getAttribute('aria-valuenow')).toBe('1');
    expect(global.closest('li')?.className).toContain('budget-ok');
    expect(global.closest('li')?.textContent).toContain('hard');
  });

  it('tells how to configure a budget when there is none', async () => {
    renderWithServices(<SpendPage />, fakeService(() => jsonResponse({ budgets: [] })) as unknown as typeof fetch);

    const section = await screen.findByRole('region', { name: 'Budgets' });
    expect(section.textContent).toContain('No budgets are configured');
    expect(section.textContent).toContain('LlmApm:Budgets');
  });

  it('shows the spend and no budgets section for a service without api/budgets (404)', async () => {
    renderWithServices(<SpendPage />, fakeService(() => jsonResponse({ title: 'Not found.', status: 404 }, 404)) as unknown as typeof fetch);

    await screen.findByRole('region', { name: 'By tenant' });
    await waitFor(() => expect(screen.queryByRole('region', { name: 'Budgets' })).toBeNull());
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.queryByText('The budgets could not be loaded.')).toBeNull();
  });

  it('says so when the budgets fail otherwise, and shows an error state when the spend cannot be read', async () => {
    const fetchMock = vi.fn(async (input: RequestInfo | URL) =>
      String(input).endsWith('/budgets')
        ? jsonResponse({ title: 'Boom', status: 500 }, 500)
        : jsonResponse({ title: 'The request history is unavailable.', detail: 'database is locked', status: 503, requestId: 'r-1' }, 503),
    );
    renderWithServices(<SpendPage />, fetchMock as unknown as typeof fetch);

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('The spend could not be loaded');
    expect(alert.textContent).toContain('database is locked');
    expect(await screen.findByText('The budgets could not be loaded.')).toBeTruthy();
  });
});
