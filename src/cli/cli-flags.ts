// Flag values shared by several commands.

import { parseDuration } from '../duration.js';
import { UsageError } from '../errors.js';

/** --min-ttl D → whole seconds; undefined when not given. */
export function parseMinTtl(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`--min-ttl '${text}' is not a duration`, 'write it like 45m, 1h or 90s');
  return Math.ceil(ms / 1000);
}
