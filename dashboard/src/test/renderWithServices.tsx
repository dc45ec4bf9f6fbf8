import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { HistoryClient } from '../api/historyClient';
import { LiveStream } from '../api/liveStream';
import { ServicesProvider } from '../hooks/services';
import { FakeEventSource } from './fakes';

export const API_BASE = 'http://dashboard.test/llm-apm/api/';

/** Renders `ui` with a history client on a fake fetch and a live stream on a fake EventSource. */
export function renderWithServices(ui: ReactElement, fetchImpl: typeof fetch) {
  FakeEventSource.instances = [];
  const client = new HistoryClient(API_BASE, fetchImpl);
  const live = new LiveStream(client.streamUrl, {
    createEventSource: (url) => new FakeEventSource(url),
    initialDelayMs: 10,
  });
  const result = render(
    <ServicesProvider client={client} live={live}>
      {ui}
    </ServicesProvider>,
  );
  return { ...result, client, live };
}

/** The URLs a fetch mock was called with, relative to the API base. */
export function calledPaths(fetchMock: { mock: { calls: unknown[][] } }): string[] {
  return fetchMock.mock.calls.map(([input]) => String(input).replace(API_BASE, ''));
}
