import { formatDuration } from '../../model/format';
import { kindStyle, layoutWaterfall } from '../../model/waterfall';
import type { Step } from '../../types/domain';

const depthClasses: Record<number, string> = { 0: 'bar-depth-0', 1: 'bar-depth-1' };

/** The request's steps on one timeline: each bar at its offset, as wide as its duration. */
export function StepWaterfall({ steps, durationMs }: { steps: Step[]; durationMs: number }) {
  if (steps.length === 0) {
    return <p className="muted">No steps were recorded for this request.</p>;
  }
  const { totalMs, bars } = layoutWaterfall(steps, durationMs);
  return (
    <div className="waterfall">
      <div className="waterfall-scale" aria-hidden="true">
        <span>0</span>
        <span>{formatDuration(totalMs / 2)}</span>
        <span>{formatDuration(totalMs)}</span>
      </div>
      <ol className="waterfall-rows" aria-label="Steps">
        {bars.map(({ step, leftPct, widthPct }, index) => {
          const kind = kindStyle(step.kind);
          const fill = step.status === 'error' ? 'bar-error' : (kind?.className ?? depthClasses[step.depth] ?? 'bar-depth-2');
          return (
            <li
              key={`${step.name}-${index}`}
              className="waterfall-row"
              data-kind={step.kind}
              aria-label={`${step.name}${kind ? ` (${kind.label})` : ''}: starts at ${formatDuration(step.offsetMs)}, takes ${formatDuration(step.durationMs)}${step.status === 'error' ? `, failed: ${step.errorType ?? 'error'}` : ''}`}
            >
              <span className={`waterfall-name depth-${Math.min(step.depth, 3)}`}>
                {step.status === 'error' ? <span className="dot dot-error" aria-hidden="true" /> : null}
                {step.name}
                {kind ? (
                  <span className="waterfall-kind" aria-hidden="true">
                    {kind.label}
                  </span>
                ) : null}
              </span>
              <span className="waterfall-track">
                <span
                  className={`waterfall-bar ${fill}`}
                  data-testid="waterfall-bar"
                  style={{ left: `${leftPct}%`, width: `${widthPct}%` }}
                />
              </span>
              <span className="waterfall-duration">{formatDuration(step.durationMs)}</span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
