/**
 * runtime-exec.ts keeps a supervised child from outliving unibus without
 * tying unibus to its own launcher. unibus starts the child through itself
 * (`unibus __exec-child PARENT_PID PROGRAM ARGS…`); that short-lived process
 * asks the kernel for a parent-death signal (prctl PR_SET_PDEATHSIG), checks
 * that its parent is still the unibus that started it, and then execve()s the
 * program in place, so the program keeps the pid and the death signal. If
 * unibus dies in any way, SIGKILL included, the kernel signals the child.
 *
 * It calls libc through bun:ffi, so it lives beside the other runtime modules.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";

/** EXEC_CHILD_COMMAND is the hidden argv word main.ts routes to execChildWithParentDeathSignal. */
export const EXEC_CHILD_COMMAND = "__exec-child";

/** MAIN_SCRIPT is main.ts beside lib/, which routes EXEC_CHILD_COMMAND when running from source. */
const MAIN_SCRIPT = new URL("../main.ts", import.meta.url).pathname;

const PR_SET_PDEATHSIG = 1;
/**
 * PARENT_DEATH_SIGNAL is SIGTERM: nats-server then shuts down cleanly (its
 * JetStream store is flushed), which takes well under a second; a nats-server
 * that hangs anyway is found and killed by the next start's stale-child check.
 */
const PARENT_DEATH_SIGNAL = 15;

/**
 * execCommand returns the argv that starts `cmd` through this executable with
 * a parent-death signal: the compiled unibus re-runs itself; from source
 * (`bun main.ts`, or a node inside `bun test`) the runtime runs main.ts.
 */
export function execCommand(cmd: string[]): string[] {
  const self = Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, MAIN_SCRIPT];
  return [...self, EXEC_CHILD_COMMAND, String(process.pid), ...cmd];
}

/**
 * execChildWithParentDeathSignal is the child side: args are
 * [PARENT_PID, PROGRAM, ARGS…]. It never returns on success; on failure it
 * writes one line to stderr and exits 127 (the shell's "cannot execute").
 */
export function execChildWithParentDeathSignal(args: string[]): never {
  const [parentText, program, ...rest] = args;
  const parent = Number(parentText);
  if (!program || !Number.isInteger(parent) || parent <= 1) {
    process.stderr.write(`unibus ${EXEC_CHILD_COMMAND}: expected PARENT_PID PROGRAM [ARGS...]\n`);
    process.exit(2);
  }
  const libc = dlopen("libc.so.6", {
    prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
    getppid: { args: [], returns: FFIType.i32 },
    execv: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  }).symbols;
  if (libc.prctl(PR_SET_PDEATHSIG, BigInt(PARENT_DEATH_SIGNAL), 0n, 0n, 0n) !== 0) {
    process.stderr.write("unibus: prctl(PR_SET_PDEATHSIG) failed\n");
    process.exit(127);
  }
  // unibus may have died between spawning us and the prctl: then nobody would signal us.
  if (libc.getppid() !== parent) process.exit(0);
  const strings = [program, ...rest].map((s) => new TextEncoder().encode(`${s}\0`));
  const pointers = new BigUint64Array(strings.length + 1);
  strings.forEach((s, i) => { pointers[i] = BigInt(ptr(s)); });
  libc.execv(ptr(strings[0]!), ptr(pointers));
  process.stderr.write(`unibus: cannot execute ${program}\n`);
  process.exit(127);
}
