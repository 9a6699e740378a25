// The Mosaic console: views over the HTTP adapter's /v1 API, one per hash
// route, redrawn every two seconds while "live" is ticked. No framework
// and no build step; text goes in with textContent only.
"use strict";

const PAGE = 50; // topics a page

// ---- small helpers ----

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
  return e;
}

function link(href, text) { return el("a", { href }, text); }

function table(headers, rows, numeric) {
  const num = new Set(numeric || []);
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h, i) => el("th", num.has(i) ? { class: "num" } : {}, h)))),
    el("tbody", {}, rows.length
      ? rows.map(r => el("tr", {}, r.map((c, i) => el("td", num.has(i) ? { class: "num" } : {}, c))))
      : [el("tr", {}, el("td", { colspan: String(headers.length), class: "muted" }, "none"))]));
}

function fmt(n) { return n === null || n === undefined ? "-" : Number(n).toLocaleString("en"); }

function age(ms) {
  if (ms === null || ms === undefined) return "-";
  if (ms < 1000) return ms + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
  if (ms < 3600000) return (ms / 60000).toFixed(1) + " min";
  return (ms / 3600000).toFixed(1) + " h";
}

async function api(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((body.error && body.error.message) || r.status + " " + r.statusText);
  return body;
}

function route() {
  const h = location.hash.replace(/^#/, "") || "/";
  const [path, query] = h.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query || "") };
}

// ---- views: each returns the nodes of <main> ----

async function overview() {
  const c = await api("/v1/cluster");
  const groups = await api("/v1/groups");
  const q = c.quorum;
  return [
    el("h2", {}, "Cluster"),
    table(["cluster id", "this node", "active controller", "quorum leader", "leader epoch", "high watermark"],
      [[c.cluster_id, c.node_id, c.controller_id, q.leader_id, q.leader_epoch, fmt(q.high_watermark)]]),
    el("h2", {}, "Quorum voters"),
    table(["voter", "log end offset", "last fetch"],
      (q.voters || []).map(v => [v.id, fmt(v.log_end_offset),
        v.last_fetch_ms > 0 ? age(Date.now() - v.last_fetch_ms) + " ago" : "-"]), [1]),
    el("h2", {}, "Brokers"),
    table(["broker", "rack", "listeners", "state"],
      c.brokers.map(b => [b.id, b.rack || "-", b.listeners.map(l => l.name + " " + l.host + ":" + l.port).join(", "),
        b.fenced ? el("span", { class: "bad" }, "fenced") : el("span", { class: "good" }, "serving")])),
    el("h2", {}, "Groups"),
    table(["group", "type", "state"], groups.groups.map(g => [link("#/groups/" + encodeURIComponent(g.group_id), g.group_id),
      g.type, g.state])),
  ];
}

async function topics(query) {
  const filter = query.get("filter") || "";
  const after = query.get("after") || "";
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (filter) params.set("filter", filter);
  if (after) params.set("after", after);
  const page = await api("/v1/topics?" + params);
  const input = el("input", { type: "search", id: "filter", placeholder: "filter topics by name", value: filter });
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { location.hash = "#/topics?filter=" + encodeURIComponent(input.value); }, 300);
  });
  const nav = [];
  if (after) nav.push(link("#/topics" + (filter ? "?filter=" + encodeURIComponent(filter) : ""), "first page"));
  if (page.next) nav.push(link("#/topics?" + new URLSearchParams(filter ? { filter, after: page.next } : { after: page.next }),
    "next page"));
  return [
    el("h2", {}, "Topics"),
    el("div", { class: "toolbar" }, input, ...nav),
    table(["topic", "partitions", "internal"], page.topics.map(t => [link("#/topics/" + encodeURIComponent(t.name), t.name),
      t.partitions, t.internal ? "yes" : ""]), [1]),
  ];
}

async function topic(name) {
  const t = await api("/v1/topics/" + encodeURIComponent(name));
  return [
    el("h2", {}, "Topic " + t.name),
    table(["partition", "leader", "epoch", "replicas", "in sync", "earliest", "latest", "records"],
      t.partitions.map(p => [p.partition, p.leader, p.leader_epoch, p.replicas.join(", "), p.isr.join(", "),
        fmt(p.earliest_offset), fmt(p.latest_offset),
        p.latest_offset === null ? "-" : fmt(p.latest_offset - p.earliest_offset)]), [0, 5, 6, 7]),
  ];
}

async function groups() {
  const g = await api("/v1/groups");
  return [
    el("h2", {}, "Consumer and share groups"),
    table(["group", "type", "state"], g.groups.map(x => [link("#/groups/" + encodeURIComponent(x.group_id), x.group_id),
      x.type, x.state])),
  ];
}

async function group(name) {
  const g = await api("/v1/groups/" + encodeURIComponent(name));
  const share = g.type === "share";
  const out = [
    el("h2", {}, (share ? "Share group " : "Consumer group ") + g.group_id),
    table(["state", "members", share ? "records not yet finished" : "lag (records)", share ? "" : "lag (time)"],
      [[g.state || "-", g.members.length, el("span", { id: "group-lag" }, fmt(g.lag)),
        share ? "" : el("span", { id: "group-lag-time" }, age(g.lag_ms))]], [1, 2]),
    el("h2", {}, "Members"),
    table(["member", "client", "host", "epoch", "assignment"], g.members.map(m => [m.member_id, m.client_id,
      m.client_host, m.member_epoch === undefined ? "-" : m.member_epoch,
      (m.assignment || []).map(a => a.topic + " [" + a.partitions.join(", ") + "]").join("; ") || "-"])),
    el("h2", {}, "Partitions"),
  ];
  if (share)
    out.push(table(["topic", "partition", "start offset", "lag", "in flight", "acquired", "redelivered", "rejected",
      "dead-lettered"], g.partitions.map(p => [p.topic, p.partition, fmt(p.start_offset), fmt(p.lag), fmt(p.in_flight),
      fmt(p.acquired), fmt(p.redelivered), fmt(p.rejected), fmt(p.dead_lettered)]), [1, 2, 3, 4, 5, 6, 7, 8]));
  else
    out.push(table(["topic", "partition", "committed", "end", "lag", "lag (time)"], g.partitions.map(p => [p.topic,
      p.partition, fmt(p.committed_offset), fmt(p.end_offset), fmt(p.lag), age(p.lag_ms)]), [1, 2, 3, 4, 5]));
  return out;
}

async function plugins() {
  const p = await api("/v1/plugins");
  return [
    el("h2", {}, "Plugins of node " + p.node_id),
    table(["slot", "plugin", "generation", "calls", "errors"], p.slots.map(s => [s.slot, s.plugin, s.generation,
      fmt(s.calls), s.errors ? el("span", { class: "bad" }, fmt(s.errors)) : "0"]), [2, 3, 4]),
  ];
}

// ---- the loop ----

let drawing = false;

async function draw() {
  if (drawing) return;
  drawing = true;
  const { parts, query } = route();
  const view = parts[0] || "overview";
  for (const a of document.querySelectorAll("header nav a"))
    a.classList.toggle("active", a.dataset.view === view);
  let nodes;
  try {
    if (view === "topics") nodes = parts[1] ? await topic(parts[1]) : await topics(query);
    else if (view === "groups") nodes = parts[1] ? await group(parts[1]) : await groups();
    else if (view === "plugins") nodes = await plugins();
    else nodes = await overview();
    const c = await api("/v1/cluster");
    document.getElementById("cluster").textContent =
      "cluster " + c.cluster_id + " · node " + c.node_id + " · controller " + c.controller_id;
  } catch (e) {
    nodes = [el("div", { class: "error" }, "could not load: " + e.message)];
  }
  const main = document.getElementById("main");
  // Keep the filter box (and its caret) while typing.
  const focused = document.activeElement && document.activeElement.id === "filter";
  main.replaceChildren(...nodes);
  if (focused) {
    const f = document.getElementById("filter");
    if (f) { f.focus(); f.setSelectionRange(f.value.length, f.value.length); }
  }
  document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString("en-GB");
  document.body.dataset.ready = "1";
  drawing = false;
}

window.addEventListener("hashchange", draw);
setInterval(() => { if (document.getElementById("live").checked) draw(); }, 2000);
draw();
