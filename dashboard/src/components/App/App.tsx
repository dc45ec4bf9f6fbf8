import { useEffect } from 'react';
import type { WireInfo } from '../../api/wireTypes';
import { useHistoryClient, useLiveStream } from '../../hooks/services';
import { ChatSessionProvider } from '../../hooks/useChatSession';
import { requestsHref, useHashRoute, type Route } from '../../hooks/useHashRoute';
import { useResource, type Resource } from '../../hooks/useResource';
import { ChatPage } from '../Chat/ChatPage';
import { HistoryBanner } from '../Common/HistoryBanner';
import { EmptyState } from '../Common/StateViews';
import { LiveIndicator } from '../Common/LiveIndicator';
import { OverviewPage } from '../Overview/OverviewPage';
import { RequestDetailPage } from '../Requests/RequestDetailPage';
import { RequestsPage } from '../Requests/RequestsPage';
import { TraceRequestPage } from '../Requests/TraceRequestPage';
import { SpendPage } from '../Spend/SpendPage';

const navItems: { page: 'overview' | 'requests' | 'spend' | 'chat'; label: string; href: string }[] = [
  { page: 'overview', label: 'Overview', href: '#/overview' },
  { page: 'requests', label: 'Requests', href: '#/requests' },
  { page: 'spend', label: 'Spend', href: '#/spend' },
  { page: 'chat', label: 'Chat', href: '#/chat' },
];

const pageTitles: Record<Route['page'], string> = {
  overview: 'Overview',
  requests: 'Requests',
  request: 'Request',
  trace: 'Request',
  chat: 'Chat',
  spend: 'Spend',
  'not-found': 'Not found',
};

export function App() {
  const client = useHistoryClient();
  const route = useHashRoute();
  const info = useResource('info', (signal) => client.info(signal));
  const current = route.page === 'request' || route.page === 'trace' ? 'requests' : route.page;
  // The Chat tab only for a host that announces a streaming chat endpoint (api/info `chat.streamEndpoint`).
  const chatEndpoint = info.data?.chat?.streamEndpoint ?? null;
  const pages = navItems.filter((item) => item.page !== 'chat' || chatEndpoint !== null);
  // The service is back after a restart: read its info again (the chat endpoint may have been unknown).
  useLiveStream({ onReconnect: info.reload });

  useEffect(() => {
    const service = info.data?.serviceName;
    document.title = `${pageTitles[route.page]} · ${service ? `${service} · ` : ''}LLM-APM`;
  }, [route.page, info.data?.serviceName]);

  return (
    <ChatSessionProvider endpoint={chatEndpoint}>
      <a className="skip-link" href="#main" onClick={(event) => { event.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">LLM-APM</span>
          {info.data ? (
            <span className="brand-service" title={`SDK ${info.data.sdkVersion}`}>
              {info.data.serviceName} <span className="muted">{info.data.serviceVersion}</span>
            </span>
          ) : null}
        </div>
        <nav className="nav" aria-label="Pages">
          {pages.map((item) => (
            <a key={item.page} href={item.href} className="nav-link" aria-current={current === item.page ? 'page' : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        <LiveIndicator />
      </header>
      <HistoryBanner />
      <main id="main" tabIndex={-1}>
        <Page route={route} info={info} />
      </main>
    </ChatSessionProvider>
  );
}

function Page({ route, info }: { route: Route; info: Resource<WireInfo> }) {
  switch (route.page) {
    case 'overview':
      return <OverviewPage replica={route.replica} />;
    case 'requests':
      // A link with other filters (from the spend view) starts the page afresh with them.
      return <RequestsPage key={requestsHref(route.filter)} link={route.filter} />;
    case 'request':
      return <RequestDetailPage key={route.id} id={route.id} />;
    case 'trace':
      return <TraceRequestPage key={route.traceId} traceId={route.traceId} />;
    case 'chat':
      return <ChatPage info={info} />;
    case 'spend':
      return <SpendPage />;
    default:
      return (
        <div className="page">
          <EmptyState title="Page not found">
            <a className="link" href="#/overview">
              Go to the overview
            </a>
          </EmptyState>
        </div>
      );
  }
}
