import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { apiBaseFrom } from './api/apiBase';
import { HistoryClient } from './api/historyClient';
import { LiveStream } from './api/liveStream';
import { App } from './components/App/App';
import { ServicesProvider } from './hooks/services';
import './styles/theme.css';
import './styles/app.css';

const client = new HistoryClient(apiBaseFrom(window.location));
const live = new LiveStream(client.streamUrl);

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing from index.html');

createRoot(root).render(
  <StrictMode>
    <ServicesProvider client={client} live={live}>
      <App />
    </ServicesProvider>
  </StrictMode>,
);
