import { useId, useState, type PointerEvent } from 'react';
import { niceScale } from '../../model/chartScale';
import { formatTime } from '../../model/format';
import { useElementWidth } from '../../hooks/useElementWidth';

export interface ChartSeries {
  key: string;
  label: string;
  color: string;
  /** One value per bucket; null is no value (a line breaks there, a bar is left out). */
  values: (number | null)[];
  /** The read-out of a bucket when the value alone would mislead (e.g. a cost with unpriced requests). */
  describe?: (index: number) => string | undefined;
  /** A line chart's series drawn as points only (no line), e.g. one request per bucket. */
  points?: boolean;
  /** A link per point: the point is drawn as a link to it (e.g. the request behind the value). */
  link?: (index: number) => { href: string; label: string } | undefined;
}

/** The runs of consecutive non-null values of a line, as [start, end] indexes (inclusive). */
export function lineRuns(values: (number | null)[]): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  values.forEach((value, i) => {
    if (value === null) {
      if (start >= 0) runs.push([start, i - 1]);
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  });
  if (start >= 0) runs.push([start, values.length - 1]);
  return runs;
}

export interface TimeSeriesChartProps {
  title: string;
  times: Date[];
  series: ChartSeries[];
  kind: 'line' | 'bar';
  formatValue: (value: number) => string;
  emptyLabel?: string;
  /** The read-out of a bucket without a value (default '—'). */
  noValueLabel?: string;
  /** Counts: y-axis ticks on whole numbers. */
  integer?: boolean;
}

const HEIGHT = 176;
const PAD = { top: 10, right: 10, bottom: 22 };
/** Approximate width of one character of the 11px axis labels. */
const AXIS_CHAR_PX = 6.6;

/** A small hand-written SVG chart: lines, or bars stacked per bucket, with a hover read-out. */
export function TimeSeriesChart({ title, times, series, kind, formatValue, emptyLabel, noValueLabel = '—', integer = false }: TimeSeriesChartProps) {
  const [containerRef, width] = useElementWidth<HTMLDivElement>(560);
  const [hover, setHover] = useState<number | null>(null);
  const titleId = useId();
  const n = times.length;
  const stackedTotals = times.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const maxValue =
    kind === 'bar' ? Math.max(0, ...stackedTotals) : Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
  const { max, step } = niceScale(maxValue, 4, integer);
  const ticks: number[] = [];
  for (let i = 0; i * step <= max + step / 2; i++) ticks.push(Number((i * step).toPrecision(12)));
  const tickLabels = ticks.map((tick) => formatValue(tick));
  // The y-axis is as wide as its longest label.
  const padLeft = Math.max(32, Math.ceil(Math.max(...tickLabels.map((label) => label.length)) * AXIS_CHAR_PX) + 12);
  const plotW = Math.max(40, width - padLeft - PAD.right);
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const bucketW = n > 0 ? plotW / n : plotW;
  const y = (value: number) => PAD.top + plotH - (value / max) * plotH;
  const xCenter = (i: number) => padLeft + bucketW * (i + 0.5);
  const labelIndexes = n > 0 ? [...new Set([0, Math.floor((n - 1) / 2), n - 1])] : [];
  const allZero = maxValue === 0;

  const onPointerMove = (event: PointerEvent<SVGSVGElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    const x = event.clientX - rect.left - padLeft;
    const index = Math.floor(x / bucketW);
    setHover(index >= 0 && index < n ? index : null);
  };

  return (
    <figure className="chart card" aria-labelledby={titleId}>
      <figcaption className="chart-header">
        <span id={titleId} className="chart-title">
          {title}
        </span>
        <span className="chart-legend">
          {series.map((s) => (
            <span key={s.key} className="legend-item">
              <svg width="10" height="10" aria-hidden="true">
                <rect width="10" height="10" rx="2" style={{ fill: s.color }} />
              </svg>
              {s.label}
            </span>
          ))}
        </span>
      </figcaption>
      <div className="chart-body" ref={containerRef}>
        <svg
          width={width}
          height={HEIGHT}
          role="img"
          aria-label={`${title} over time`}
          onPointerMove={onPointerMove}
          onPointerLeave={() => setHover(null)}
        >
          {ticks.map((tick, index) => (
            <g key={tick}>
              <line x1={padLeft} x2={padLeft + plotW} y1={y(tick)} y2={y(tick)} className="chart-grid" />
              <text x={padLeft - 6} y={y(tick)} className="chart-axis" textAnchor="end" dominantBaseline="middle">
                {tickLabels[index]}
              </text>
            </g>
          ))}
          {labelIndexes.map((i) => (
            <text
              key={i}
              x={xCenter(i)}
              y={HEIGHT - 6}
              className="chart-axis"
              textAnchor={i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle'}
            >
              {times[i] ? formatTime(times[i]) : ''}
            </text>
          ))}
          {hover !== null ? (
            <rect
              x={padLeft + bucketW * hover}
              y={PAD.top}
              width={bucketW}
              height={plotH}
              className="chart-hover"
            />
          ) : null}
          {kind === 'bar'
            ? times.map((_, i) => {
                let base = 0;
                const barW = Math.max(1, bucketW * 0.7);
                return (
                  <g key={i}>
                    {series.map((s) => {
                      const value = s.values[i] ?? 0;
                      if (value <= 0) return null;
                      const top = y(base + value);
                      const height = y(base) - top;
                      base += value;
                      return (
                        <rect
                          key={s.key}
                          x={xCenter(i) - barW / 2}
                          y={top}
                          width={barW}
                          height={Math.max(0.5, height)}
                          style={{ fill: s.color }}
                          rx={barW > 6 ? 1.5 : 0}
                        />
                      );
                    })}
                  </g>
                );
              })
            : series.map((s) =>
                s.points ? (
                  <g key={s.key} data-series={s.key}>
                    {s.values.map((value, i) => {
                      if (value === null) return null;
                      const link = s.link?.(i);
                      const dot = <circle cx={xCenter(i)} cy={y(value)} r={3} className="chart-point" style={{ fill: s.color }} />;
                      return link ? (
                        <a key={i} href={link.href} aria-label={link.label} className="chart-point-link">
                          <title>{link.label}</title>
                          {dot}
                        </a>
                      ) : (
                        <g key={i}>{dot}</g>
                      );
                    })}
                  </g>
                ) : (
                // A bucket without a value is a gap: the line is drawn run by run, a lone value as a dot.
                <g key={s.key} data-series={s.key}>
                  {lineRuns(s.values).map(([from, to]) =>
                    from === to ? (
                      <circle key={from} cx={xCenter(from)} cy={y(s.values[from] ?? 0)} r={1.75} style={{ fill: s.color }} />
                    ) : (
                      <path
                        key={from}
                        d={s.values
                          .slice(from, to + 1)
                          .map((v, i) => `${i === 0 ? 'M' : 'L'}${xCenter(from + i).toFixed(1)},${y(v ?? 0).toFixed(1)}`)
                          .join('')}
                        fill="none"
                        style={{ stroke: s.color }}
                        strokeWidth={1.75}
                        strokeLinejoin="round"
                        strokeLinecap="round"
                      />
                    ),
                  )}
                </g>
                ),
              )}
          {kind === 'line' && hover !== null
            ? series.map((s) => {
                const value = s.values[hover];
                return value === null || value === undefined ? null : (
                  <circle key={s.key} cx={xCenter(hover)} cy={y(value)} r={3} className="chart-hover-point" style={{ fill: s.color }} />
                );
              })
            : null}
        </svg>
        {allZero && emptyLabel ? <p className="chart-empty">{emptyLabel}</p> : null}
        {hover !== null && times[hover] ? (
          <div
            className={`chart-tooltip ${xCenter(hover) > width / 2 ? 'chart-tooltip-left' : ''}`}
            style={{ left: xCenter(hover) }}
            aria-hidden="true"
          >
            <div className="chart-tooltip-time">{formatTime(times[hover])}</div>
            {series.map((s) => (
              <div key={s.key} className="chart-tooltip-row">
                <svg width="8" height="8" aria-hidden="true">
                  <rect width="8" height="8" rx="2" style={{ fill: s.color }} />
                </svg>
                <span>{s.label}</span>
                <strong>{readOut(s, hover, formatValue, noValueLabel)}</strong>
              </div>
            ))}
          </div>
        ) : null}
      </div>
    </figure>
  );
}

function readOut(s: ChartSeries, index: number, formatValue: (value: number) => string, noValueLabel: string): string {
  const described = s.describe?.(index);
  if (described !== undefined) return described;
  const value = s.values[index];
  return value === null || value === undefined ? noValueLabel : formatValue(value);
}
