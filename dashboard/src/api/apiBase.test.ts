import { apiBaseFrom } from './apiBase';

describe('apiBaseFrom', () => {
  it('puts the API in the api/ folder beside the page, under any prefix', () => {
    expect(apiBaseFrom({ origin: 'http://h:5199', pathname: '/llm-apm/' })).toBe('http://h:5199/llm-apm/api/');
    expect(apiBaseFrom({ origin: 'http://h', pathname: '/ops/apm/index.html' })).toBe('http://h/ops/apm/api/');
    expect(apiBaseFrom({ origin: 'http://h', pathname: '/' })).toBe('http://h/api/');
  });
});
