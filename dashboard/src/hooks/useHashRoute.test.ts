import { overviewHref, parseHash, requestsHref } from './useHashRoute';

describe('useHashRoute', () => {
  it('reads the Overview replica from the hash and writes it back', () => {
    expect(parseHash('#/')).toEqual({ page: 'overview' });
    expect(parseHash('#/overview')).toEqual({ page: 'overview' });
    expect(parseHash('#/?replica=chat-service-2')).toEqual({ page: 'overview', replica: 'chat-service-2' });
    expect(parseHash('#/overview?replica=')).toEqual({ page: 'overview' });

    const odd = 'host a/b?c&d=1';
    expect(overviewHref(odd)).toBe('#/?replica=host+a%2Fb%3Fc%26d%3D1');
    expect(parseHash(overviewHref(odd))).toEqual({ page: 'overview', replica: odd });
    expect(overviewHref('')).toBe('#/');
    expect(overviewHref()).toBe('#/');
  });

  it('carries the replica in a link to the request list', () => {
    const href = requestsHref({ replica: 'chat-service-1', model: 'gpt-4o' });
    expect(href).toBe('#/requests?model=gpt-4o&replica=chat-service-1');
    expect(parseHash(href)).toEqual({ page: 'requests', filter: { model: 'gpt-4o', replica: 'chat-service-1' } });
  });
});
