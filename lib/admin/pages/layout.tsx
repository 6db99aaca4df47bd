/**
 * layout.tsx is the HTML shell of every admin page: one inline stylesheet
 * and one small refresh script, both carrying the CSP nonce, and no other
 * resource. The page works without JavaScript; with it, the dashboard part
 * reloads itself every few seconds.
 */
import type { Child } from "hono/jsx";

/** REFRESH_MS is how often the dashboard refreshes itself when JavaScript is on. */
const REFRESH_MS = 5_000;

const CSS = `
:root{color-scheme:light dark;--ok:#2e7d32;--bad:#c62828;--warn:#ef6c00;--muted:#777}
body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:0 1rem 2rem}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;border-bottom:1px solid #8884;padding:.5rem 0}
h1{font-size:1.2rem;margin:0}h2{font-size:1rem;margin:.2rem 0 .5rem}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(460px,100%),1fr));gap:1rem;margin-top:1rem}
section{border:1px solid #8884;border-radius:6px;padding:.6rem .8rem;overflow:auto;min-width:0}
.scroll{overflow-x:auto;max-width:100%}svg{max-width:100%;height:auto}
section.wide{grid-column:1/-1}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:2px 6px;border-bottom:1px solid #8882;white-space:nowrap}
th{font-weight:600}td.num,th.num{text-align:right}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}.muted{color:var(--muted)}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;color:#fff;font-weight:600}
.badge.ok{background:var(--ok);color:#fff}.badge.bad{background:var(--bad);color:#fff}.badge.warn{background:var(--warn);color:#fff}
#ca-fingerprint{white-space:normal;word-break:break-all}
#problems{margin:.3rem 0;padding-left:1.4rem}#problems li{margin:.4rem 0}#problems .fix{color:inherit}#problems code{white-space:normal}
.error{border-left:4px solid var(--bad);padding:.3rem .6rem;background:#c6282812}
pre{white-space:pre-wrap;word-break:break-all;font-size:12px;margin:0;max-height:28rem;overflow:auto}
.in{color:#1565c0}.out{color:#ef6c00}figure{margin:.3rem 0}
form.inline{display:inline}
.kind{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;border:1px solid #8886}
.kind-mqtt{border-color:#7b1fa2;color:#7b1fa2}.kind-ws{border-color:#1565c0;color:#1565c0}.kind-leaf{border-color:#2e7d32;color:#2e7d32}
.slow{font-size:12px;white-space:normal}tr.slow-row td{background:#c6282810}
tr.consumers>td{padding:0 0 4px 1.2rem;border-bottom:1px solid #8882}table.inner td,table.inner th{font-size:12px;border-bottom:none}
#log-lines{list-style:none;margin:0;padding:0;font:12px/1.45 ui-monospace,monospace;max-height:28rem;overflow:auto}
#log-lines li{padding:2px 0;border-bottom:1px solid #8882;overflow-wrap:anywhere}#log-lines time{color:var(--muted)}
#log-lines .level{display:inline-block;min-width:3.2em;font-weight:600}#log-lines .fields{font-size:11px}
table.inner{width:auto;min-width:60%}
@media (max-width:640px){body{padding:0 .5rem 1rem}td,th{white-space:normal;overflow-wrap:break-word}section{padding:.5rem}
table.cards thead{display:none}table.cards tr{display:block;padding:4px 0;border-bottom:1px solid #8884}table.cards td{display:inline-block;border:none;padding:1px 8px 1px 0;text-align:left}
table.cards td.name{display:block}table.cards td[data-label]::before{content:attr(data-label) ": ";color:var(--muted)}}
.login{max-width:24rem;margin:4rem auto}.login input{width:100%;padding:.4rem;margin:.4rem 0;box-sizing:border-box}
`;

const SCRIPT = `(function(){var ms=${REFRESH_MS};function again(){setTimeout(tick,ms)}
function tick(){fetch(location.pathname+"?part=dash",{credentials:"same-origin",headers:{"accept":"text/html"}}).then(function(r){
if(r.redirected||r.status===401){location.reload();return null}return r.ok?r.text():null}).then(function(html){
if(!html)return;var doc=new DOMParser().parseFromString(html,"text/html");/* a fragment: no style or script to trip the CSP */var next=doc.getElementById("dash");var cur=document.getElementById("dash");
if(next&&cur){cur.replaceWith(next)}}).catch(function(){}).then(again)}again()})();`;

/** Layout wraps a page body; `refresh` adds the self-refresh script. */
export function Layout(props: { title: string; nonce: string; refresh?: boolean; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title}</title>
        <style nonce={props.nonce} dangerouslySetInnerHTML={{ __html: CSS }} />
      </head>
      <body>
        {props.children}
        {props.refresh ? <script nonce={props.nonce} dangerouslySetInnerHTML={{ __html: SCRIPT }} /> : null}
      </body>
    </html>
  );
}
