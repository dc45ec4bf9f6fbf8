import { useCallback, useEffect, useRef, useState } from 'react';

export interface Resource<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Fetches again, keeping the current data on screen until the new answer arrives. */
  reload: () => void;
}

interface Settled<T> {
  key: string;
  token: string;
  data: T | undefined;
  error: unknown;
}

/**
 * Loads `load` whenever `key` changes, aborting the previous call. A reload keeps showing the
 * previous data (no flicker on live refreshes); a key change clears it.
 */
export function useResource<T>(key: string, load: (signal: AbortSignal) => Promise<T>): Resource<T> {
  const [generation, setGeneration] = useState(0);
  const token = `${key}#${generation}`;
  const [settled, setSettled] = useState<Settled<T> | null>(null);
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });

  useEffect(() => {
    const controller = new AbortController();
    loadRef.current(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setSettled({ key, token, data, error: undefined });
      },
      (error: unknown) => {
        if (!controller.signal.aborted)
          setSettled((previous) => ({ key, token, data: previous?.key === key ? previous.data : undefined, error }));
      },
    );
    return () => controller.abort();
  }, [key, token]);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  const current = settled?.key === key ? settled : null;
  return {
    data: current?.data,
    error: current?.error,
    loading: settled?.token !== token,
    reload,
  };
}
