/**
 * The smallest magnitude DynamoDB stores (its numbers range over 1E-130 to 9.99E+125 in size):
 * a policy is stored as attributes, so a smaller non-zero number (a double like 1e-161 is valid
 * JSON and passes a 0–1 bound) would be accepted at the edge and then fail every write.
 */
export const SMALLEST_STORABLE_MAGNITUDE = 1e-130;

/** True for 0 and for numbers DynamoDB can store. */
export function isStorableNumber(value: number): boolean {
  return value === 0 || Math.abs(value) >= SMALLEST_STORABLE_MAGNITUDE;
}

export const NOT_STORABLE_MESSAGE = 'must be 0 or at least 1e-130 in size (smaller numbers cannot be stored)';
