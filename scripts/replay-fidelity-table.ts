/**
 * Renders the README's replay fidelity table from `flowtune replay --policy all --json` outputs,
 * so the figures in the docs are a run's, not typed in:
 *   npx tsx scripts/replay-fidelity-table.ts out/helpdesk.json out/bank.json out/bpic.json
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const Metrics = z.object({ meanWait: z.number(), utilisation: z.number() });
const Output = z.object({
  log: z.string(),
  fidelity: z.object({
    ratio: z.number(),
    reproducible: z.boolean(),
    reason: z.string().optional(),
    staffing: z.object({ breakGapSeconds: z.number(), capacityQuantile: z.number() }),
  }),
  logged: Metrics,
  asLogged: Metrics,
  results: z.array(z.object({ policy: z.string(), metrics: Metrics })),
});

const duration = (value: number) =>
  value < 100
    ? `${value.toFixed(1)} s`
    : value < 6000
      ? `${(value / 60).toFixed(1)} min`
      : `${(value / 3600).toFixed(1)} h`;
const pct = (value: number) => `${(value * 100).toFixed(1)} %`;

const rows = process.argv.slice(2).map((path) => Output.parse(JSON.parse(readFileSync(path, 'utf8'))));
const lines = [
  '| log | mean wait: log / as-logged (ratio) | utilisation: log / as-logged | staffing (capacity quantile, break gap) | verdict | Flowtune | longest-idle FCFS | best baseline |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const row of rows) {
  const { fidelity } = row;
  const flowtune = row.results.find((result) => result.policy === 'flowtune');
  const fcfs = row.results.find((result) => result.policy === 'longest-idle-fcfs');
  const best = row.results
    .filter((result) => result.policy !== 'flowtune')
    .sort((left, right) => left.metrics.meanWait - right.metrics.meanWait)[0];
  const verdict = fidelity.reproducible ? 'reproduced' : `NOT REPRODUCIBLE: ${fidelity.reason ?? ''}`;
  const policy = (result: typeof flowtune) =>
    result === undefined ? '–' : duration(result.metrics.meanWait);
  lines.push(
    `| ${row.log.split('/').at(-1)} | ${duration(row.logged.meanWait)} / ${duration(row.asLogged.meanWait)} (${fidelity.ratio.toFixed(2)}×) | ${pct(row.logged.utilisation)} / ${pct(row.asLogged.utilisation)} | p${Math.round(fidelity.staffing.capacityQuantile * 100)}, ${duration(fidelity.staffing.breakGapSeconds)} | ${verdict} | ${policy(flowtune)} | ${policy(fcfs)} | ${best === undefined ? '–' : `${best.policy} ${duration(best.metrics.meanWait)}`} |`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
