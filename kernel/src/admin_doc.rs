//! The admin API's self-description: the OpenAPI document and the dashboard page.

use serde_json::{Value, json};

/// OpenAPI 3.0 description of the admin API.
pub(crate) fn openapi() -> Value {
    let error = json!({ "$ref": "#/components/schemas/Error" });
    let bearer = json!([{ "bearer": [] }]);
    let name =
        json!([{ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } }]);
    json!({
        "openapi": "3.0.3",
        "info": { "title": "Warden admin API", "version": env!("CARGO_PKG_VERSION") },
        "paths": {
            "/healthz": { "get": { "summary": "Liveness: 200 unless the supervisor escalated",
                "responses": { "200": { "description": "ok" }, "503": { "description": "escalated" } } } },
            "/readyz": { "get": { "summary": "Readiness: 200 once every permanent actor runs",
                "responses": { "200": { "description": "ready" }, "503": { "description": "not ready" } } } },
            "/metrics": { "get": { "summary": "Prometheus metrics",
                "responses": { "200": { "description": "text exposition", "content": { "text/plain": {} } } } } },
            "/api/actors": { "get": { "summary": "Every actor's status",
                "responses": { "200": { "description": "statuses", "content": { "application/json": {
                    "schema": { "type": "array", "items": { "$ref": "#/components/schemas/ActorStatus" } } } } } } } },
            "/api/actors/{name}": { "get": { "summary": "One actor's status", "parameters": name,
                "responses": { "200": { "description": "status", "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/ActorStatus" } } } },
                    "404": { "description": "unknown actor", "content": { "application/json": { "schema": error } } } } } },
            "/api/actors/{name}/restart": { "post": { "summary": "Restart an actor (stop, then start)",
                "parameters": name, "security": bearer,
                "responses": { "200": { "description": "restarted; body has the new pid" },
                    "401": { "description": "missing or wrong token" }, "404": { "description": "unknown actor" },
                    "409": { "description": "could not restart" } } } },
            "/api/actors/{name}/kill": { "post": { "summary": "Kill an actor's instance (SIGKILL a child, inject a panic in-process)",
                "parameters": name, "security": bearer,
                "responses": { "202": { "description": "killed; the supervisor restarts it per policy" },
                    "401": { "description": "missing or wrong token" }, "404": { "description": "unknown actor" } } } },
            "/api/actors/{name}/stall": { "post": { "summary": "Inject a stall: the actor sleeps ms before every request from now on (0 ends it)",
                "parameters": [name[0].clone(), { "name": "ms", "in": "query", "required": true,
                    "schema": { "type": "integer", "minimum": 0, "maximum": 60000 } }], "security": bearer,
                "responses": { "200": { "description": "stalled" }, "400": { "description": "ms missing or over 60000" },
                    "401": { "description": "missing or wrong token" }, "404": { "description": "unknown actor" } } } },
            "/api/events": { "get": { "summary": "Supervisor events with id > since, oldest first",
                "parameters": [{ "name": "since", "in": "query", "schema": { "type": "integer", "minimum": 0 } }],
                "responses": { "200": { "description": "events", "content": { "application/json": {
                    "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Event" } } } } } } } }
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": { "type": "object", "properties": { "error": { "type": "string" } } },
                "ActorStatus": { "type": "object", "properties": {
                    "name": { "type": "string" }, "kind": { "type": "string" },
                    "placement": { "type": "string", "enum": ["inprocess", "process"] },
                    "state": { "type": "string", "enum": ["starting", "running", "restarting", "stopped", "failed"] },
                    "pid": { "type": "integer" }, "restarts": { "type": "integer" },
                    "last_exit": { "type": "string", "nullable": true },
                    "mailbox_depth": { "type": "integer" },
                    "heartbeat_age_ms": { "type": "integer", "nullable": true },
                    "uptime_ms": { "type": "integer" }, "generation": { "type": "integer" } } },
                "Event": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "unix_ms": { "type": "integer" },
                    "actor": { "type": "string" }, "kind": { "type": "string" },
                    "detail": { "type": "string" }, "pid": { "type": "integer", "nullable": true },
                    "generation": { "type": "integer" } } }
            }
        }
    })
}

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
