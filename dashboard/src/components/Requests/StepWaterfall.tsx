import { formatDuration } from '../../model/format';
import { kindStyle, layoutWaterfall } from '../../model/waterfall';
import type { Step } from '../../types/domain';

const depthClasses: Record<number, string> = { 0: 'bar-depth-0', 1: 'bar-depth-1' };

/** The request's steps on one timeline: each bar at its offset, as wide as its duration; a step made inside another
 * (its span's child, such as an HTTP call of a tool) is indented under it by its depth. */
export function StepWaterfall({ steps, durationMs, droppedSteps = 0 }: { steps: Step[]; durationMs: number; droppedSteps?: number }) {
  const dropped =
    droppedSteps > 0 ? (
      <p className="muted waterfall-dropped">
        {droppedSteps} more {droppedSteps === 1 ? 'span' : 'spans'} of other sources not kept (the per-request bound,
        LlmApm:MaxSourceStepsPerRequest): see the whole trace in the trace backend.
      </p>
    ) : null;
  if (steps.length === 0 && dropped) return dropped;
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
              data-depth={step.depth}
              aria-label={`${step.name}${kind ? ` (${kind.label})` : ''}: starts at ${formatDuration(step.offsetMs)}, takes ${formatDuration(step.durationMs)}${step.status === 'error' ? `, failed: ${step.errorType ?? 'error'}` : ''}${step.price ? `, priced by ${step.price}` : ''}`}
              title={step.price ? `Price: ${step.price}` : undefined}
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
      {dropped}
    </div>
  );
}
