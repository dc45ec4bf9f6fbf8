import { Fragment } from 'react';
import type { WirePrice, WirePrices, WirePriceTier } from '../../api/wireTypes';
import { useHistoryClient } from '../../hooks/services';
import { useResource } from '../../hooks/useResource';
import type { Step } from '../../types/domain';

/** The rates of a price id: an entry's own, or one of its tiers with the entry it belongs to. */
interface Rates {
  entry: WirePrice;
  tier: WirePriceTier | null;
}

function findRates(prices: WirePrices | undefined, id: string): Rates | null {
  for (const entry of prices?.entries ?? []) {
    if (entry.id === id) return { entry, tier: null };
    const tier = entry.tiers.find((t) => t.id === id);
    if (tier) return { entry, tier };
  }
  return null;
}

function usd(perMillion: number): string {
  return `$${perMillion}`;
}

function RateList({ entry, tier }: Rates) {
  const rates = tier ?? entry;
  const parts = [`input ${usd(rates.inputPerMillion)}`];
  if (rates.cachedInputPerMillion !== null) parts.push(`cached ${usd(rates.cachedInputPerMillion)}`);
  if (rates.cacheWritePerMillion !== null) parts.push(`cache write ${usd(rates.cacheWritePerMillion)}`);
  parts.push(`output ${usd(rates.outputPerMillion)}`);
  return (
    <>
      <span>{parts.join(' · ')} per 1M tokens</span>
      {tier ? <span className="muted"> · calls above {tier.aboveInputTokens.toLocaleString('en-US')} input tokens</span> : null}
      <span className="muted">
        {' '}
        · {entry.origin}
        {entry.date ? `, ${entry.date}` : ''}
      </span>
      {entry.source ? (
        <>
          {' '}
          ·{' '}
          <a href={entry.source} target="_blank" rel="noreferrer noopener">
            source
          </a>
        </>
      ) : null}
    </>
  );
}

/**
 * Which price each LLM call's cost used: the step's price id and, from `api/prices`, its rates, origin, date and
 * source. Nothing when no step has a price (api/prices is then not asked).
 */
export function StepPrices({ steps }: { steps: Step[] }) {
  const client = useHistoryClient();
  const priced = steps.filter((step): step is Step & { price: string } => step.price !== null);
  const ids = [...new Set(priced.map((step) => step.price))];
  const prices = useResource(ids.length > 0 ? 'prices' : 'prices:none', (signal) =>
    ids.length > 0 ? client.prices(signal) : Promise.resolve(undefined),
  );
  if (ids.length === 0) return null;
  return (
    <section className="details-section" aria-label="Prices">
      <h3 className="details-title">
        Prices <span className="muted">· per LLM call</span>
      </h3>
      <dl className="kv">
        {ids.map((id) => {
          const rates = findRates(prices.data, id);
          const names = [...new Set(priced.filter((step) => step.price === id).map((step) => step.name))].join(', ');
          return (
            <Fragment key={id}>
              <dt>{names}</dt>
              <dd>
                <span className="mono selectable">{id}</span>
                <br />
                {rates ? (
                  <RateList entry={rates.entry} tier={rates.tier} />
                ) : prices.loading ? (
                  <span className="muted">loading rates…</span>
                ) : (
                  <span className="muted">not in the price table in force (changed since this call)</span>
                )}
              </dd>
            </Fragment>
          );
        })}
      </dl>
    </section>
  );
}
