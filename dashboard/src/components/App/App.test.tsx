import { screen, within } from '@testing-library/react';
import type { WireInfo, WireTimeseries } from '../../api/wireTypes';
import { jsonResponse, summary } from '../../test/fakes';
import { renderWithServices } from '../../test/renderWithServices';
import { App } from './App';

const baseInfo: WireInfo = {
  serviceName: 'OrdersService',
  serviceVersion: '1.0.0',
  sdkVersion: '0.1.0',
  contentCapture: false,
  historyCapacity: 1000,
  chat: null,
};

const emptySeries: WireTimeseries = { window: '5m', bucketSeconds: 15, buckets: [] };

function serve(info: WireInfo) {
  return vi.fn(async (input: RequestInfo | URL) => {
    const url = String(input);
    if (url.endsWith('/info')) return jsonResponse(info);
    if (url.includes('/timeseries')) return jsonResponse(emptySeries);
    if (url.includes('/summary')) return jsonResponse(summary());
    return jsonResponse({ items: [], nextCursor: null });
  }) as unknown as typeof fetch;
}

describe('App', () => {
  afterEach(() => {
    window.location.hash = '';
  });

  it('shows no Chat tab for a host without a chat endpoint, and says so on the chat route', async () => {
    window.location.hash = '#/chat';
    renderWithServices(<App />, serve(baseInfo));

    expect(await screen.findByText('This host has no chat endpoint')).toBeTruthy();
    const nav = screen.getByRole('navigation', { name: 'Pages' });
    expect(within(nav).getByRole('link', { name: 'Overview' })).toBeTruthy();
    expect(within(nav).getByRole('link', { name: 'Requests' })).toBeTruthy();
    expect(within(nav).queryByRole('link', { name: 'Chat' })).toBeNull();
  });

  it('shows no Chat tab when the host announces only a non-streaming chat endpoint', async () => {
    renderWithServices(<App />, serve({ ...baseInfo, chat: { endpoint: '/api/chat', streamEndpoint: null } }));

    expect(await screen.findByText('OrdersService')).toBeTruthy();
    const nav = screen.getByRole('navigation', { name: 'Pages' });
    expect(within(nav).queryByRole('link', { name: 'Chat' })).toBeNull();
  });

  it('shows the Chat tab for a host that announces a streaming chat endpoint', async () => {
    renderWithServices(<App />, serve({ ...baseInfo, chat: { endpoint: '/api/chat', streamEndpoint: '/api/chat/stream' } }));

    const nav = screen.getByRole('navigation', { name: 'Pages' });
    const chat = await within(nav).findByRole('link', { name: 'Chat' });
    expect(chat.getAttribute('href')).toBe('#/chat');
  });

  it('opens the Spend page from its tab, titled Spend', async () => {
    window.location.hash = '#/spend';
    const fetchMock = vi.fn(async (input: RequestInfo | URL) => {
      const url = String(input);
      if (url.endsWith('/info')) return jsonResponse(baseInfo);
      if (url.includes('/spend?')) {
        const by = new URLSearchParams(url.split('?')[1]).get('by');
        return jsonResponse({ by, window: '24h', from: '2026-11-26T20:00:00Z', to: '2026-11-27T20:00:00Z', totalCostUsd: 0, rows: [] });
      }
      return jsonResponse({ title: 'Not found.', status: 404 }, 404);
    }) as unknown as typeof fetch;
    renderWithServices(<App />, fetchMock);

    const nav = screen.getByRole('navigation', { name: 'Pages' });
    const spend = within(nav).getByRole('link', { name: 'Spend' });
    expect(spend.getAttribute('href')).toBe('#/spend');
    expect(spend.getAttribute('aria-current')).toBe('page');
    expect(await screen.findByRole('heading', { name: 'Spend' })).toBeTruthy();
    expect(await screen.findByRole('region', { name: 'By tenant' })).toBeTruthy();
    await vi.waitFor(() => expect(document.title).toContain('Spend'));
  });
});
