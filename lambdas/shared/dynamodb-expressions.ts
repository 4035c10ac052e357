/**
 * A small builder for DynamoDB expressions: every attribute name goes through a `#name`
 * placeholder (several of ours, like `status`, are reserved words) and every value through a
 * `:vN` placeholder, so expressions stay readable and injection-free.
 */
export class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private counter = 0;

  /** `#attr` for an attribute name. */
  name(attribute: string): string {
    const placeholder = `#${attribute.replace(/[^A-Za-z0-9_]/g, '_')}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }

  /** `:vN` for a value. */
  value(value: unknown): string {
    const placeholder = `:v${this.counter++}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  /** `NOT (#stage IN (:a, :b))`. */
  notIn(attribute: string, options: readonly string[]): string {
    return `NOT (${this.name(attribute)} IN (${options.map((option) => this.value(option)).join(', ')}))`;
  }

  /**
   * `SET #a = :v0, ... REMOVE #b, ...` from plain objects; undefined values are skipped so
   * optional fields are simply not written. `rawSet` entries are kept verbatim.
   */
  update(
    set: Readonly<Record<string, unknown>>,
    remove: readonly string[] = [],
    rawSet: readonly string[] = [],
  ) {
    const assignments = Object.entries(set)
      .filter(([, value]) => value !== undefined)
      .map(([attribute, value]) => `${this.name(attribute)} = ${this.value(value)}`);
    const all = [...assignments, ...rawSet];
    const parts: string[] = [];
    if (all.length > 0) parts.push(`SET ${all.join(', ')}`);
    if (remove.length > 0) parts.push(`REMOVE ${remove.map((attribute) => this.name(attribute)).join(', ')}`);
    return parts.join(' ');
  }

  /** The names and values to send, omitting empty maps (DynamoDB rejects them). */
  attributes(): {
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    return {
      ...(Object.keys(this.names).length > 0 ? { ExpressionAttributeNames: this.names } : {}),
      ...(Object.keys(this.values).length > 0 ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}

/** True for the error a failed ConditionExpression raises. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** The per-item cancellation codes of a cancelled transaction, or undefined for other errors. */
export function transactionCancellationCodes(error: unknown): (string | undefined)[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
  return (reasons ?? []).map((reason) => reason.Code);
}
