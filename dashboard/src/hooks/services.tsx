import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import type { HistoryClient } from '../api/historyClient';
import type { LiveStatus, LiveStream, LiveStreamListener } from '../api/liveStream';

interface Services {
  client: HistoryClient;
  live: LiveStream;
}

const ServicesContext = createContext<Services | null>(null);

export function ServicesProvider({ client, live, children }: Services & { children: ReactNode }) {
  const [services] = useState(() => ({ client, live }));
  useEffect(() => {
    services.live.start();
    return () => services.live.stop();
  }, [services]);
  return <ServicesContext.Provider value={services}>{children}</ServicesContext.Provider>;
}

function useServices(): Services {
  const services = useContext(ServicesContext);
  if (!services) throw new Error('ServicesProvider is missing');
  return services;
}

export function useHistoryClient(): HistoryClient {
  return useServices().client;
}

/** Subscribes to the live stream for the component's lifetime; the latest handlers are always used. */
export function useLiveStream(listener: Omit<LiveStreamListener, 'onStatus'>): void {
  const { live } = useServices();
  const ref = useRef(listener);
  useEffect(() => {
    ref.current = listener;
  });
  useEffect(
    () =>
      live.subscribe({
        onRecord: (record) => ref.current.onRecord?.(record),
        onReconnect: () => ref.current.onReconnect?.(),
      }),
    [live],
  );
}

export function useLiveStatus(): LiveStatus {
  const { live } = useServices();
  const [status, setStatus] = useState<LiveStatus>(live.status);
  useEffect(() => live.subscribe({ onStatus: setStatus }), [live]);
  return status;
}
