import type { Command } from './command';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmark every policy over scenarios × loads, the real logs and the dispatch round',
  help: 'Usage: flowtune bench (under construction)',
  async run() {
    process.stderr.write('bench: not implemented yet\n');
    return 1;
  },
};
