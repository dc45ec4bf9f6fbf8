import type { Step, StepKind } from '../types/domain';

export interface WaterfallBar {
  step: Step;
  /** Start of the bar, as a percentage of the timeline width. */
  leftPct: number;
  /** Width of the bar, as a percentage of the timeline width. */
  widthPct: number;
}

/** The kinds drawn in a style of their own, with their label; any other kind is drawn as a plain step. */
const kindStyles: Record<string, { className: string; label: string }> = {
  llm_call: { className: 'bar-kind-llm_call', label: 'LLM' },
  tool: { className: 'bar-kind-tool', label: 'tool' },
  embedding: { className: 'bar-kind-embedding', label: 'embedding' },
  agent: { className: 'bar-kind-agent', label: 'agent' },
};

/** The bar class and label of a step's kind, or null for a step drawn by its depth (the application's own, or an
 * unknown kind). */
export function kindStyle(kind: StepKind): { className: string; label: string } | null {
  return Object.hasOwn(kindStyles, kind) ? (kindStyles[kind] ?? null) : null;
}

/** Bars narrower than this are widened so that a very short step stays visible. */
export const MIN_BAR_PCT = 0.5;

/**
 * Places each step on a timeline that spans the request: offsetMs and durationMs to scale against
 * the request's duration (or the end of the last step, if a step outlives the request span).
 */
export function layoutWaterfall(steps: readonly Step[], requestDurationMs: number): {
  totalMs: number;
  bars: WaterfallBar[];
} {
  const stepsEnd = steps.reduce((end, step) => Math.max(end, step.offsetMs + step.durationMs), 0);
  const totalMs = Math.max(requestDurationMs, stepsEnd);
  if (totalMs <= 0) {
    return { totalMs: 0, bars: steps.map((step) => ({ step, leftPct: 0, widthPct: MIN_BAR_PCT })) };
  }
  const bars = steps.map((step) => {
    const leftPct = clamp((Math.max(0, step.offsetMs) / totalMs) * 100, 0, 100);
    const rawWidth = (Math.max(0, step.durationMs) / totalMs) * 100;
    const widthPct = Math.min(Math.max(rawWidth, MIN_BAR_PCT), 100 - Math.min(leftPct, 100 - MIN_BAR_PCT));
    return { step, leftPct: round(leftPct), widthPct: round(widthPct) };
  });
  return { totalMs, bars };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
