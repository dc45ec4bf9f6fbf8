import { record } from '../test/fakes';
import { requestFromWire } from './fromWire';
import { emptyFilter, filterFromLink, matchesFilter, parseProperty } from './requestFilter';

describe('matchesFilter', () => {
  it('keeps a live record of the chosen replica only', () => {
    const fromOne = requestFromWire(record({ id: 'a', replica: 'chat-1' }));
    const fromTwo = requestFromWire(record({ id: 'b', replica: 'chat-2' }));
    const unknown = requestFromWire(record({ id: 'c', replica: null }));

    expect(matchesFilter(fromOne, { ...emptyFilter, replica: 'chat-1' })).toBe(true);
    expect(matchesFilter(fromTwo, { ...emptyFilter, replica: 'chat-1' })).toBe(false);
    expect(matchesFilter(unknown, { ...emptyFilter, replica: 'chat-1' })).toBe(false);
    expect(matchesFilter(unknown, emptyFilter)).toBe(true);
  });
});

describe('matchesFilter by who the request was for', () => {
  const alice = requestFromWire(record({ id: 'a', userId: 'alice', tenantId: 'acme', properties: { plan: 'pro' } }));
  const nobody = requestFromWire(record({ id: 'b' }));

  it('keeps the records of the user and tenant, exactly', () => {
    expect(matchesFilter(alice, { ...emptyFilter, user: 'alice', tenant: 'acme' })).toBe(true);
    expect(matchesFilter(alice, { ...emptyFilter, user: 'Alice' })).toBe(false);
    expect(matchesFilter(alice, { ...emptyFilter, tenant: 'globex' })).toBe(false);
    expect(matchesFilter(nobody, { ...emptyFilter, tenant: 'acme' })).toBe(false);
  });

  it('keeps the records that have a property, or a property with a value', () => {
    expect(matchesFilter(alice, { ...emptyFilter, property: 'plan' })).toBe(true);
    expect(matchesFilter(alice, { ...emptyFilter, property: 'plan:pro' })).toBe(true);
    expect(matchesFilter(alice, { ...emptyFilter, property: 'plan:free' })).toBe(false);
    expect(matchesFilter(nobody, { ...emptyFilter, property: 'plan' })).toBe(false);
    expect(matchesFilter(alice, { ...emptyFilter, property: 'constructor' })).toBe(false);
  });

  it('splits a property filter at its first colon', () => {
    expect(parseProperty('plan')).toEqual({ key: 'plan', value: null });
    expect(parseProperty('url:https://x')).toEqual({ key: 'url', value: 'https://x' });
  });

  it('starts from the filters of a link', () => {
    expect(filterFromLink({ tenant: 'acme', model: 'gpt-4o' })).toEqual({ ...emptyFilter, tenant: 'acme', model: 'gpt-4o' });
    expect(filterFromLink(undefined)).toEqual(emptyFilter);
  });

  it('reads an older service without attribution as nobody', () => {
    const older = record();
    // An older service sends none of the attribution fields.
    const wire = { ...older } as Partial<typeof older>;
    delete wire.userId;
    delete wire.tenantId;
    delete wire.properties;
    const domain = requestFromWire(wire as typeof older);
    expect(domain.userId).toBeNull();
    expect(domain.tenantId).toBeNull();
    expect(domain.properties).toEqual({});
  });
});
