// Durations as people write them in config and flags: 90s, 15m, 1h30m, 400d.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Parses a duration into milliseconds; returns undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000; // bare numbers are seconds
  if (!/^(\d+(?:\.\d+)?(ms|s|m|h|d))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, n, unit] of trimmed.matchAll(PART)) total += Number(n) * UNIT_MS[unit];
  return Math.round(total);
}

/** Formats milliseconds compactly for people: 45m, 1h05m, 12s. */
export function formatDuration(ms: number): string {
  if (ms < 0) return '-' + formatDuration(-ms);
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? String(s % 60).padStart(2, '0') + 's' : ''}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? String(m % 60).padStart(2, '0') + 'm' : ''}`;
  return `${Math.floor(h / 24)}d`;
}
