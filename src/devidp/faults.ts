// The dev identity provider's injected faults: latency, 5xx, 429 with Retry-After, and AADSTS errors.
import { z } from 'zod';
import { UsageError } from '../errors.js';

/** One fault to inject into the token endpoint. Faults without `count` last until cleared. */
export type DevFault =
  | { kind: 'latency'; ms: number }
  | { kind: 'status'; status: number; count?: number }
  | { kind: 'throttle'; retryAfterSeconds: number; count?: number }
  | { kind: 'aadsts'; code: number; count?: number };

/** A fault that answers instead of issuing a token. */
export type FailingFault = Exclude<DevFault, { kind: 'latency' }>;

/** What to do with one token request. */
export interface FaultDecision {
  /** Wait this long before answering (the sum of every latency fault). */
  delayMs: number;
  /** Answer with this instead of a token, when set. */
  fail?: FailingFault;
}

/** The live set of faults. `decide()` is called once per token request and spends one `count`. */
export interface FaultPlan {
  inject(fault: DevFault): void;
  clear(): void;
  decide(): FaultDecision;
  /** The faults still in force (a copy). */
  list(): DevFault[];
}

const count = z.number().int().min(1).optional();
const faultSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('latency'), ms: z.number().int().min(0).max(600_000) }),
  z.strictObject({ kind: z.literal('status'), status: z.number().int().min(500).max(599), count }),
  z.strictObject({ kind: z.literal('throttle'), retryAfterSeconds: z.number().int().min(0).max(86_400), count }),
  z.strictObject({ kind: z.literal('aadsts'), code: z.number().int().min(1).max(99_999_999), count }),
]);

/** Validates a fault from a caller (admin API or code); throws UsageError naming every problem. */
export function parseDevFault(input: unknown): DevFault {
  const parsed = faultSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(fault)'}: ${i.message}`);
  throw new UsageError(`devidp: invalid fault: ${problems.join('; ')}`,
    `send one of {kind:'latency',ms} {kind:'status',status:5xx,count?} {kind:'throttle',retryAfterSeconds,count?} {kind:'aadsts',code,count?}`);
}

/** An empty plan; failing faults apply in injection order, the first one with count left wins. */
export function createFaultPlan(): FaultPlan {
  let faults: { fault: DevFault; left: number }[] = [];
  return {
    inject(fault) {
      const f = parseDevFault(fault);
      faults.push({ fault: f, left: f.kind === 'latency' || f.count === undefined ? Infinity : f.count });
    },
    clear() {
      faults = [];
    },
    decide() {
      let delayMs = 0;
      let fail: FailingFault | undefined;
      for (const entry of faults) {
        if (entry.fault.kind === 'latency') delayMs += entry.fault.ms;
        else if (!fail && entry.left > 0) {
          fail = entry.fault;
          entry.left -= 1;
        }
      }
      faults = faults.filter((e) => e.left > 0);
      return fail ? { delayMs, fail } : { delayMs };
    },
    list: () => faults.map((e) => ({ ...e.fault })),
  };
}
