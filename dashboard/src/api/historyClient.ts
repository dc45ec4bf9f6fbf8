import { problemFromResponse } from './problemError';
import type {
  SpendDimension,
  SpendWindow,
  SummaryWindow,
  WireBudgets,
  WireFeedback,
  WireInfo,
  WirePrices,
  WireRequestPage,
  WireReplicas,
  WireRequestRecord,
  WireScore,
  WireScoreInput,
  WireSpend,
  WireSummary,
  WireTimeseries,
} from './wireTypes';

export interface RequestQuery {
  limit?: number;
  before?: string | null;
  status?: 'ok' | 'error' | '';
  model?: string;
  route?: string;
  replica?: string;
  q?: string;
  negative?: boolean;
  user?: string;
  tenant?: string;
  /** `key` or `key:value`. */
  property?: string;
}

/** Typed client for the history API of docs/api.md. `baseUrl` ends with `api/`. */
export class HistoryClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(baseUrl: string, fetchImpl: typeof fetch = (input, init) => fetch(input, init)) {
    this.baseUrl = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
    this.fetchImpl = fetchImpl;
  }

  info(signal?: AbortSignal): Promise<WireInfo> {
    return this.get<WireInfo>('info', signal);
  }

  /** The summary of a window, of every replica or of one. */
  summary(window: SummaryWindow, signal?: AbortSignal, replica?: string): Promise<WireSummary> {
    return this.get<WireSummary>(`summary?${windowQuery(window, replica)}`, signal);
  }

  /** The time series of a window, of every replica or of one. */
  timeseries(window: SummaryWindow, signal?: AbortSignal, replica?: string): Promise<WireTimeseries> {
    return this.get<WireTimeseries>(`timeseries?${windowQuery(window, replica)}`, signal);
  }

  /** The replicas that served requests in a window (GET api/replicas). */
  replicas(window: SummaryWindow, signal?: AbortSignal): Promise<WireReplicas> {
    return this.get<WireReplicas>(`replicas?window=${window}`, signal);
  }

  requests(query: RequestQuery, signal?: AbortSignal): Promise<WireRequestPage> {
    return this.get<WireRequestPage>(this.requestsPath(query), signal);
  }

  request(id: string, signal?: AbortSignal): Promise<WireRequestRecord> {
    return this.get<WireRequestRecord>(`requests/${encodeURIComponent(id)}`, signal);
  }

  feedback(window: SummaryWindow, signal?: AbortSignal): Promise<WireFeedback> {
    return this.get<WireFeedback>(`feedback?window=${window}`, signal);
  }

  /** The price entries in force (GET api/prices), for the rates behind a step's price id. */
  prices(signal?: AbortSignal): Promise<WirePrices> {
    return this.get<WirePrices>('prices', signal);
  }

  /** Adds a score to a finished request (POST api/requests/{id}/scores). */
  async addScore(id: string, score: WireScoreInput, signal?: AbortSignal): Promise<WireScore> {
    const response = await this.fetchImpl(`${this.baseUrl}requests/${encodeURIComponent(id)}/scores`, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify(score),
      signal,
    });
    if (!response.ok) {
      throw await problemFromResponse(response);
    }
    return (await response.json()) as WireScore;
  }

  /** Cost of a window by one dimension (GET api/spend). */
  spend(window: SpendWindow, by: SpendDimension, limit: number, signal?: AbortSignal): Promise<WireSpend> {
    return this.get<WireSpend>(`spend?window=${window}&by=${by}&limit=${limit}`, signal);
  }

  /** The configured budgets and their spend (GET api/budgets); an older service answers 404. */
  budgets(signal?: AbortSignal): Promise<WireBudgets> {
    return this.get<WireBudgets>('budgets', signal);
  }

  requestsPath(query: RequestQuery): string {
    const params = new URLSearchParams();
    params.set('limit', String(query.limit ?? 100));
    if (query.before) params.set('before', query.before);
    if (query.status) params.set('status', query.status);
    if (query.model) params.set('model', query.model);
    if (query.route) params.set('route', query.route);
    if (query.replica) params.set('replica', query.replica);
    if (query.q) params.set('q', query.q);
    if (query.negative) params.set('negative', 'true');
    if (query.user) params.set('user', query.user);
    if (query.tenant) params.set('tenant', query.tenant);
    if (query.property) params.set('property', query.property);
    return `requests?${params.toString()}`;
  }

  get streamUrl(): string {
    return `${this.baseUrl}stream`;
  }

  private async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    const response = await this.fetchImpl(`${this.baseUrl}${path}`, {
      headers: { Accept: 'application/json' },
      signal,
    });
    if (!response.ok) {
      throw await problemFromResponse(response);
    }
    return (await response.json()) as T;
  }
}

function windowQuery(window: SummaryWindow, replica: string | undefined): string {
  const params = new URLSearchParams({ window });
  if (replica) params.set('replica', replica);
  return params.toString();
}
