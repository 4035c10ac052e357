import { Worker } from 'node:worker_threads';
import { type BenchTask, type BenchTaskResult, executeTask, type TaskContext } from './tasks';

/**
 * Runs tasks on `workers` worker threads (0 = in this thread), longest first as given, and
 * resolves with every result in task order. `onResult` is called as each one lands (progress).
 */
export async function runTasks(
  tasks: readonly BenchTask[],
  workers: number,
  onResult: (result: BenchTaskResult) => void,
): Promise<BenchTaskResult[]> {
  const results = new Map<number, BenchTaskResult>();
  if (workers <= 0) {
    const context: TaskContext = { replays: new Map() };
    for (const task of tasks) {
      const result = await executeTask(task, context);
      results.set(task.id, result);
      onResult(result);
    }
    return tasks.map((task) => results.get(task.id) as BenchTaskResult);
  }
  const queue = [...tasks];
  const threads = Array.from(
    { length: Math.min(workers, tasks.length) },
    () => new Worker(new URL('./worker-entry.mjs', import.meta.url)),
  );
  try {
    await Promise.all(
      threads.map(
        (thread) =>
          new Promise<void>((resolve, reject) => {
            const next = () => {
              const task = queue.shift();
              if (task === undefined) {
                resolve();
                return;
              }
              thread.postMessage(task);
            };
            thread.on('message', (result: BenchTaskResult) => {
              results.set(result.id, result);
              onResult(result);
              next();
            });
            thread.on('error', reject);
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(threads.map((thread) => thread.terminate()));
  }
  return tasks.map((task) => results.get(task.id) as BenchTaskResult);
}
