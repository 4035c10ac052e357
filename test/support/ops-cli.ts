import { runOpsSubcommand } from '../../ops/cli/ops';

/** Runs `flowtune ops <args> --endpoint <url> --actor <actor>` in-process and returns what it printed. */
export async function runOps(
  endpoint: string,
  actor: string,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOpsSubcommand([...args, '--endpoint', endpoint, '--actor', actor], {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env: {},
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
