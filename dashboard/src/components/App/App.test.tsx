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
});
