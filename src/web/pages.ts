// The two HTML shells. No inline script (the CSP forbids it): data comes from /api, the CSRF
// token rides in a <meta> tag that the page's own script reads.
import { escapeHtml } from './markdown.js';

function shell(title: string, csrf: string, script: string, body: string, data: Record<string, string> = {}): string {
  const attrs = Object.entries(data).map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${escapeHtml(csrf)}">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/static/app.css">
<script type="module" src="/static/${script}"></script>
<link rel="modulepreload" href="/static/common.js">
</head>
<body${attrs}>
<header class="top"><a class="brand" href="/">vaultrunner</a><span id="conn" class="conn">connecting…</span><button id="notify" type="button" class="ghost">Enable notifications</button></header>
<div id="flash" class="flash" role="status" hidden></div>
${body}
</body>
</html>
`;
}

export function boardPage(csrf: string): string {
  return shell('vaultrunner — board', csrf, 'board.js', `<main class="board-page">
<section class="toolbar">
  <input id="search" type="search" placeholder="Search title, id, agent, reason…" autocomplete="off">
  <select id="f-priority"><option value="">any priority</option><option>urgent</option><option>high</option><option>medium</option><option>low</option></select>
  <select id="f-readiness"><option value="">any readiness</option><option value="ready">ready</option><option value="waiting">waiting</option><option value="problem">problem</option></select>
  <span id="count" class="muted"></span>
  <button id="new-toggle" type="button">New task</button>
</section>
<form id="new-task" class="new-task" hidden>
  <label>Title <input name="title" required maxlength="120"></label>
  <label>Type <select name="type"></select></label>
  <label>Priority <select name="priority"><option>medium</option><option>urgent</option><option>high</option><option>low</option></select></label>
  <label>Working dir <select name="root"><option value="">scratch folder</option></select> / <input name="dir" placeholder="sub/dir"></label>
  <label class="wide">Instructions <textarea name="body" rows="6"></textarea></label>
  <div><button type="submit">Create in Needs_Action/</button></div>
</form>
<div id="board" class="board"></div>
</main>`);
}

export function taskPage(csrf: string, id: string): string {
  return shell(`${id} — vaultrunner`, csrf, 'task.js', `<main class="task-page">
<h1 id="title"></h1>
<div id="actions" class="actions"></div>
<div id="problem" class="problem" hidden></div>
<div class="cols">
<section><h2>Properties</h2><table id="props" class="props"></table></section>
<section class="main-col">
<h2>Task</h2><article id="body" class="md"></article>
<h2>Plan</h2><article id="plan" class="md"></article>
<div id="review-box" hidden><h2>Review</h2><article id="review" class="md"></article></div>
<h2>Attempts</h2><div id="attempts" class="attempts"></div>
<h2>Transcript <span id="t-label" class="muted"></span></h2><pre id="transcript" class="transcript"></pre>
</section>
</div>
</main>`, { task: id });
}
