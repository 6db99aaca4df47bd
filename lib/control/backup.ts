/**
 * backup.ts is the control channel's backup group: POST /backup makes the
 * running node take a backup into its [backup] dir, written by the service
 * user beside the scheduled ones; GET /backup says how far a backup under
 * way has got, so `unibus backup` shows progress on a terminal while the
 * node works. A backup to another file (--out) or with another passphrase
 * is taken by the CLI itself, since the hardened service may write only its
 * own folders.
 */
import { UsageError } from "../errors.ts";
import { controlRequest, isControlError, type ControlAnswer } from "./client.ts";
import { raise, type ControlRoutes } from "./route.ts";

export type { BackupAnswer, BackupControl } from "./route.ts";
import type { BackupAnswer } from "./route.ts";
import type { BackupProgress } from "../backup/take.ts";

/** backupRoutes serves POST /backup and GET /backup. */
export const backupRoutes: ControlRoutes = {
  group: "backup",
  mount(app, ctx) {
    app.post("/backup", async (c) => {
      const control = ctx.backup?.();
      if (!control) throw new UsageError("this node does not take backups yet (it is still starting)");
      return c.json(await control.take());
    });
    app.get("/backup", (c) => c.json({ progress: ctx.backup?.()?.progress() ?? null }));
  },
};

/** BACKUP_TIMEOUT_MS bounds one backup through the node: a day, far beyond any home lab's data. */
const BACKUP_TIMEOUT_MS = 24 * 3_600_000;

/**
 * requestBackup asks the node to take a backup and, while it does, passes
 * its progress to onProgress every half second; "not reached" when no node
 * answers on the socket (the CLI then takes it itself). A refusal is thrown
 * as the error class the node had.
 */
export async function requestBackup(dataDir: string, onProgress: (p: BackupProgress) => void): Promise<{ reached: true; answer: BackupAnswer } | Extract<ControlAnswer<never>, { reached: false }>> {
  let done = false;
  const poll = (async () => {
    while (!done) {
      await new Promise((r) => setTimeout(r, 500));
      if (done) return;
      const p = await controlRequest<{ progress: BackupProgress | null }>(dataDir, "GET", "/backup", undefined, 5_000).catch(() => undefined);
      if (!done && p?.reached && !isControlError(p.body) && p.body.progress) onProgress(p.body.progress);
    }
  })();
  try {
    const answer = await controlRequest<BackupAnswer>(dataDir, "POST", "/backup", undefined, BACKUP_TIMEOUT_MS);
    if (!answer.reached) return answer;
    if (isControlError(answer.body)) raise(answer.body);
    return { reached: true, answer: answer.body };
  } finally {
    done = true;
    await poll;
  }
}
