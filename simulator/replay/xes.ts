import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { SaxesParser } from 'saxes';
import { ReplayError } from './log';

/**
 * A streaming reader of XES (IEEE 1849) event logs, plain or gzipped, on a real XML parser
 * (saxes): any attribute order, line layout, entity or CDATA is read as XML says. The document is
 * never held whole; each trace is yielded as soon as it closes. Kept: the attributes of each trace
 * and event at their own level, whatever their type (string, date, int, float, boolean, id);
 * nested (meta-)attributes, lists, containers, log-level globals and classifiers are skipped.
 */

export interface XesEvent {
  readonly attributes: Readonly<Record<string, string>>;
  /** Line of the event's opening tag, for error messages. */
  readonly line: number;
}

export interface XesTrace {
  readonly attributes: Readonly<Record<string, string>>;
  readonly events: readonly XesEvent[];
  readonly line: number;
}

const ATTRIBUTE_TAGS = new Set(['string', 'date', 'int', 'float', 'boolean', 'id']);
/** Attribute elements that hold other attributes rather than a value of their own. */
const COLLECTION_TAGS = new Set(['list', 'container', 'values']);

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

/** Typed values in one canonical text form: booleans lower-case, numbers checked. */
function attributeValue(tag: string, value: string, where: () => string): string {
  if (tag === 'boolean') {
    const lower = value.trim().toLowerCase();
    if (lower !== 'true' && lower !== 'false')
      throw new ReplayError(`${where()}: boolean value "${value}" is not true or false; fix the log`);
    return lower;
  }
  if ((tag === 'int' || tag === 'float') && value.trim() !== '' && !Number.isFinite(Number(value))) {
    throw new ReplayError(`${where()}: ${tag} value "${value}" is not a number; fix the log`);
  }
  return value;
}

/** Yields the traces of an XES file (`.xes` or `.xes.gz`) one by one. */
export async function* readXesTraces(path: string): AsyncGenerator<XesTrace> {
  const source = createReadStream(path);
  const stream = path.endsWith('.gz') ? source.pipe(createGunzip()) : source;
  stream.setEncoding('utf8');
  source.on('error', (error) => stream.destroy(error));

  const parser = new SaxesParser({ position: true });
  // What each open element is to us: a trace, an event, an attribute of one of them, or anything
  // else (nested attributes, globals, extensions...).
  const stack: Array<'trace' | 'event' | 'attribute' | 'other'> = [];
  let trace: { attributes: Record<string, string>; events: XesEvent[]; line: number } | undefined;
  let event: { attributes: Record<string, string>; line: number } | undefined;
  const finished: XesTrace[] = [];
  let failure: Error | undefined;

  parser.on('error', (error) => {
    failure ??= new ReplayError(
      `${path}:${parser.line}:${parser.column}: not well-formed XML (${error.message.replace(/^(?:.*?:)?\d+:\d+: /, '')}); is this an XES log?`,
    );
  });
  parser.on('opentag', (node) => {
    if (failure !== undefined) return;
    const name = localName(node.name);
    const parent = stack.at(-1);
    // A trace is a child of the root <log>.
    if (name === 'trace' && stack.length === 1) {
      trace = { attributes: {}, events: [], line: parser.line };
      stack.push('trace');
      return;
    }
    if (name === 'event' && parent === 'trace' && trace !== undefined) {
      event = { attributes: {}, line: parser.line };
      stack.push('event');
      return;
    }
    if (
      (parent === 'trace' || parent === 'event') &&
      (ATTRIBUTE_TAGS.has(name) || COLLECTION_TAGS.has(name))
    ) {
      const key = node.attributes.key;
      const value = node.attributes.value;
      if (ATTRIBUTE_TAGS.has(name) && typeof key === 'string' && typeof value === 'string') {
        try {
          const text = attributeValue(name, value, () => `${path}:${parser.line}: attribute "${key}"`);
          if (parent === 'event' && event !== undefined) event.attributes[key] = text;
          else if (parent === 'trace' && trace !== undefined) trace.attributes[key] = text;
        } catch (error) {
          failure = error as Error;
        }
      }
      stack.push('attribute');
      return;
    }
    stack.push('other');
  });
  parser.on('closetag', () => {
    const top = stack.pop();
    if (top === 'event' && trace !== undefined && event !== undefined) {
      trace.events.push(event);
      event = undefined;
    } else if (top === 'trace' && trace !== undefined) {
      finished.push(trace);
      trace = undefined;
    }
  });

  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      parser.write(chunk);
      if (failure !== undefined) throw failure;
      yield* finished.splice(0);
    }
    parser.close();
  } catch (error) {
    if (error instanceof ReplayError) throw error;
    throw new ReplayError(
      `${path}: cannot read (${(error as Error).message}); is it a readable .xes or .xes.gz file?`,
    );
  } finally {
    stream.destroy();
  }
  if (failure !== undefined) throw failure;
  yield* finished.splice(0);
}
