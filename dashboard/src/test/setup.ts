// jsdom has no ResizeObserver; components measure with it, so give them a silent one.
class SilentResizeObserver {
  observe(): void {}
  unobserve(): void {}
  disconnect(): void {}
}

if (!('ResizeObserver' in globalThis)) {
  (globalThis as unknown as { ResizeObserver: typeof SilentResizeObserver }).ResizeObserver = SilentResizeObserver;
}
