import type { WireProblem } from './wireTypes';

/** An HTTP failure, carrying the RFC 9457 problem details when the server sent them. */
export class ProblemError extends Error {
  readonly status: number;
  readonly problem: WireProblem | null;

  constructor(status: number, problem: WireProblem | null, fallback: string) {
    super(problem?.detail ?? problem?.title ?? fallback);
    this.name = 'ProblemError';
    this.status = status;
    this.problem = problem;
  }
}

export async function problemFromResponse(response: Response): Promise<ProblemError> {
  let problem: WireProblem | null = null;
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      problem = (await response.json()) as WireProblem;
    } catch {
      problem = null;
    }
  }
  return new ProblemError(response.status, problem, `HTTP ${response.status} ${response.statusText}`.trim());
}

export function describeError(error: unknown): string {
  if (error instanceof ProblemError) {
    return error.message;
  }
  if (error instanceof TypeError) {
    return 'The service cannot be reached.';
  }
  return error instanceof Error ? error.message : String(error);
}
