/**
 * _parts.tsx holds the small pieces several panels draw the same way: an
 * error line and a key/value table row.
 */

/** ErrorLine is a panel's own error state (nats-server not reachable...), never a failed page. */
export function ErrorLine({ text }: { text?: string | undefined }) {
  return text ? <p class="error" role="alert">{text}</p> : null;
}

/** Row is one key/value line of a panel's table. */
export function Row({ k, children }: { k: string; children?: unknown }) {
  return <tr><th>{k}</th><td>{children as string}</td></tr>;
}
