/**
 * notify.ts tells systemd about the node's life cycle (sd_notify(3)): the unit
 * is Type=notify, so `systemctl start unibus` returns only once nats-server
 * accepts clients, and `systemctl reload`/`stop` show the right state.
 */
import { sendUnixDatagram } from "../runtime-datagram.ts";

/**
 * notifySystemd sends a state such as "READY=1\nSTATUS=serving" to the socket
 * systemd named in $NOTIFY_SOCKET. It returns true when the datagram was
 * sent, and false (doing nothing) when unibus does not run under a Type=notify
 * unit, when the address is not a unix socket, or when sending fails: a lost
 * notification is never worth an error.
 */
export function notifySystemd(state: string, env: Record<string, string | undefined> = process.env): boolean {
  const socket = env.NOTIFY_SOCKET;
  if (!socket || !(socket.startsWith("/") || socket.startsWith("@"))) return false;
  return sendUnixDatagram(socket, state);
}

/**
 * notifyStatus builds the STATUS= line systemctl status shows; newlines would
 * start a new assignment, so they are folded into spaces.
 */
export function notifyStatus(text: string): string {
  return `STATUS=${text.replace(/[\r\n]+/g, " ")}`;
}
