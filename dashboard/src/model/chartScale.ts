/** A "nice" upper bound and tick step for a y axis that starts at zero. */
export function niceScale(maxValue: number, tickCount = 4, integer = false): { max: number; step: number } {
  if (!Number.isFinite(maxValue) || maxValue <= 0) return integer ? { max: tickCount, step: 1 } : { max: 1, step: 1 / tickCount };
  const rough = integer ? Math.max(1, maxValue / tickCount) : maxValue / tickCount;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const residual = rough / magnitude;
  const nice = residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 2.5 && !(integer && magnitude === 1) ? 2.5 : residual <= 5 ? 5 : 10;
  const step = nice * magnitude;
  return { max: step * Math.ceil(maxValue / step), step };
}
