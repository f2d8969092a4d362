// `bootprobe bcd IMAGE|BCDFILE [-v] [--json]`: the store as `bcdedit /enum all` (or `/enum all /v`) prints it (issue 4).
// In an image the store is found as Windows Boot Manager finds it (windows/find-bcd.ts), and partition devices are
// named after the image's own partitions when their disk signature and offset, or disk and partition GUIDs, match.

import { partitionResolver } from '../../api/partition-resolver.js';
import { bcdToJson, readBcdStore, renderBcd } from '../../bcd/index.js';
import { BootprobeError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { loadHive, type RegOptions } from './reg.js';

export interface BcdOptions extends RegOptions {
  verbose?: boolean;
}

// The resolver lives in the core (the library and the web page render the same listing).
export { partitionResolver };

export async function bcdCommand(ctx: CliContext, target: string, opts: BcdOptions) {
  const loaded = await loadHive(ctx, target, opts);
  for (const w of loaded.hive.warnings) ctx.warn(w.message);
  if (!loaded.isBcd) {
    throw new BootprobeError(
      'BCD_INVALID',
      `${loaded.where} is a registry hive but not a BCD store (it has no \\Objects key)`,
      {
        kind: 'unsupported',
        hint: 'use `bootprobe reg` to read other hives',
      },
    );
  }
  const store = readBcdStore(loaded.hive.root);
  const options = {
    verbose: opts.verbose === true,
    resolvePartition: loaded.table ? partitionResolver(loaded.table) : undefined,
  };
  if (opts.json) ctx.json({ store: loaded.where, ...bcdToJson(store, options) });
  else ctx.out(renderBcd(store, options));
  return 0;
}
