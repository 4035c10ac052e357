import { readLogJobs, mappingFor } from './simulator/replay';
for (const f of process.argv.slice(2)) {
  const t = performance.now();
  const r = await readLogJobs(f, mappingFor(f));
  console.log(f, r.jobs.length, JSON.stringify(r.skipped), ((performance.now()-t)/1000).toFixed(1)+'s', new Set(r.jobs.map(j=>j.resource)).size);
}
