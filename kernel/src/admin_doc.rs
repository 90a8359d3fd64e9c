//! The kernel's own dashboard page (a binary may serve a richer one at `/`).

/// A one-page dashboard: actors and recent events, refreshed every second.
pub(crate) const DASHBOARD: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Warden</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin-bottom:2em}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}
.running{color:#080}.restarting,.starting{color:#a60}.failed{color:#c00}.stopped{color:#666}
</style></head><body>
<h1>Warden</h1>
<table id="actors"><thead><tr><th>actor</th><th>kind</th><th>placement</th><th>state</th><th>pid</th>
<th>restarts</th><th>mailbox</th><th>heartbeat age</th><th>uptime</th><th>last exit</th></tr></thead><tbody></tbody></table>
<h2>Supervisor events</h2><table id="events"><tbody></tbody></table>
<script>
const esc = s => String(s ?? "").replace(/[&<>]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;"}[c]));
async function refresh() {
  const actors = await (await fetch("/api/actors")).json();
  document.querySelector("#actors tbody").innerHTML = actors.map(a =>
    `<tr><td>${esc(a.name)}</td><td>${esc(a.kind)}</td><td>${a.placement}</td><td class="${a.state}">${a.state}</td>
     <td>${a.pid}</td><td>${a.restarts}</td><td>${a.mailbox_depth}</td><td>${a.heartbeat_age_ms ?? ""}</td>
     <td>${(a.uptime_ms/1000).toFixed(1)} s</td><td>${esc(a.last_exit)}</td></tr>`).join("");
  const events = await (await fetch("/api/events")).json();
  document.querySelector("#events tbody").innerHTML = events.slice(-30).reverse().map(e =>
    `<tr><td>${e.id}</td><td>${new Date(e.unix_ms).toLocaleTimeString()}</td><td>${esc(e.actor)}</td>
     <td>${esc(e.kind)}</td><td>${esc(e.detail)}</td></tr>`).join("");
}
refresh(); setInterval(refresh, 1000);
</script></body></html>
"##;
