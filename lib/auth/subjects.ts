/**
 * subjects.ts checks NATS subject patterns in permission lists before they
 * reach nats-server, so a typo is reported at its line instead of making
 * nats-server refuse to start.
 */

/** SUBJECT_HINT describes a subject pattern nats-server accepts. */
export const SUBJECT_HINT = 'a NATS subject like "sensors.>" or "cmd.*.reset" (dot-separated tokens; "*" one token, ">" only last)';

/** subjectProblem returns why a subject pattern is invalid, or undefined when it is fine. */
export function subjectProblem(subject: string): string | undefined {
  if (subject.length === 0) return "empty subject";
  if (/\s/.test(subject)) return "subjects cannot contain spaces";
  const tokens = subject.split(".");
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "") return "empty token (two dots, or a dot at an end)";
    if (t === ">" && i !== tokens.length - 1) return '">" must be the last token';
    if (t !== ">" && t !== "*" && /[*>]/.test(t)) return '"*" and ">" must be whole tokens';
  }
  return undefined;
}
