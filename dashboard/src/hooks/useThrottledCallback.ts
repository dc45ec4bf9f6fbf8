import { useCallback, useEffect, useRef } from 'react';

/**
 * Returns a function that calls `callback` at most once per `intervalMs`: the first call runs at once,
 * calls inside the interval collapse into one trailing call at its end.
 */
export function useThrottledCallback(callback: () => void, intervalMs: number): () => void {
  const callbackRef = useRef(callback);
  const lastRun = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    callbackRef.current = callback;
  }, [callback]);

  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
    },
    [],
  );

  return useCallback(() => {
    if (timer.current !== null) return;
    const wait = lastRun.current + intervalMs - Date.now();
    if (wait <= 0) {
      lastRun.current = Date.now();
      callbackRef.current();
      return;
    }
    timer.current = setTimeout(() => {
      timer.current = null;
      lastRun.current = Date.now();
      callbackRef.current();
    }, wait);
  }, [intervalMs]);
}
