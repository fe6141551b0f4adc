/**
 * The style sheet of the HTML report, inlined into the page. It uses system fonts only, so
 * the page loads nothing. Client lines are on the left in blue and server lines on the right
 * in green. Errors are red, and the failed step has a red outline.
 */
export const REPORT_CSS = `
:root {
  --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --paper: #ffffff; --wash: #f6f8fa;
  --client: #0b4f9c; --client-bg: #eaf2fc; --server: #1a6b32; --server-bg: #ecf7ee;
  --error: #b42318; --error-bg: #fdecea; --warn: #8a5a00; --warn-bg: #fff6e0;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: var(--wash); }
header { background: #24292f; color: #fff; padding: 18px 28px; }
header h1 { margin: 0; font-size: 22px; }
header .meta { color: #c9d1d9; margin: 4px 0 0; }
main { padding: 20px 28px 40px; max-width: 1400px; }
code, pre { font-family: var(--mono); font-size: 13px; }
pre { white-space: pre-wrap; word-break: break-word; margin: 0; }
table.summary { border-collapse: collapse; background: var(--paper); margin-bottom: 18px; }
table.summary th, table.summary td { border: 1px solid var(--line); padding: 6px 12px;
  text-align: left; }
table.summary th { background: var(--wash); }
table.summary td:nth-child(-n + 4) { white-space: nowrap; }
a { color: var(--client); }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; font-size: 13px;
  font-weight: 600;
  background: var(--wash); border: 1px solid var(--line); vertical-align: middle; }
.badge.sent { background: var(--server-bg); color: var(--server); border-color: #9fd3ae; }
.badge.partial, .badge.incomplete { background: var(--warn-bg); color: var(--warn);
  border-color: #f0cf85; }
.badge.failed { background: var(--error-bg); color: var(--error); border-color: #f3a69e; }
.badge.no-mail { color: var(--muted); }
details.repairs { background: var(--warn-bg); border: 1px solid #f0cf85; border-radius: 6px;
  padding: 8px 14px; margin-bottom: 18px; }
section.connection { background: var(--paper); border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 20px; margin-bottom: 24px; }
section.connection h2 { margin: 0; font-size: 19px; }
.meta { color: var(--muted); margin: 4px 0 12px; }
.diagnosis { border-left: 5px solid var(--error); background: var(--error-bg); border-radius: 6px;
  padding: 12px 16px; margin: 12px 0; }
.diagnosis.warning { border-left-color: #d99a00; background: var(--warn-bg); }
.diagnosis h3 { margin: 0 0 6px; font-size: 16px; }
.diagnosis h4 { margin: 8px 0 2px; font-size: 14px; }
.diagnosis .verdict { font-size: 16px; font-weight: 600; margin: 4px 0 8px; }
.diagnosis .lines, .diagnosis .rule, .source { color: var(--muted); font-weight: normal;
  font-size: 13px; }
.diagnosis pre.reply { background: rgba(255,255,255,0.7); padding: 6px 10px; border-radius: 4px; }
.diagnosis dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px;
  margin: 8px 0; }
.diagnosis dt { font-weight: 600; }
.diagnosis dd { margin: 0; }
.diagnosis ul { margin: 2px 0; padding-left: 20px; }
.advice { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.diagnosis .rule { margin: 6px 0 0; }
.timeline { border: 1px solid var(--line); border-radius: 6px; overflow: hidden; margin-top: 12px; }
.timeline .row { display: grid;
  grid-template-columns: 70px 84px 70px minmax(0, 1fr) minmax(0, 1.3fr);
  border-top: 1px solid var(--line); }
.timeline .row > div { padding: 4px 8px; }
.timeline .row.head { background: var(--wash); font-weight: 600; border-top: none;
  font-size: 13px; }
.timeline .line-no, .timeline .when, .timeline .took { color: var(--muted);
  font-family: var(--mono);
  font-size: 12px; }
.timeline .took { text-align: right; }
.timeline .client { background: var(--client-bg); color: var(--client); }
.timeline .server { background: var(--server-bg); color: var(--server); }
.timeline .client code, .timeline .server code { display: block; white-space: pre-wrap;
  word-break: break-word; }
.timeline .row.error .server, .timeline .row.deferred .server { background: var(--error-bg);
  color: var(--error); font-weight: 600; }
.timeline .row.deferred .server { background: var(--warn-bg); color: var(--warn); }
.timeline .row.failed { outline: 3px solid var(--error); outline-offset: -3px; }
.timeline .row.event .event-text { grid-column: 4 / span 2; color: var(--muted); font-style: italic;
  font-family: var(--mono); font-size: 12px; white-space: pre-wrap; word-break: break-word; }
.timeline .row.event.error .event-text { color: var(--error); font-weight: 600;
  font-style: normal; }
.timeline .note { color: var(--muted); font-style: italic; }
.timeline details summary { cursor: pointer; color: var(--muted); font-size: 12px; }
`;
