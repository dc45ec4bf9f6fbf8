import type { SummaryWindow } from '../../api/wireTypes';

export const windows: readonly SummaryWindow[] = ['1m', '5m', '1h', '24h'];

const windowLabels: Record<SummaryWindow, string> = {
  '1m': 'Last minute',
  '5m': 'Last 5 minutes',
  '1h': 'Last hour',
  '24h': 'Last 24 hours',
};

export function WindowSelector({ value, onChange }: { value: SummaryWindow; onChange: (window: SummaryWindow) => void }) {
  return (
    <div className="segmented" role="group" aria-label="Time window">
      {windows.map((window) => (
        <button
          key={window}
          type="button"
          className="segment"
          aria-pressed={window === value}
          title={windowLabels[window]}
          onClick={() => onChange(window)}
        >
          {window}
        </button>
      ))}
    </div>
  );
}
