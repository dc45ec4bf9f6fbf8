import { useEffect, useRef } from 'react';

/** Calls `callback` every `intervalMs` while the page is visible. */
export function useInterval(callback: () => void, intervalMs: number): void {
  const callbackRef = useRef(callback);
  useEffect(() => {
    callbackRef.current = callback;
  }, [callback]);
  useEffect(() => {
    const id = setInterval(() => {
      if (document.visibilityState !== 'hidden') callbackRef.current();
    }, intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
}
