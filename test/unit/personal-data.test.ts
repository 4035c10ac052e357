import { describe, expect, it } from 'vitest';
import { DEFAULT_PERSONAL_DATA, PersonalData, pseudonymiseShapes } from '../../domain/personal-data';
import {
  createPseudonymiser,
  LOCAL_PSEUDONYM_KEY,
  personalDataFromEnv,
  pseudonymiseDetail,
} from '../../lambdas/shared/pseudonymise';

const pseudonymise = createPseudonymiser(LOCAL_PSEUDONYM_KEY);

describe('personal-data rules', () => {
  it('names fields exactly, by wildcard, or at any depth', () => {
    // Prepare
    const rules = new PersonalData({
      fields: ['$.attributes.Email', '$.contacts.*', '$..customerId'],
      scanned: ['$.note'],
    });

    // Act + Assess
    expect(rules.isField(['attributes', 'Email'])).toBe(true);
    expect(rules.isField(['attributes', 'email'])).toBe(false);
    expect(rules.isField(['contacts', '0'])).toBe(true);
    expect(rules.isField(['customerId'])).toBe(true);
    expect(rules.isField(['order', 'lines', '2', 'customerId'])).toBe(true);
    expect(rules.isScanned(['note'])).toBe(true);
    expect(rules.isScanned(['subject'])).toBe(false);
  });

  it('refuses a path it cannot read, naming the variable', () => {
    // Act
    const loading = () =>
      personalDataFromEnv({ PERSONAL_DATA_RULES: '{"fields":["attributes.email"],"scanned":[]}' });

    // Assess
    expect(loading).toThrow(/PERSONAL_DATA_RULES fields.0 must be a JSON path/);
    expect(() => personalDataFromEnv({ PERSONAL_DATA_RULES: 'not json' })).toThrow(/must be JSON/);
    expect(personalDataFromEnv({}).rules).toEqual(DEFAULT_PERSONAL_DATA);
  });
});

describe('email- and phone-shaped text', () => {
  it('replaces emails and phones in free text by their pseudonyms, and nothing else', () => {
    // Prepare
    const note =
      'Call +44 20 7946 0958 or (212) 555-0147, mail ana.lopez@example.org; order 2026-12-04 #4471, ref 123456789.';

    // Act
    const cleaned = pseudonymiseShapes(note, pseudonymise);

    // Assess
    expect(cleaned).not.toContain('7946');
    expect(cleaned).not.toContain('555-0147');
    expect(cleaned).not.toContain('ana.lopez');
    expect(cleaned).toContain(pseudonymise('+44 20 7946 0958'));
    expect(cleaned).toContain(pseudonymise('ana.lopez@example.org'));
    expect(cleaned).toContain('order 2026-12-04 #4471, ref 123456789.');
    // Item ids (letters, digits, dashes) never look like phones.
    expect(pseudonymiseShapes('item HD-2026-555-0147', pseudonymise)).toBe('item HD-2026-555-0147');
  });

  it('is idempotent: pseudonyms already in the text stay as they are', () => {
    // Prepare
    const once = pseudonymiseShapes('reach me at +1 415 555 0100 or x@y.io', pseudonymise);

    // Act
    const twice = pseudonymiseShapes(once, pseudonymise);

    // Assess
    expect(twice).toBe(once);
  });
});

describe('pseudonymiseDetail with the default rules', () => {
  it('pseudonymises named fields anywhere and every email or phone in attributes, free text and unknown fields', () => {
    // Prepare
    const detail = {
      id: 'T-1',
      customerId: 'cust-42',
      customerEmail: 'cust42@example.com',
      attributes: {
        Email: 'ana@example.org',
        customer_email: 'ben@example.org',
        phone: '+49 30 1234567',
        tier: 'gold',
      },
      note: 'customer asked to be called back on +33 1 23 45 67 89',
      createdAt: '2026-12-04T18:00:00.000Z',
    };

    // Act
    const cleaned = pseudonymiseDetail(detail, pseudonymise) as typeof detail;

    // Assess
    const text = JSON.stringify(cleaned);
    for (const raw of ['cust-42', 'cust42@', 'ana@', 'ben@', '1234567', '45 67 89'])
      expect(text).not.toContain(raw);
    expect(cleaned.customerId).toBe(pseudonymise('cust-42'));
    expect(cleaned.attributes.tier).toBe('gold');
    expect(cleaned.createdAt).toBe(detail.createdAt);
    expect(cleaned.id).toBe('T-1');
    expect(pseudonymiseDetail(cleaned, pseudonymise)).toEqual(cleaned);
  });
});
