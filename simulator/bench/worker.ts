import { parentPort } from 'node:worker_threads';
import { type BenchTask, executeTask, type TaskContext } from './tasks';

/** Benchmark worker thread: runs tasks posted by the pool, one at a time, and posts results back. */
const context: TaskContext = { replays: new Map() };
parentPort?.on('message', (task: BenchTask) => {
  void executeTask(task, context).then((result) => parentPort?.postMessage(result));
});
