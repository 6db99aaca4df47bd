/** _events.ts makes nats-server events for the rule tables: one folded log line, seen at NOW. */
import type { NatsEvent, NatsEventKind } from "../../../lib/diagnosis/nats-events.ts";
import { NOW } from "./_facts.ts";

/** event is one folded nats-server cause seen `agoMs` before NOW with the given connection addresses. */
export function event(kind: NatsEventKind, text: string, detail: Record<string, string> = {}, addresses: string[] = [], agoMs = 1_000): NatsEvent {
  return { kind, text, detail, addresses, count: 3, firstSeen: NOW - agoMs - 5_000, lastSeen: NOW - agoMs };
}
