// Warden's dashboard: every panel live from the kernel's own interfaces —
// the SSE topic stream, /ws (the scene store's protocol), the MJPEG
// preview, and the admin API (polled). No library, no build step.
"use strict";

const $ = (selector) => document.querySelector(selector);
const TOPICS = ["fft.bars", "perception.tracks", "perception.timelines", "perception.detections", "compositor.stats"];
const WINDOW_MS = 60000;

const state = {
  nodes: [],
  token: sessionStorage.getItem("warden-token") || "",
  up: true,
  actors: [],
  previousPids: {},
  lastEvent: 0,
  events: [],
  metrics: null,
  metricsAt: 0,
  rates: {},
  frameTimes: [],
  periodMs: 1000 / 30,
  compositor: null,
  bars: null,
  beatUntil: 0,
  tracks: null,
  timelines: null,
  detections: [],
  camera: { w: 640, h: 480 },
  scene: { version: 0, topics: {}, cursor: 0, resume: null, ws: null, writable: false, pending: {}, next: 1 },
  dirty: new Set(),
};

// ---------- small helpers ----------
const esc = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const fixed = (value, digits = 1) => (value === null || value === undefined || Number.isNaN(value) ? "—" : Number(value).toFixed(digits));
function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${Math.floor(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} m`;
}
function headers(write) {
  const h = {};
  if (write && state.token) h.Authorization = `Bearer ${state.token}`;
  return h;
}
async function getJSON(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (response.status === 404) return null;
  return response.json();
}

// ---------- the link to the kernel ----------
function setLink(up, why) {
  const link = $("#link");
  if (up === state.up) return;
  state.up = up;
  link.className = `link ${up ? "ok" : "down"}`;
  link.textContent = up ? "connected" : `kernel unreachable — retrying${why ? ` (${why})` : ""}`;
  if (up) {
    // Back: restart the streams without a reload.
    startStream();
    startTopics();
    if (!state.scene.ws) connectScene();
  }
}
async function guarded(task) {
  try {
    await task();
    setLink(true);
  } catch (err) {
    setLink(false, err && err.message);
  }
}

// ---------- token ----------
function askToken() {
  return new Promise((resolve) => {
    const dialog = $("#token-dialog");
    const input = $("#token-input");
    input.value = state.token;
    const done = (value) => {
      dialog.close();
      resolve(value);
    };
    $("#token-form").onsubmit = (event) => {
      event.preventDefault();
      done(input.value.trim());
    };
    $("#token-cancel").onclick = () => done(null);
    dialog.showModal();
    input.focus();
  });
}
async function ensureToken() {
  if (state.token) return true;
  const token = await askToken();
  if (!token) return false;
  setToken(token);
  return true;
}
function setToken(token) {
  state.token = token;
  sessionStorage.setItem("warden-token", token);
  $("#token-button").textContent = token ? "Token set" : "Enter admin token";
  // A session opened without the token may only read: open one that may write.
  if (state.scene.ws) state.scene.ws.close(1000, "token changed");
}

// ---------- the frame ----------
let streamRetry = null;
function startStream() {
  const img = $("#stream");
  clearTimeout(streamRetry);
  img.onerror = () => {
    streamRetry = setTimeout(startStream, 1000);
  };
  img.src = `/api/preview.mjpeg?t=${Date.now()}`;
}
function renderFrameFigures() {
  const c = state.compositor;
  if (!c) return;
  const rows = [
    ["fps", `${fixed(c.fps)} of ${fixed(c.fps_target, 0)}`],
    ["frame time p50 / p99 / max", `${fixed(c.dt_p50_ms)} / ${fixed(c.dt_p99_ms)} / ${fixed(c.dt_max_ms)} ms`],
    ["late frames", c.late_frames],
    ["render p50 / p99", `${fixed(c.render_p50_ms, 2)} / ${fixed(c.render_p99_ms, 2)} ms`],
    ["backend", `${c.backend} (${c.demotion_level})`],
    ["size", `${c.width}×${c.height}`],
    ["image", c.image ?? "—"],
    ["bars age", `${fixed(c.bars_age_ms)} ms`],
    ["failure", c.failure ?? "none"],
  ];
  $("#frame-figures").innerHTML = rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("");
}
function drawFrameGraph() {
  const canvas = $("#frame-graph");
  const g = canvas.getContext("2d");
  const { width, height } = canvas;
  g.clearRect(0, 0, width, height);
  const now = performance.now();
  const late = state.periodMs * 1.25;
  const top = Math.max(late * 2, ...state.frameTimes.map((p) => p[1]));
  const y = (ms) => height - 4 - (ms / top) * (height - 8);
  g.strokeStyle = "#d29922";
  g.setLineDash([4, 4]);
  g.beginPath();
  g.moveTo(0, y(late));
  g.lineTo(width, y(late));
  g.stroke();
  g.setLineDash([]);
  g.fillStyle = "#8a96a3";
  g.fillText(`${late.toFixed(1)} ms`, 4, y(late) - 3);
  g.fillText(`${top.toFixed(0)} ms`, 4, 12);
  for (const [at, ms, isLate] of state.frameTimes) {
    const x = width - ((now - at) / WINDOW_MS) * width;
    g.fillStyle = isLate ? "#f85149" : "#58a6ff";
    g.fillRect(x, y(ms), 2, 2);
  }
}

// ---------- audio ----------
function drawBars() {
  const canvas = $("#bars");
  const g = canvas.getContext("2d");
  const { width, height } = canvas;
  g.clearRect(0, 0, width, height);
  const b = state.bars;
  if (!b) return;
  const n = b.bars.length;
  const w = width / n;
  for (let i = 0; i < n; i += 1) {
    const v = Math.max(0, Math.min(1, b.bars[i]));
    g.fillStyle = `hsl(${200 + (i / n) * 120}, 70%, 55%)`;
    g.fillRect(i * w + 1, height - v * height, w - 2, v * height);
    const p = Math.max(0, Math.min(1, b.peaks[i] ?? 0));
    g.fillStyle = "#dde3ea";
    g.fillRect(i * w + 1, height - p * height - 2, w - 2, 2);
  }
  const beat = $("#beat");
  const on = performance.now() < state.beatUntil;
  if (beat.classList.contains("on") !== on) beat.classList.toggle("on", on);
  const bpm = b.bpm ? `${b.bpm.toFixed(1)} BPM` : "";
  if ($("#bpm").textContent !== bpm) $("#bpm").textContent = bpm;
}

// ---------- perception ----------
function drawCamera() {
  const canvas = $("#camera");
  const g = canvas.getContext("2d");
  const { width, height } = canvas;
  g.fillStyle = "#0b0e12";
  g.fillRect(0, 0, width, height);
  const sx = width / state.camera.w;
  const sy = height / state.camera.h;
  if (state.timelines) {
    for (const timeline of state.timelines.timelines || []) {
      g.strokeStyle = "rgba(210,153,34,0.8)";
      g.beginPath();
      timeline.points.forEach((p, i) => {
        const cx = (p.bbox.x + p.bbox.w / 2) * sx;
        const cy = (p.bbox.y + p.bbox.h / 2) * sy;
        if (i === 0) g.moveTo(cx, cy);
        else g.lineTo(cx, cy);
      });
      g.stroke();
      for (const p of timeline.points) {
        const cx = (p.bbox.x + p.bbox.w / 2) * sx;
        const cy = (p.bbox.y + p.bbox.h / 2) * sy;
        g.strokeStyle = "rgba(210,153,34,0.35)";
        g.beginPath();
        g.ellipse(cx, cy, Math.max(1, p.sigma[0] * sx), Math.max(1, p.sigma[1] * sy), 0, 0, Math.PI * 2);
        g.stroke();
      }
    }
  }
  if (state.tracks) {
    g.font = "11px system-ui";
    for (const t of state.tracks.tracks || []) {
      g.strokeStyle = t.state === "Tracked" ? "#3fb950" : "#8a96a3";
      g.strokeRect(t.bbox.x * sx, t.bbox.y * sy, t.bbox.w * sx, t.bbox.h * sy);
      g.fillStyle = g.strokeStyle;
      g.fillText(String(t.id), t.bbox.x * sx + 2, t.bbox.y * sy + 11);
    }
  }
}
function renderTracks() {
  const tracks = (state.tracks && state.tracks.tracks) || [];
  $("#tracks tbody").innerHTML = tracks
    .map((t) => `<tr><td>${t.id}</td><td>${fixed(t.bbox.x, 0)},${fixed(t.bbox.y, 0)} ${fixed(t.bbox.w, 0)}×${fixed(t.bbox.h, 0)}</td>
      <td>${t.age}</td><td>${fixed(t.velocity[0])}, ${fixed(t.velocity[1])}</td><td>${esc(t.state)}</td></tr>`)
    .join("");
  const now = performance.now();
  state.detections = state.detections.filter(([at]) => now - at < 5000);
  const seconds = state.detections.length > 1 ? (now - state.detections[0][0]) / 1000 : 0;
  const total = state.detections.slice(1).reduce((sum, [, n]) => sum + n, 0);
  $("#perception-rate").textContent = seconds > 0 ? `${(total / seconds).toFixed(1)} detections/s · ${tracks.length} tracks` : "";
}

// ---------- actors ----------
function parseMetrics(text) {
  const calls = {};
  const buckets = {};
  for (const line of text.split("\n")) {
    if (line.startsWith("warden_calls_total{")) {
      const actor = /actor="([^"]*)"/.exec(line)[1];
      calls[actor] = (calls[actor] || 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
    } else if (line.startsWith("warden_call_latency_seconds_bucket{")) {
      const actor = /actor="([^"]*)"/.exec(line)[1];
      const le = /le="([^"]*)"/.exec(line)[1];
      (buckets[actor] ||= []).push([le === "+Inf" ? Infinity : Number(le), Number(line.slice(line.lastIndexOf(" ") + 1))]);
    }
  }
  return { calls, buckets };
}
function p99Between(before, after) {
  if (!before || !after) return null;
  const deltas = after.map(([le, n], i) => [le, n - (before[i] ? before[i][1] : 0)]);
  const total = deltas[deltas.length - 1][1];
  if (total <= 0) return null;
  const hit = deltas.find(([, n]) => n >= total * 0.99);
  return hit ? hit[0] * 1000 : null;
}
async function pollMetrics() {
  const response = await fetch("/metrics", { cache: "no-store" });
  const now = performance.now();
  const metrics = parseMetrics(await response.text());
  if (state.metrics) {
    const seconds = (now - state.metricsAt) / 1000;
    for (const actor of Object.keys(metrics.calls)) {
      const rate = state.rates[actor] || { history: [] };
      rate.perSecond = (metrics.calls[actor] - (state.metrics.calls[actor] || 0)) / seconds;
      rate.p99 = p99Between(state.metrics.buckets[actor], metrics.buckets[actor]);
      rate.history.push(rate.perSecond);
      if (rate.history.length > 60) rate.history.shift();
      state.rates[actor] = rate;
    }
  }
  state.metrics = metrics;
  state.metricsAt = now;
}
function sparkline(values) {
  const canvas = document.createElement("canvas");
  canvas.width = 100;
  canvas.height = 18;
  const g = canvas.getContext("2d");
  const top = Math.max(1, ...values);
  g.strokeStyle = "#58a6ff";
  g.beginPath();
  values.forEach((v, i) => {
    const x = (i / 59) * 100;
    const y = 17 - (v / top) * 16;
    if (i === 0) g.moveTo(x, y);
    else g.lineTo(x, y);
  });
  g.stroke();
  return canvas;
}
// Rows are built once per actor and updated in place, so a button under the
// pointer (or a WebDriver click) is never replaced between two polls.
function actorRow(a) {
  const row = document.createElement("tr");
  row.dataset.actor = a.name;
  row.innerHTML = `<td><span class="tree">└─</span> ${esc(a.name)}</td><td class="kind"></td><td class="placement"></td>
    <td class="state"></td><td class="pid"></td><td class="restarts"></td><td class="uptime"></td><td class="mailbox"></td>
    <td class="heartbeat"></td><td class="rate"></td><td class="p99"></td><td class="spark"></td><td class="exit"></td>
    <td class="actions"></td>`;
  const actions = row.querySelector(".actions");
  for (const [label, path, danger] of [
    ["restart", "restart", false], ["kill", "kill", true], ["panic", "panic", true],
    ["hang", "hang", true], ["stall 50 ms", "stall?ms=50", false], ["unstall", "stall?ms=0", false],
  ]) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.dataset.action = path.split("?")[0];
    if (danger) button.className = "danger";
    button.onclick = () => act(a.name, path, label);
    actions.append(button);
  }
  // Move the running actor: in the kernel, to a child process, or to a
  // node of the cluster (POST /api/actors/NAME/move).
  const move = document.createElement("select");
  move.className = "move";
  move.title = "move this actor while it runs";
  move.onchange = () => {
    const [placement, node] = move.value.split(":");
    move.value = "";
    if (!placement) return;
    const body = node ? { placement, node } : { placement };
    act(a.name, "move", `move to ${node ? `node ${node}` : placement}`, body);
  };
  actions.append(move);
  return row;
}
function moveOptions(select) {
  const wanted = ["inprocess", "process", ...state.nodes.map((n) => `remote:${n}`)].join(",");
  if (select.dataset.options === wanted) return;
  select.dataset.options = wanted;
  select.innerHTML = `<option value="">move…</option><option value="inprocess">in the kernel</option><option value="process">child process</option>` +
    state.nodes.map((n) => `<option value="remote:${esc(n)}">node ${esc(n)}</option>`).join("");
}
function setText(row, cell, text) {
  const element = row.querySelector(`.${cell}`);
  if (element.textContent !== text) element.textContent = text;
}
function renderActors() {
  const body = $("#actors tbody");
  const names = state.actors.map((a) => a.name);
  for (const row of [...body.rows]) if (!names.includes(row.dataset.actor)) row.remove();
  state.actors.forEach((a, index) => {
    let row = body.querySelector(`tr[data-actor="${CSS.escape(a.name)}"]`);
    if (!row) row = actorRow(a);
    if (body.rows[index] !== row) body.insertBefore(row, body.rows[index] || null);
    const rate = state.rates[a.name] || {};
    const before = state.previousPids[a.name];
    if (before !== undefined && before !== a.pid) {
      // A new pid: flash the row so the restart is seen.
      row.classList.remove("changed");
      void row.offsetWidth;
      row.classList.add("changed");
    }
    setText(row, "kind", a.kind);
    setText(row, "placement", a.node ? `${a.placement} (${a.node})` : a.placement);
    moveOptions(row.querySelector(".move"));
    const stateCell = row.querySelector(".state");
    stateCell.className = `state state-${a.state}`;
    setText(row, "state", a.state);
    setText(row, "pid", String(a.pid ?? "—"));
    setText(row, "restarts", String(a.restarts));
    setText(row, "uptime", duration(a.uptime_ms));
    setText(row, "mailbox", String(a.mailbox_depth));
    setText(row, "heartbeat", a.heartbeat_age_ms === null || a.heartbeat_age_ms === undefined ? "—" : `${a.heartbeat_age_ms} ms`);
    setText(row, "rate", fixed(rate.perSecond));
    setText(row, "p99", rate.p99 === null || rate.p99 === undefined ? "—" : `${fixed(rate.p99, 2)} ms`);
    setText(row, "exit", a.last_exit ?? "");
    const spark = row.querySelector(".spark");
    spark.textContent = "";
    spark.append(sparkline(rate.history || []));
    state.previousPids[a.name] = a.pid;
  });
  const filter = $("#event-filter");
  if (filter.options.length !== names.length + 2) {
    const chosen = filter.value;
    filter.innerHTML = `<option value="">all actors</option><option value="supervisor">supervisor</option>` +
      names.map((n) => `<option value="${esc(n)}">${esc(n)}</option>`).join("");
    filter.value = chosen;
  }
}
function actorMessage(text, error = false) {
  const line = $("#actor-message");
  line.textContent = text;
  line.className = error ? "status error" : "status";
  clearTimeout(line.timer);
  if (text) line.timer = setTimeout(() => { line.textContent = ""; }, 8000);
}
async function act(name, path, label, body) {
  if (!(await ensureToken())) return;
  const init = { method: "POST", headers: headers(true) };
  if (body) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/actors/${encodeURIComponent(name)}/${path}`, init);
  if (response.status === 401) {
    setToken("");
    actorMessage(`${label} ${name}: the admin token was refused; enter it again.`, true);
    return;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    actorMessage(`${label} ${name}: ${body.error || response.status}`, true);
  } else {
    actorMessage(`${label} ${name}: accepted (${response.status})`);
  }
  await guarded(pollActors);
}
async function pollActors() {
  const actors = await getJSON("/api/actors");
  state.actors = actors || [];
  renderActors();
}
// The nodes a move can name (those up now; none without a [cluster]).
async function pollCluster() {
  const cluster = await getJSON("/api/cluster");
  state.nodes = cluster && cluster.nodes ? cluster.nodes.filter((n) => n.up).map((n) => n.name) : [];
}
async function pollSupervisor() {
  const s = await getJSON("/api/supervisor");
  if (s) $("#supervisor").textContent = `supervisor: ${s.strategy}, at most ${s.max_restarts} restarts in ${s.within_secs} s`;

}

// ---------- events ----------
async function pollEvents() {
  const events = await getJSON(`/api/events?since=${state.lastEvent}`);
  if (!events || events.length === 0) return;
  // A kernel that started over numbers its events from 1 again.
  if (events[0].id <= state.lastEvent) state.events = [];
  state.events.push(...events);
  if (state.events.length > 1000) state.events.splice(0, state.events.length - 1000);
  state.lastEvent = events[events.length - 1].id;
  renderEvents();
  // Something happened: show the actors now, not at the next poll.
  await pollActors();
}
function renderEvents() {
  const only = $("#event-filter").value;
  $("#events").innerHTML = state.events
    .filter((e) => !only || e.actor === only)
    .slice(-200)
    .reverse()
    .map((e) => `<li class="kind-${esc(e.kind)}">${new Date(e.unix_ms).toLocaleTimeString()} <b>${esc(e.actor)}</b> ${esc(e.kind)}${e.pid ? ` pid ${e.pid}` : ""} — ${esc(e.detail)}</li>`)
    .join("");
}

// ---------- the scene, over /ws ----------
async function connectScene() {
  const scene = state.scene;
  const stats = await fetch("/api/ws", { cache: "no-store" }).catch(() => null);
  if (!stats) {
    setTimeout(connectScene, 1000);
    return;
  }
  if (stats.status === 404) {
    $("#scene-status").textContent = "this system has no store actor";
    return;
  }
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  scene.ws = ws;
  ws.onopen = () => {
    const hello = { type: "session.hello", actor_id: "dashboard" };
    if (state.token) hello.token = state.token;
    if (scene.resume) hello.resume = { token: scene.resume, cursor: scene.cursor };
    ws.send(JSON.stringify(hello));
  };
  ws.onmessage = (event) => onScene(JSON.parse(event.data));
  ws.onclose = (event) => {
    scene.ws = null;
    $("#scene-status").textContent = `disconnected (${event.reason || event.code}); reconnecting`;
    setTimeout(connectScene, 1000);
  };
}
function onScene(message) {
  const scene = state.scene;
  switch (message.type) {
    case "session.welcome":
      scene.resume = message.resume_token;
      scene.writable = Boolean(state.token);
      $("#scene-status").textContent = `session ${message.session_id}${message.resumed ? " (resumed)" : ""}${scene.writable ? "" : " — read-only until a token is entered"}`;
      break;
    case "notify.scene":
      for (const [topic, value] of Object.entries(message.topics)) scene.topics[topic] = value;
      scene.cursor = message.version;
      renderScene();
      break;
    case "session.heartbeat":
      scene.cursor = Math.max(scene.cursor, message.version);
      break;
    case "state.ack": {
      const what = scene.pending[message.request_id];
      delete scene.pending[message.request_id];
      if (message.ok) {
        $("#scene-error").textContent = "";
      } else {
        const code = message.error && message.error.code;
        const text = code === "stale"
          ? `conflict: ${what} was not applied — someone changed it first (${message.error.message}); the panel shows the current value`
          : `${what} refused (${code}): ${message.error && message.error.message}`;
        $("#scene-error").textContent = text;
      }
      break;
    }
    case "session.error":
      $("#scene-error").textContent = `${message.code}: ${message.message}`;
      break;
    default:
      if (message.type.startsWith("notify.")) {
        const topic = message.type.slice("notify.".length);
        const records = (scene.topics[topic] ||= {});
        for (const change of message.changes) {
          const target = (records[change.target] ||= {});
          if (change.value === null) delete target[change.key];
          else target[change.key] = change.value;
          if (Object.keys(target).length === 0) delete records[change.target];
        }
        scene.cursor = message.version;
        const audit = $("#audit");
        const item = document.createElement("li");
        item.textContent = `v${message.version} ${message.actor_id} ${topic}: ` +
          message.changes.map((c) => `${c.target}/${c.key}=${JSON.stringify(c.value)}`).join(", ");
        audit.prepend(item);
        while (audit.children.length > 50) audit.lastChild.remove();
        renderScene();
      }
  }
}
async function update(topic, payload, what) {
  const scene = state.scene;
  if (!scene.ws || scene.ws.readyState !== WebSocket.OPEN) {
    $("#scene-error").textContent = "not connected to the store; try again in a moment";
    return;
  }
  if (!scene.writable) {
    if (!(await ensureToken())) return;
    $("#scene-error").textContent = "reconnecting with the token; try again in a moment";
    return;
  }
  const id = `dash-${Date.now()}-${scene.next++}`;
  scene.pending[id] = what;
  scene.ws.send(JSON.stringify({ type: "state.update", request_id: id, topic, expected_version: scene.cursor, payload }));
}
function layerOrder() {
  const layers = state.scene.topics.layers || {};
  const order = (layers["*"] && layers["*"].order) || Object.keys(layers).filter((k) => k !== "*");
  return order.filter((id) => layers[id]);
}
function renderScene() {
  const scene = state.scene;
  $("#scene-version").textContent = `version ${scene.cursor}`;
  const layers = scene.topics.layers || {};
  const order = layerOrder();
  const body = $("#layers tbody");
  body.textContent = "";
  [...order].reverse().forEach((id) => {
    const layer = layers[id];
    const row = document.createElement("tr");
    row.dataset.layer = id;
    row.innerHTML = `<td>${esc(layer.name ?? id)}</td><td><input type="checkbox" class="visible"></td>
      <td><input type="range" class="opacity" min="0" max="1" step="0.05"> <span class="value"></span></td>
      <td><button type="button" class="up">▲</button> <button type="button" class="down">▼</button></td>`;
    const visible = row.querySelector(".visible");
    visible.checked = layer.visible !== false;
    visible.onchange = () => update("layers", { op: "set", id, visible: visible.checked }, `${id} visible`);
    const opacity = row.querySelector(".opacity");
    opacity.value = layer.opacity ?? 1;
    row.querySelector(".value").textContent = fixed(layer.opacity ?? 1, 2);
    opacity.onchange = () => update("layers", { op: "set", id, opacity: Number(opacity.value) }, `${id} opacity`);
    const move = (delta) => {
      const next = [...order];
      const at = next.indexOf(id);
      const to = at + delta;
      if (to < 0 || to >= next.length) return;
      [next[at], next[to]] = [next[to], next[at]];
      update("layers", { op: "reorder", order: next }, "the layer order");
    };
    row.querySelector(".up").onclick = () => move(1);
    row.querySelector(".down").onclick = () => move(-1);
    body.append(row);
  });
  const camera = (scene.topics.camera || {}).main || {};
  const form = $("#camera-form");
  if (!form.contains(document.activeElement)) {
    $("#zoom").value = camera.zoom ?? 1;
    $("#center-x").value = (camera.center || [0.5, 0.5])[0];
    $("#center-y").value = (camera.center || [0.5, 0.5])[1];
  }
}

// ---------- topics (SSE) ----------
// Two streams: the bars and perception at most 30 values a second (what
// the panels draw), the compositor's per-frame figures every one (each
// frame's interval is a point of the graph).
let sources = [];
function startTopics() {
  for (const s of sources) s.close();
  const open = (topics, query) => {
    const s = new EventSource(`/api/topics/stream?topics=${topics.join(",")}${query}`);
    s.onerror = () => {
      if (s.readyState === EventSource.CLOSED) setTimeout(startTopics, 1000);
    };
    return s;
  };
  const media = open(TOPICS.filter((t) => t !== "compositor.stats"), "&max_hz=30");
  const frames = open(["compositor.stats"], "");
  sources = [media, frames];
  media.addEventListener("fft.bars", (event) => {
    state.bars = JSON.parse(event.data);
    if (state.bars.beat) state.beatUntil = performance.now() + 150;
    state.dirty.add("bars");
  });
  media.addEventListener("perception.tracks", (event) => {
    state.tracks = JSON.parse(event.data);
    state.dirty.add("camera");
    state.dirty.add("tracks");
  });
  media.addEventListener("perception.timelines", (event) => {
    state.timelines = JSON.parse(event.data);
    state.dirty.add("camera");
  });
  media.addEventListener("perception.detections", (event) => {
    state.detections.push([performance.now(), JSON.parse(event.data).count]);
  });
  frames.addEventListener("compositor.stats", (event) => {
    const s = JSON.parse(event.data);
    const now = performance.now();
    state.frameTimes.push([now, s.interval_ms, Boolean(s.late)]);
    while (state.frameTimes.length && now - state.frameTimes[0][0] > WINDOW_MS) state.frameTimes.shift();
    state.dirty.add("graph");
  });
}

// ---------- the loop ----------
// Each panel is redrawn when its data changed, at most at its own rate: the
// bars at 30 Hz, the camera at 15 Hz, the tracks table and the 60-s frame
// graph at 4 Hz — what the eye can use, and a light page.
const PAINT_MS = { bars: 33, camera: 66, tracks: 250, graph: 250 };
const painted = { bars: 0, camera: 0, tracks: 0, graph: 0 };
const DRAW = { bars: () => drawBars(), camera: () => drawCamera(), tracks: () => renderTracks(), graph: () => drawFrameGraph() };
function paint(now) {
  if (now < state.beatUntil + 200) state.dirty.add("bars");
  for (const panel of Object.keys(DRAW)) {
    if (state.dirty.has(panel) && now - painted[panel] >= PAINT_MS[panel]) {
      painted[panel] = now;
      state.dirty.delete(panel);
      DRAW[panel]();
    }
  }
  requestAnimationFrame(paint);
}
async function pollSlow() {
  const c = await getJSON("/api/compositor");
  if (c && !c.error) {
    state.compositor = c;
    if (c.fps_target) state.periodMs = 1000 / c.fps_target;
    renderFrameFigures();
  }
  const p = await getJSON("/api/perception/stats");
  const size = p && p.data && p.data.actor_stats && p.data.actor_stats.size;
  if (Array.isArray(size)) state.camera = { w: size[0], h: size[1] };
  await pollMetrics();
}
function every(ms, task) {
  const run = async () => {
    await guarded(task);
    setTimeout(run, ms);
  };
  run();
}

document.addEventListener("DOMContentLoaded", () => {
  $("#token-button").textContent = state.token ? "Token set" : "Enter admin token";
  $("#token-button").onclick = async () => {
    const token = await askToken();
    if (token !== null) setToken(token);
  };
  $("#event-filter").onchange = renderEvents;
  $("#camera-form").onsubmit = (event) => {
    event.preventDefault();
    update("camera", { op: "set", target: "main", zoom: Number($("#zoom").value),
      center: [Number($("#center-x").value), Number($("#center-y").value)] }, "the camera");
  };
  startStream();
  startTopics();
  connectScene();
  every(500, pollActors);
  every(500, pollEvents);
  every(1000, pollSlow);
  pollSupervisor().catch(() => {});
  every(2000, pollCluster);
  every(1000, async () => {
    // A failed fetch throws through to `guarded`, which marks the link down
    // (it must not be swallowed here: that would mark it up again). Not
    // `/readyz`: it answers 503 while an actor restarts — right for an
    // orchestrator, but the browser logs every 503 as a failed load. The
    // supervisor's own view (200 unless escalated) and the actors just
    // polled say the same.
    const health = await getJSON("/api/supervisor");
    const running = state.actors.length > 0 && state.actors.every((a) => a.state === "running");
    $("#uptime").textContent = health === null ? ""
      : (!health.escalated && running ? "ready" : "not ready");
  });
  requestAnimationFrame(paint);
});
