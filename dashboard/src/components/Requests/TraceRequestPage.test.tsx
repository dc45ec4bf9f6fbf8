import { screen, waitFor } from '@testing-library/react';
import { parseHash } from '../../hooks/useHashRoute';
import { jsonResponse, record } from '../../test/fakes';
import { calledPaths, renderWithServices } from '../../test/renderWithServices';
import { TraceRequestPage } from './TraceRequestPage';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('TraceRequestPage', () => {
  it('parses an exemplar link to a trace', () => {
    expect(parseHash(`#/traces/${TRACE}`)).toEqual({ page: 'trace', traceId: TRACE });
  });

  it('finds the request of the trace and shows it', async () => {
    const found = record({ id: 'req-of-trace', traceId: TRACE, route: '/api/chat' });
    const fetchMock = vi.fn(async (input: RequestInfo | URL) => {
      const url = String(input);
      if (url.includes('/requests/req-of-trace')) return jsonResponse(found);
      if (url.includes('/requests?')) return jsonResponse({ items: [record({ id: 'other', traceId: `${TRACE.slice(0, 31)}0` }), found], nextCursor: null });
      return jsonResponse({ title: 'Not Found', status: 404 }, 404);
    });

    renderWithServices(<TraceRequestPage traceId={TRACE.toUpperCase()} />, fetchMock as unknown as typeof fetch);

    expect(await screen.findByText('req-of-trace')).toBeTruthy();
    // The id can show before the page asks for the whole request: wait for that call rather than race it.
    await waitFor(() => expect(calledPaths(fetchMock)).toContain('requests/req-of-trace'));
    expect(calledPaths(fetchMock)[0]).toBe(`requests?limit=5&q=${TRACE}`);
  });

  it('says so when no request of the history has the trace', async () => {
    const fetchMock = vi.fn(async () => jsonResponse({ items: [], nextCursor: null }));

    renderWithServices(<TraceRequestPage traceId={TRACE} />, fetchMock as unknown as typeof fetch);

    expect(await screen.findByText('No request for this trace')).toBeTruthy();
  });
});
