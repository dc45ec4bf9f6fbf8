import { defineConfig } from '@playwright/test';

// End-to-end tests: headless Debian Chromium (never a downloaded browser) against the real sample
// chat service, which the run starts itself on port 5199 and which serves this dashboard.
const port = Number(process.env.E2E_PORT ?? 5199);
export const serviceUrl = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: './e2e',
  outputDir: './test-results/artifacts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    baseURL: serviceUrl,
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1360, height: 860 },
    colorScheme: 'light',
    trace: 'off',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: `dotnet run --project ../samples/ChatService -c Release --no-launch-profile -- --urls ${serviceUrl}`,
    url: `${serviceUrl}/health`,
    // The first run builds the service (and, through the SDK's build, this dashboard).
    timeout: 600_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      ASPNETCORE_ENVIRONMENT: 'Development',
      DOTNET_CLI_TELEMETRY_OPTOUT: '1',
      DOTNET_NOLOGO: '1',
    },
  },
});
