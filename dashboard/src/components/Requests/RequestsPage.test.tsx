import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { FakeEventSource, jsonResponse, record, summary } from '../../test/fakes';
import { calledPaths, renderWithServices } from '../../test/renderWithServices';
import { RequestsPage } from './RequestsPage';

function fakeFetch(items = [record({ id: 'aaa111', seq: 2 }), record({ id: 'bbb222', seq: 1, status: 'error', errorType: 'timeout', errorMessage: 'The provider timed out.', costUsd: null, unpriced: true })]) {
  return vi.fn(async (input: RequestInfo | URL) => {
    const url = String(input);
    if (url.includes('/summary')) return jsonResponse(summary({ byModel: [{ ...summary().byModel[0]!, model: 'gpt-4o' }] }));
    if (url.includes('/requests')) return jsonResponse({ items, nextCursor: null });
    return jsonResponse({ title: 'Not Found', status: 404 }, 404);
  });
}

describe('RequestsPage', () => {
  it('loads the newest requests and changes the request URL when a filter changes', async () => {
    const user = userEvent.setup();
    const fetchMock = fakeFetch();
    renderWithServices(<RequestsPage />, fetchMock as unknown as typeof fetch);

    expect(await screen.findByRole('button', { name: /aaa111/ })).toBeTruthy();
    expect(calledPaths(fetchMock)).toContain('requests?limit=100');

    await user.selectOptions(screen.getByLabelText('Status'), 'error');
    await waitFor(() => expect(calledPaths(fetchMock)).toContain('requests?limit=100&status=error'));

    await user.selectOptions(screen.getByLabelText('Model'), 'gpt-4o');
    await waitFor(() => expect(calledPaths(fetchMock)).toContain('requests?limit=100&status=error&model=gpt-4o'));

    await user.selectOptions(screen.getByLabelText('Route'), '/api/chat');
    await waitFor(() =>
      expect(calledPaths(fetchMock)).toContain('requests?limit=100&status=error&model=gpt-4o&route=%2Fapi%2Fchat'),
    );

    await user.type(screen.getByLabelText('Request or trace id'), 'bbb2');
    await waitFor(() =>
      expect(calledPaths(fetchMock).at(-1)).toBe('requests?limit=100&status=error&model=gpt-4o&route=%2Fapi%2Fchat&q=bbb2'),
    );

    await user.click(screen.getByRole('button', { name: 'Clear filters' }));
    await waitFor(() => expect(calledPaths(fetchMock).at(-1)).toBe('requests?limit=100'));
  }, 20_000);

  it('shows the replica of each request and filters by it', async () => {
    const user = userEvent.setup();
    const fetchMock = fakeFetch([
      record({ id: 'aaa111', seq: 2, replica: 'chat-1' }),
      record({ id: 'bbb222', seq: 1, replica: 'chat-2' }),
    ]);
    renderWithServices(<RequestsPage />, fetchMock as unknown as typeof fetch);

    const row = await screen.findByRole('button', { name: /bbb222/ });
    expect(within(row).getByText('chat-2')).toBeTruthy();

    await user.selectOptions(screen.getByLabelText('Replica'), 'chat-2');
    await waitFor(() => expect(calledPaths(fetchMock).at(-1)).toBe('requests?limit=100&replica=chat-2'));

    await user.click(screen.getByRole('button', { name: 'Clear filters' }));
    await waitFor(() => expect(calledPaths(fetchMock).at(-1)).toBe('requests?limit=100'));
  });

  it('opens filtered by the link, shows who each request was for, and filters by user and property', async () => {
    const user = userEvent.setup();
    const fetchMock = fakeFetch([
      record({ id: 'aaa111', seq: 2, userId: 'alice', tenantId: 'acme', properties: { plan: 'pro', experiment: 'b' } }),
      record({ id: 'bbb222', seq: 1, userId: 'bob', tenantId: 'acme' }),
    ]);
    renderWithServices(<RequestsPage link={{ tenant: 'acme' }} />, fetchMock as unknown as typeof fetch);

    const row = await screen.findByRole('button', { name: /aaa111/ });
    expect(calledPaths(fetchMock)[0]).toBe('requests?limit=100&tenant=acme');
    expect((screen.getByLabelText('Tenant') as HTMLInputElement).value).toBe('acme');
    expect(within(row).getByText('alice')).toBeTruthy();
    expect(within(row).getByTestId('tenant-chip').textContent).toBe('acme');

    await user.click(row);
    const details = screen.getByRole('region', { name: 'Request aaa111' });
    const properties = within(details).getByRole('region', { name: 'Properties' });
    expect(within(properties).getByText('plan')).toBeTruthy();
    expect(within(properties).getByText('pro')).toBeTruthy();
    expect(within(properties).getByText('experiment')).toBeTruthy();
    const identifiers = within(details).getByRole('region', { name: 'Identifiers' });
    expect(within(identifiers).getByText('alice')).toBeTruthy();
    expect(within(identifiers).getByText('acme')).toBeTruthy();

    await user.type(screen.getByLabelText('User'), 'alice');
    await waitFor(() => expect(calledPaths(fetchMock).at(-1)).toBe('requests?limit=100&user=alice&tenant=acme'));
    await user.type(screen.getByLabelText('Property'), 'plan:pro');
    await waitFor(() =>
      expect(calledPaths(fetchMock).at(-1)).toBe('requests?limit=100&user=alice&tenant=acme&property=plan%3Apro'),
    );

    await user.click(screen.getByRole('button', { name: 'Clear filters' }));
    await waitFor(() => expect(calledPaths(fetchMock).at(-1)).toBe('requests?limit=100'));
    expect((screen.getByLabelText('Tenant') as HTMLInputElement).value).toBe('');
  }, 20_000);

  it('keeps a live request of another tenant out of a list filtered by tenant', async () => {
    const fetchMock = fakeFetch([record({ id: 'aaa111', seq: 1, tenantId: 'acme' })]);
    renderWithServices(<RequestsPage link={{ tenant: 'acme' }} />, fetchMock as unknown as typeof fetch);
    await screen.findByRole('button', { name: /aaa111/ });
    act(() => {
      FakeEventSource.latest().emit('request', record({ id: 'ccc333', seq: 3, tenantId: 'globex' }));
      FakeEventSource.latest().emit('request', record({ id: 'ddd444', seq: 4, tenantId: 'acme' }));
    });
    expect(await screen.findByRole('button', { name: /ddd444/ })).toBeTruthy();
    expect(screen.queryByRole('button', { name: /ccc333/ })).toBeNull();
  });

  it('expands a row from the keyboard into its details', async () => {
    const user = userEvent.setup();
    renderWithServices(<RequestsPage />, fakeFetch() as unknown as typeof fetch);
    const row = await screen.findByRole('button', { name: /bbb222/ });
    expect(row.getAttribute('aria-expanded')).toBe('false');
    row.focus();
    await user.keyboard('{Enter}');
    expect(row.getAttribute('aria-expanded')).toBe('true');
    const details = screen.getByRole('region', { name: 'Request bbb222' });
    expect(within(details).getByRole('list', { name: 'Steps' })).toBeTruthy();
    expect(within(details).getAllByText('timeout').length).toBeGreaterThan(0);
    expect(within(details).getByText('The provider timed out.')).toBeTruthy();
    expect(within(details).getByText('unpriced')).toBeTruthy();
    expect(within(details).getByText('4bf92f3577b34da6a3ce929d0e0e4736')).toBeTruthy();
    await user.keyboard(' ');
    expect(row.getAttribute('aria-expanded')).toBe('false');
  });

  it('puts live requests on top, and reloads the first page after the stream reconnects', async () => {
    const fetchMock = fakeFetch();
    renderWithServices(<RequestsPage />, fetchMock as unknown as typeof fetch);
    await screen.findByRole('button', { name: /aaa111/ });
    const source = FakeEventSource.latest();
    act(() => {
      source.open();
      source.emit('request', record({ id: 'ccc333', seq: 3 }));
    });
    await waitFor(() => {
      const rows = within(screen.getByRole('list', { name: 'Requests' })).getAllByRole('button');
      expect(rows[0]?.textContent).toContain('ccc333');
    });

    const before = calledPaths(fetchMock).filter((path) => path.startsWith('requests')).length;
    act(() => source.fail());
    await waitFor(() => expect(FakeEventSource.instances.length).toBe(2));
    act(() => FakeEventSource.latest().open());
    await waitFor(() =>
      expect(calledPaths(fetchMock).filter((path) => path.startsWith('requests')).length).toBe(before + 1),
    );
  });

  it('shows the error state when the history cannot be loaded', async () => {
    const fetchMock = vi.fn(async () => jsonResponse({ title: 'Forbidden', status: 403, detail: 'Loopback clients only.' }, 403));
    renderWithServices(<RequestsPage />, fetchMock as unknown as typeof fetch);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Loopback clients only.');
    expect(within(alert).getByRole('button', { name: 'Retry' })).toBeTruthy();
  });

  it('shows the empty state when there is no request yet', async () => {
    renderWithServices(<RequestsPage />, fakeFetch([]) as unknown as typeof fetch);
    expect(await screen.findByText('No requests yet')).toBeTruthy();
  });
});
