/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The service we develop against (samples/ChatService run with --urls http://127.0.0.1:5080).
const serviceUrl = process.env.LLM_APM_SERVICE_URL ?? 'http://127.0.0.1:5080';

export default defineConfig(({ command }) => ({
  // Built assets use relative URLs so the SDK can serve the dashboard under any prefix.
  // The dev server serves it at /llm-apm/ so that relative `api/...` URLs reach the proxy below.
  base: command === 'serve' ? '/llm-apm/' : './',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      '/llm-apm/api': { target: serviceUrl, changeOrigin: false },
      '/api': { target: serviceUrl, changeOrigin: false },
    },
  },
  preview: { port: 4173, strictPort: true },
  test: {
    environment: 'jsdom',
    globals: true,
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['./src/test/setup.ts'],
    restoreMocks: true,
  },
}));
