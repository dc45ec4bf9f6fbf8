import { act, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WireInfo } from '../../api/wireTypes';
import { jsonResponse } from '../../test/fakes';
import { calledPaths, renderWithServices } from '../../test/renderWithServices';
import { HISTORY_STATUS_REFRESH_MS, HistoryBanner } from './HistoryBanner';

function info(history: WireInfo['history']): WireInfo {
  return {
    serviceName: 'ChatService',
    serviceVersion: '1.0.0',
    sdkVersion: '0.1.0',
    contentCapture: false,
    historyCapacity: 10000,
    chat: null,
    history,
  };
}

const degraded = {
  status: 'degraded' as const,
  reason: "The request history database '/data/llm-apm-history.db' cannot be opened: the disk is full. To fix: free space.",
};

describe('HistoryBanner', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says when the price file could not be loaded, beside a healthy history', async () => {
    const fetchMock = vi.fn(async () =>
      jsonResponse({
        ...info({ status: 'healthy', reason: null }),
        priceFile: {
          path: '/etc/llm-apm/prices.json',
          loadedAt: '2026-12-02T03:00:00Z',
          failedAt: '2026-12-02T03:05:00Z',
          error: 'prices[3] (fake/house) has a negative price.',
          entries: 4,
        },
      }),
    );
    renderWithServices(<HistoryBanner />, fetchMock);

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Price file not loaded.');
    expect(alert.textContent).toContain('prices[3] (fake/house) has a negative price.');
    expect(alert.textContent).not.toContain('Request history degraded.');
  });

  it('shows the reason when the history is degraded', async () => {
    const fetchMock = vi.fn(async () => jsonResponse(info(degraded)));
    renderWithServices(<HistoryBanner />, fetchMock);

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Request history degraded.');
    expect(alert.textContent).toContain("'/data/llm-apm-history.db' cannot be opened: the disk is full");
    expect(calledPaths(fetchMock)).toContain('info');
  });

  it('shows nothing while the history is healthy, and appears when it degrades', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let current: WireInfo['history'] = { status: 'healthy', reason: null };
    const fetchMock = vi.fn(async () => jsonResponse(info(current)));
    renderWithServices(<HistoryBanner />, fetchMock);
    await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(1));
    await act(async () => {
      await Promise.resolve();
    });
    expect(screen.queryByRole('alert')).toBeNull();

    current = degraded;
    await act(async () => {
      vi.advanceTimersByTime(HISTORY_STATUS_REFRESH_MS);
    });

    expect((await screen.findByRole('alert')).textContent).toContain('the disk is full');
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });
});
