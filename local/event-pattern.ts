import { BlockList, isIP } from 'node:net';

/**
 * An EventBridge event-pattern matcher for the local event router. No maintained npm library
 * evaluates EventBridge patterns, so this implements the documented language, following the
 * semantics of aws/event-ruler (the engine behind EventBridge):
 *
 * - fields are ANDed, the values listed for one field are ORed; `$or` (an array of two or more
 *   objects) ORs whole sub-patterns at any level;
 * - exact values (string, number, boolean, null; numbers compare numerically), `prefix`,
 *   `suffix` (each optionally `{ "equals-ignore-case": ... }`), `equals-ignore-case`,
 *   `wildcard` (`*` for any run of characters, `\*` and `\\` escaped), `numeric` ranges,
 *   `exists`, `cidr` (IPv4 and IPv6) and `anything-but` (a value, a list of values, or a
 *   `prefix` / `suffix` / `equals-ignore-case` / `wildcard` matcher);
 * - a leaf in the event that is an array matches when any element matches; objects inside arrays
 *   are matched element by element, so two fields never match across different elements;
 * - string operators only match strings and `numeric` only numbers; `anything-but` never matches
 *   an absent field; `exists` only sees leaves (an object is not a leaf).
 *
 * Known difference from event-ruler: `{ "exists": false }` below an array of objects is checked
 * per element (Ruler checks the whole event). Flowtune's rules do not use it.
 */

/** A pattern that cannot be evaluated; the message names the path and the offending value. */
export class InvalidEventPatternError extends Error {
  constructor(path: string, problem: string) {
    super(`Invalid event pattern at ${path}: ${problem}`);
    this.name = 'InvalidEventPatternError';
  }
}

type LeafValue = string | number | boolean | null;
type LeafTest = (value: LeafValue) => boolean;

/** One field's compiled matcher: it gets every leaf value found at the field (maybe none). */
type FieldMatcher = (leaves: readonly LeafValue[]) => boolean;

/** A compiled object pattern. */
type ObjectMatcher = (event: unknown) => boolean;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isLeaf = (value: unknown): value is LeafValue =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

const describe = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** Every leaf value at a field: arrays are flattened, objects are not leaves. */
function leavesOf(value: unknown): LeafValue[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap(leavesOf);
  return isLeaf(value) ? [value] : [];
}

/** Every object at a field: arrays are flattened ("crushed out", as Ruler does). */
function objectsOf(value: unknown): Record<string, unknown>[] {
  if (Array.isArray(value)) return value.flatMap(objectsOf);
  return isPlainObject(value) ? [value] : [];
}

function requireString(path: string, operator: string, value: unknown): string {
  if (typeof value !== 'string')
    throw new InvalidEventPatternError(path, `${operator} takes a string, got ${describe(value)}`);
  return value;
}

/** A string operand that may be wrapped in `{ "equals-ignore-case": "..." }`. */
function stringOperand(
  path: string,
  operator: string,
  value: unknown,
): { text: string; ignoreCase: boolean } {
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'equals-ignore-case') {
      return {
        text: requireString(path, `${operator}.equals-ignore-case`, value['equals-ignore-case']),
        ignoreCase: true,
      };
    }
    throw new InvalidEventPatternError(
      path,
      `${operator} takes a string or { "equals-ignore-case": string }, got ${describe(value)}`,
    );
  }
  return { text: requireString(path, operator, value), ignoreCase: false };
}

function compileWildcard(path: string, pattern: string): RegExp {
  let source = '';
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] as string;
    if (char === '\\') {
      const next = pattern[index + 1];
      if (next !== '*' && next !== '\\') {
        throw new InvalidEventPatternError(
          path,
          `wildcard "${pattern}": a backslash may only escape "*" or "\\"`,
        );
      }
      source += `\\${next}`;
      index++;
    } else if (char === '*') {
      if (pattern[index + 1] === '*') {
        throw new InvalidEventPatternError(path, `wildcard "${pattern}": consecutive "*" are not allowed`);
      }
      source += '.*';
    } else {
      source += char.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 's');
}

const NUMERIC_OPERATORS: Readonly<Record<string, (actual: number, bound: number) => boolean>> = {
  '<': (actual, bound) => actual < bound,
  '<=': (actual, bound) => actual <= bound,
  '=': (actual, bound) => actual === bound,
  '>': (actual, bound) => actual > bound,
  '>=': (actual, bound) => actual >= bound,
};

function compileNumeric(path: string, spec: unknown): LeafTest {
  if (!Array.isArray(spec) || spec.length === 0 || spec.length % 2 !== 0 || spec.length > 4) {
    throw new InvalidEventPatternError(
      path,
      `numeric takes [op, number] or [op, number, op, number], got ${describe(spec)}`,
    );
  }
  const conditions: ((actual: number) => boolean)[] = [];
  for (let index = 0; index < spec.length; index += 2) {
    const operator = spec[index];
    const bound = spec[index + 1];
    const compare = typeof operator === 'string' ? NUMERIC_OPERATORS[operator] : undefined;
    if (compare === undefined || typeof bound !== 'number') {
      throw new InvalidEventPatternError(
        path,
        `numeric: "${String(operator)}" ${describe(bound)} is not <, <=, =, >, >= followed by a number`,
      );
    }
    conditions.push((actual) => compare(actual, bound));
  }
  return (value) => typeof value === 'number' && conditions.every((condition) => condition(value));
}

function compileCidr(path: string, spec: unknown): LeafTest {
  const text = requireString(path, 'cidr', spec);
  const [network, bitsText] = text.split('/');
  const family = network === undefined ? 0 : isIP(network);
  const bits = Number(bitsText);
  const maxBits = family === 6 ? 128 : 32;
  if (network === undefined || family === 0 || !Number.isInteger(bits) || bits < 0 || bits > maxBits) {
    throw new InvalidEventPatternError(
      path,
      `cidr "${text}" is not an IPv4 or IPv6 network such as "10.0.0.0/24"`,
    );
  }
  const type = family === 6 ? 'ipv6' : 'ipv4';
  const block = new BlockList();
  block.addSubnet(network, bits, type);
  return (value) => typeof value === 'string' && isIP(value) === family && block.check(value, type);
}

/** The string matchers anything-but may wrap (and that also stand alone). */
function compileStringMatcher(path: string, operator: string, operand: unknown): LeafTest {
  switch (operator) {
    case 'prefix': {
      const { text, ignoreCase } = stringOperand(path, operator, operand);
      const expected = ignoreCase ? text.toLowerCase() : text;
      return (value) =>
        typeof value === 'string' && (ignoreCase ? value.toLowerCase() : value).startsWith(expected);
    }
    case 'suffix': {
      const { text, ignoreCase } = stringOperand(path, operator, operand);
      const expected = ignoreCase ? text.toLowerCase() : text;
      return (value) =>
        typeof value === 'string' && (ignoreCase ? value.toLowerCase() : value).endsWith(expected);
    }
    case 'equals-ignore-case': {
      const options = (Array.isArray(operand) ? operand : [operand]).map((item) =>
        requireString(path, operator, item).toLowerCase(),
      );
      return (value) => typeof value === 'string' && options.includes(value.toLowerCase());
    }
    case 'wildcard': {
      const expressions = (Array.isArray(operand) ? operand : [operand]).map((item) =>
        compileWildcard(path, requireString(path, operator, item)),
      );
      return (value) => typeof value === 'string' && expressions.some((expression) => expression.test(value));
    }
    default:
      throw new InvalidEventPatternError(path, `unknown operator "${operator}"`);
  }
}

function compileAnythingBut(path: string, spec: unknown): LeafTest {
  if (isPlainObject(spec)) {
    const keys = Object.keys(spec);
    const operator = keys[0];
    if (keys.length !== 1 || operator === undefined) {
      throw new InvalidEventPatternError(path, `anything-but takes one matcher, got ${describe(spec)}`);
    }
    const excluded = compileStringMatcher(path, operator, spec[operator]);
    // Like the positive string matchers, the negated ones only judge strings.
    return (value) => typeof value === 'string' && !excluded(value);
  }
  const values: readonly unknown[] = Array.isArray(spec) ? spec : [spec];
  const allStrings = values.every((value) => typeof value === 'string');
  const allNumbers = values.every((value) => typeof value === 'number');
  if (values.length === 0 || (!allStrings && !allNumbers)) {
    throw new InvalidEventPatternError(
      path,
      `anything-but takes a string, a number, or a list of only strings or only numbers, got ${describe(spec)}`,
    );
  }
  const excluded = new Set<unknown>(values);
  return (value) => !excluded.has(value);
}

function compileFieldValue(path: string, item: unknown): { test: LeafTest; exists?: boolean } {
  if (isLeaf(item)) return { test: (value) => value === item };
  if (!isPlainObject(item)) {
    throw new InvalidEventPatternError(
      path,
      `a pattern value must be a literal or a matcher object, got ${describe(item)}`,
    );
  }
  const keys = Object.keys(item);
  const operator = keys[0];
  if (keys.length !== 1 || operator === undefined) {
    throw new InvalidEventPatternError(
      path,
      `a matcher object has exactly one operator, got ${describe(item)}`,
    );
  }
  const operand = item[operator];
  switch (operator) {
    case 'exists':
      if (typeof operand !== 'boolean')
        throw new InvalidEventPatternError(path, `exists takes true or false, got ${describe(operand)}`);
      return { test: () => true, exists: operand };
    case 'numeric':
      return { test: compileNumeric(path, operand) };
    case 'cidr':
      return { test: compileCidr(path, operand) };
    case 'anything-but':
      return { test: compileAnythingBut(path, operand) };
    default:
      return { test: compileStringMatcher(path, operator, operand) };
  }
}

function compileField(path: string, values: readonly unknown[]): FieldMatcher {
  if (values.length === 0)
    throw new InvalidEventPatternError(path, 'an empty list matches nothing; list at least one value');
  const alternatives = values.map((item, index) => compileFieldValue(`${path}[${index}]`, item));
  return (leaves) =>
    alternatives.some((alternative) => {
      if (alternative.exists === true) return leaves.length > 0;
      if (alternative.exists === false) return leaves.length === 0;
      return leaves.some(alternative.test);
    });
}

const isOrClause = (key: string, value: unknown): value is Record<string, unknown>[] =>
  key === '$or' && Array.isArray(value) && value.length >= 2 && value.every(isPlainObject);

function compileObject(path: string, pattern: Record<string, unknown>): ObjectMatcher {
  const checks: ObjectMatcher[] = [];
  for (const [key, value] of Object.entries(pattern)) {
    const fieldPath = path === '' ? key : `${path}.${key}`;
    if (isOrClause(key, value)) {
      const alternatives = value.map((alternative, index) =>
        compileObject(`${fieldPath}[${index}]`, alternative),
      );
      checks.push((event) => alternatives.some((alternative) => alternative(event)));
    } else if (Array.isArray(value)) {
      const field = compileField(fieldPath, value);
      checks.push((event) => field(leavesOf(isPlainObject(event) ? event[key] : undefined)));
    } else if (isPlainObject(value)) {
      const nested = compileObject(fieldPath, value);
      checks.push((event) => {
        const candidates = objectsOf(isPlainObject(event) ? event[key] : undefined);
        // With no object there, only absence tests (exists: false) can still hold.
        return candidates.length === 0 ? nested({}) : candidates.some(nested);
      });
    } else {
      throw new InvalidEventPatternError(
        fieldPath,
        `expected a list of values or a nested object, got ${describe(value)}`,
      );
    }
  }
  return (event) => checks.every((check) => check(event));
}

/**
 * Compiles a pattern once into a predicate; throws {@link InvalidEventPatternError} naming the
 * path of anything it cannot evaluate, so a typo in a rule fails loudly instead of never matching.
 *
 * @example
 * const isCreated = compileEventPattern({ 'detail-type': ['WorkItemCreated'] });
 * isCreated({ 'detail-type': 'WorkItemCreated', source: 'helpdesk', detail: {} }); // true
 */
export function compileEventPattern(pattern: unknown): (event: unknown) => boolean {
  if (!isPlainObject(pattern))
    throw new InvalidEventPatternError('(root)', `a pattern is a JSON object, got ${describe(pattern)}`);
  return compileObject('', pattern);
}

/**
 * Whether `event` matches `pattern` (compiles the pattern each call; compile once with
 * {@link compileEventPattern} when matching many events).
 *
 * @example
 * matchesEventPattern({ source: [{ 'anything-but': 'flowtune' }] }, { source: 'crm' }); // true
 */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  return compileEventPattern(pattern)(event);
}
