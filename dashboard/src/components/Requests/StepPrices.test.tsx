import { act, screen, within } from '@testing-library/react';
import type { WirePrices } from '../../api/wireTypes';
import { jsonResponse } from '../../test/fakes';
import { calledPaths, renderWithServices } from '../../test/renderWithServices';
import type { Step } from '../../types/domain';
import { StepPrices } from './StepPrices';

const prices: WirePrices = {
  updated: '2025-11',
  file: null,
  entries: [
    {
      id: 'anthropic/claude-sonnet-4-5@2025-09',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      kind: 'chat',
      origin: 'shipped',
      inputPerMillion: 3,
      cachedInputPerMillion: 0.3,
      cacheWritePerMillion: 3.75,
      outputPerMillion: 15,
      tiers: [
        {
          id: 'anthropic/claude-sonnet-4-5@2025-09#>200k',
          aboveInputTokens: 200000,
          inputPerMillion: 6,
          cachedInputPerMillion: 0.6,
          cacheWritePerMillion: 7.5,
          outputPerMillion: 22.5,
        },
      ],
      source: 'https://docs.anthropic.com/en/docs/about-claude/pricing',
      date: '2025-09',
    },
  ],
};

function step(name: string, kind: string, price: string | null): Step {
  return { name, offsetMs: 0, durationMs: 10, status: 'ok', errorType: null, depth: 0, kind, price };
}

function fakeFetch() {
  return vi.fn(async (input: RequestInfo | URL) =>
    String(input).endsWith('/prices') ? jsonResponse(prices) : jsonResponse({ title: 'Not Found', status: 404 }, 404),
  );
}

describe('StepPrices', () => {
  it('shows the price id of each LLM call with the rates of its entry or tier from api/prices', async () => {
    const fetchMock = fakeFetch();
    renderWithServices(
      <StepPrices
        steps={[
          step('preprocessing', 'step', null),
          step('llm_api_call', 'llm_call', 'anthropic/claude-sonnet-4-5@2025-09'),
          step('summarize', 'llm_call', 'anthropic/claude-sonnet-4-5@2025-09#>200k'),
        ]}
      />,
      fetchMock as unknown as typeof fetch,
    );

    const section = screen.getByRole('region', { name: 'Prices' });
    expect(within(section).getByText('anthropic/claude-sonnet-4-5@2025-09')).toBeTruthy();
    expect(
      await within(section).findByText('input $3 · cached $0.3 · cache write $3.75 · output $15 per 1M tokens'),
    ).toBeTruthy();
    expect(within(section).getByText('input $6 · cached $0.6 · cache write $7.5 · output $22.5 per 1M tokens')).toBeTruthy();
    expect(within(section).getByText(/calls above 200,000 input tokens/)).toBeTruthy();
    expect(within(section).getByText('summarize')).toBeTruthy();
    expect(within(section).queryByText('preprocessing')).toBeNull();
    const sources = within(section).getAllByRole('link', { name: 'source' });
    expect(sources[0]?.getAttribute('href')).toBe('https://docs.anthropic.com/en/docs/about-claude/pricing');
    expect(calledPaths(fetchMock)).toEqual(['prices']);
  });

  it('says when a price id is no longer in the table in force', async () => {
    renderWithServices(
      <StepPrices steps={[step('llm_api_call', 'llm_call', 'openai/gpt-4o@2024-01')]} />,
      fakeFetch() as unknown as typeof fetch,
    );
    expect(await screen.findByText(/not in the price table in force/)).toBeTruthy();
  });

  it('renders nothing and asks nothing when no step has a price', async () => {
    const fetchMock = fakeFetch();
    const { container } = renderWithServices(
      <StepPrices steps={[step('llm_api_call', 'llm_call', null)]} />,
      fetchMock as unknown as typeof fetch,
    );
    await act(async () => {});
    expect(container.textContent).toBe('');
    expect(fetchMock).not.toHaveBeenCalled();
  });
});
