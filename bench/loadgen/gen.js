// The load generator for every contestant: one Node process, one clock.
//
//   node bench/loadgen/gen.js '<json config>'
//
// Modes (config.mode):
//   relay  B1: rooms of three, open-loop 300-byte signals to one peer; latency rows, then a
//          rate ramp for the peak relayed msgs/s with p99 <= the SLO.
//   storm  B2: N couples rooms join (connect, auth, knock, admit) and negotiate (offer, answer,
//          candidates both ways), a bounded number of rooms in flight.
//   hold   B3: connect and join participants up to each level, report, wait for "go" on stdin.
//
// Kinds (config.kind): "alongside" (our protocol: JWT, join, lobby, admit; `to` is the
// participant id), "socketio" (S0 and N0: join {room}; `to` is the socket id), "raw" (R0:
// plain WebSocket, JSON {to, sdp}).
//
// Output: JSON lines on stdout ({"event": ...}); the last one is {"event": "result", ...}.
// Every wait is bounded; a failure prints {"event": "error"} and exits non-zero.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const readline = require("readline");
const { performance } = require("perf_hooks");
const { io } = require("socket.io-client");
const WebSocket = require("ws");

const cfg = JSON.parse(process.argv[2]);
const started = performance.now();
// Past cfg.budget_s the run stops spending time on repeats (contended or failed steps, bisection)
// and finishes with what it has, so that `make bench QUICK=1` stays within its time.
// With cfg.per_count (B5 capped) each room count gets an equal share of the budget, from when
// its own measurements begin.
let budgetFrom = started;
let budgetS = cfg.budget_s;
const overtime = () => budgetS > 0 && (performance.now() - budgetFrom) / 1000 > budgetS;
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---- tokens: HS256, the claims a host platform would mint ------------------------------------
function mint(claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const iat = Math.floor(Date.now() / 1000);
  const body = enc({ iss: "alongside", aud: "alongside", iat, nbf: iat, exp: iat + 3600, ...claims });
  const head = enc({ alg: "HS256", typ: "JWT" });
  const sig = crypto.createHmac("sha256", cfg.secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

// ---- server CPU from /proc: nanoseconds on a CPU, summed over the process's threads ---------
function cpuNs(pid) {
  if (Array.isArray(pid)) { // several server processes (B5 two nodes): their sum
    const all = pid.map(cpuNs);
    return all.some((v) => v === null) ? null : all.reduce((a, b) => a + b, 0);
  }
  if (!pid) return null;
  try {
    let total = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        /* a thread that just ended */
      }
    }
    return total;
  } catch {
    return null;
  }
}

// Milliseconds a process's main thread spent runnable but waiting for a CPU (schedstat field 2):
// how much other load on the box stole from it. A step where the server or the generator waited
// more than cfg.max_wait_frac of the time measured the neighbours, not the contestant.
function waitMs(pid) {
  if (Array.isArray(pid)) { // several server processes: their sum (conservative)
    const all = pid.map(waitMs);
    return all.some((v) => v === null) ? null : all.reduce((x, y) => x + y, 0);
  }
  try {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[1]) / 1e6;
  } catch {
    return null;
  }
}
const cpuSeconds = (t0, t1) => (t0 === null || t1 === null ? null : (t1 - t0) / 1e9);

// ---- participants --------------------------------------------------------------------------
const ROLES = ["clinician", "client", "partner"];

class Participant {
  constructor(target, room, index) {
    this.t = target; // {name, kind, url, server_pid} (B5: urls, server_pid a list)
    this.room = room; // room name
    this.role = ROLES[index];
    // B5 two nodes: the room's members alternate over the nodes (room r, member i on node
    // (3r + i) mod n), so every room spans both nodes and most signals cross through Redis;
    // with placement "room", room r is wholly on node r mod n and nothing crosses.
    const r = Number(String(room).replace(/\D/g, "")) || 0;
    const slot = target.placement === "room" ? r : 3 * r + index;
    this.url = target.urls ? target.urls[slot % target.urls.length] : target.url;
    this.id = `${["cl", "c", "p"][index]}-${room}`;
    this.addr = this.id; // what peers put in `to`
    this.sock = null;
    this.handlers = {};
    this.link = null; // a WireLink once relay steps begin
  }

  on(event, fn) {
    this.handlers[event] = fn;
  }

  _dispatch(event, data) {
    const fn = this.handlers[event];
    if (fn) fn(data);
  }

  async connect() {
    if (this.t.kind === "raw") {
      const ws = new WebSocket(`${this.url.replace(/^http/, "ws")}/ws?id=${encodeURIComponent(this.id)}`,
        { perMessageDeflate: false });
      this.sock = ws;
      ws.on("message", (m) => {
        const d = JSON.parse(m);
        this._dispatch("offer", d);
      });
      await withTimeout(new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
      }), 10000, "ws open");
      return;
    }
    const opts = {
      transports: ["websocket"], forceNew: true, reconnection: false, perMessageDeflate: false,
      timeout: 10000,
    };
    if (this.t.kind === "alongside") {
      // bench/seed.py made program bench-ROOM with these three people (partner approved).
      const claims = { sub: this.id, name: this.role, role: this.role, program: `bench-${this.room}`, room: this.room };
      if (this.role === "clinician") claims.room_kind = "couples";
      const token = mint(claims);
      opts.auth = { token };
    }
    const sock = io(this.url, opts);
    this.sock = sock;
    sock.onAny((event, data) => this._dispatch(event, data));
    await withTimeout(new Promise((resolve, reject) => {
      sock.once("connect", resolve);
      sock.once("connect_error", (err) => reject(new Error(`connect_error ${err.message}`)));
    }), 10000, "connect");
    if (this.t.kind === "socketio") this.addr = sock.id;
  }

  async call(event, data) {
    const ack = await this.sock.timeout(10000).emitWithAck(event, data);
    if (!ack || ack.ok !== true) throw new Error(`${event} refused: ${JSON.stringify(ack)}`);
    return ack;
  }

  // Relay steps only: from here on this participant's signals and acks bypass
  // socket.io-client (see WireLink). Joining and admission are done by then.
  goFast() {
    if (this.t.kind !== "raw" && !this.link) this.link = new WireLink(this.sock, (e, d) => this._dispatch(e, d));
  }

  // One signal; `ack(ok)` is called with the server's answer (socket.io kinds only).
  send(event, body, ack) {
    if (this.t.kind === "raw") {
      this.sock.send(JSON.stringify(body));
    } else if (this.link) {
      this.link.emit(event, body, ack ? (resp) => ack(resp && resp.ok === true) : null);
    } else if (ack) {
      this.sock.emit(event, body, (resp) => ack(resp && resp.ok === true));
    } else {
      this.sock.emit(event, body);
    }
  }

  close() {
    try {
      if (this.t.kind === "raw") this.sock.terminate();
      else this.sock.disconnect();
    } catch {
      /* already gone */
    }
  }
}

// socket.io's wire format, spoken directly on the connection socket.io-client opened, for the
// relay's hot path. The frames are byte for byte what socket.io-client sends and receives
// (`42<ack id>["offer",{...}]`, acks `43<id>[{...}]`, default namespace), so no server can tell
// the difference; the generator just skips the client library's per-packet machinery (encoder,
// emitter, ack timers), about a third of its CPU per message. That matters in B5: on a 2-core box
// the generator shares the CPUs with the servers, and every cycle it spends is one that two
// server processes cannot use. Anything else (pings, binary, server-side acks) still goes to
// socket.io-client's own handler.
let wireAckId = 1e6; // far above the ids socket.io-client hands out in a run
class WireLink {
  constructor(sock, dispatch) {
    this.ws = sock.io.engine.transport.ws;
    this.acks = new Map();
    const library = this.ws.onmessage;
    this.ws.onmessage = (ev) => {
      const d = ev.data;
      if (typeof d === "string" && d.charCodeAt(0) === 52) { // "4": a socket.io packet
        if (d.startsWith('42["')) { // an event without an ack id
          const [event, data] = JSON.parse(d.slice(2));
          dispatch(event, data);
          return;
        }
        if (d.charCodeAt(1) === 51) { // "3": an ack
          const j = d.indexOf("[");
          const id = Number(d.slice(2, j));
          const fn = this.acks.get(id);
          if (fn) {
            this.acks.delete(id);
            fn(JSON.parse(d.slice(j))[0]);
            return;
          }
        }
      }
      library(ev);
    };
  }

  emit(event, body, ack) {
    if (!ack) {
      this.ws.send(`42${JSON.stringify([event, body])}`);
      return;
    }
    const id = wireAckId++;
    this.acks.set(id, ack);
    this.ws.send(`42${id}${JSON.stringify([event, body])}`);
  }
}

// Bring one room of three in: connect, authenticate, join/knock, admit. Returns the people.
async function enterRoom(target, name) {
  const people = [0, 1, 2].map((i) => new Participant(target, name, i));
  const [clin, ...others] = people;
  if (target.kind === "raw") {
    await Promise.all(people.map((p) => p.connect()));
    return people;
  }
  if (target.kind === "socketio") {
    await Promise.all(people.map(async (p) => {
      await p.connect();
      await p.call("join", { room: name });
    }));
    return people;
  }
  // alongside: the clinician's token opens the room; the others knock and are admitted.
  await clin.connect();
  await clin.call("join", {});
  await Promise.all(others.map(async (p) => {
    await p.connect();
    const admitted = new Promise((resolve) => p.on("admitted", resolve));
    const ack = await p.call("join", {});
    if (ack.you.state !== "admitted") {
      await clin.call("admit", { participant: p.id });
      await withTimeout(admitted, 10000, "admitted");
    }
  }));
  return people;
}

// Run `fn` over `items` with at most `limit` in flight.
async function pool(items, limit, fn) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(workers);
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

// ---- B1 relay --------------------------------------------------------------------------------
// sdp = "v=0\r\no=- SEQ(10) T(14) IN IP4 127.0.0.1\r\na=x-pad:xxx\r\n", padded so that the
// payload {to, sdp} is exactly cfg.signal_bytes of JSON; SEQ and T sit at fixed offsets.
const HEAD = "v=0\r\no=- ";
function padFor(to) {
  const probe = JSON.stringify({ to, sdp: `${HEAD}${"0".repeat(10)} ${"0".repeat(14)} IN IP4 127.0.0.1\r\na=x-pad:\r\n` });
  return "x".repeat(Math.max(0, cfg.signal_bytes - Buffer.byteLength(probe)));
}

let stepCounter = 0;

class Relay {
  constructor(rooms) {
    this.rooms = rooms; // arrays of three participants
    this.routes = []; // [sender, to, pad]
    this.recv = null;
    this.sent = 0;
    this.received = 0;
    this.errors = 0;
    this.stepId = 0;
    this.rebuild();
  }

  rebuild() {
    for (const people of this.rooms) for (const p of people) p.goFast();
    // Message i goes from routes[i % routes.length]: rooms interleaved, each member in turn
    // signals the next one (clinician -> client -> partner -> clinician).
    this.routes = [];
    for (let k = 0; k < 3; k++) {
      for (const people of this.rooms) {
        const from = people[k];
        const to = people[(k + 1) % 3];
        this.routes.push([from, to.addr, padFor(to.addr)]);
        to.on("offer", (d) => this.onSignal(d));
      }
    }
  }

  onSignal(d) {
    const t = now();
    const sdp = d.sdp;
    const step = Number(sdp.substr(9, 3));
    if (step !== this.stepId || this.recv === null) return; // a straggler from an earlier step
    const seq = Number(sdp.substr(12, 7));
    const sentAt = Number(sdp.substr(20, 14));
    if (this.recv[seq] === 0) {
      this.recv[seq] = t - sentAt;
      this.received++;
    }
  }

  sendOne(seq) {
    const [from, to, pad] = this.routes[seq % this.routes.length];
    const t = now();
    const sdp = `${HEAD}${String(this.stepId).padStart(3, "0")}${String(seq).padStart(7, "0")} ${t.toFixed(3).padStart(14, "0")} IN IP4 127.0.0.1\r\na=x-pad:${pad}\r\n`;
    from.send("offer", { to, sdp }, from.t.kind === "raw" ? null : (ok) => { if (!ok) this.errors++; });
    this.sent++;
  }

  // Open loop: message i is due at start + i/rate, whatever happened to earlier ones.
  async step(rate, seconds) {
    stepCounter = (stepCounter + 1) % 1000; // unique across relays: stragglers are ignored
    this.stepId = stepCounter;
    const total = Math.max(1, Math.round(rate * seconds));
    this.recv = new Float64Array(total);
    this.sent = 0;
    this.received = 0;
    this.errors = 0;
    const lag = [];
    const pid = this.rooms[0][0].t.server_pid;
    const cpu0 = cpuNs(pid);
    const gen0 = process.cpuUsage();
    const sw0 = waitMs(pid);
    const gw0 = waitMs(process.pid);
    const start = now() + 2;
    const interval = 1000 / rate;
    await new Promise((resolve) => {
      const tick = () => {
        const t = now();
        let due = Math.min(total, Math.floor((t - start) / interval) + 1);
        while (this.sent < due) {
          lag.push(now() - (start + this.sent * interval));
          this.sendOne(this.sent);
        }
        if (this.sent >= total) resolve();
        else setTimeout(tick, 1);
      };
      setTimeout(tick, 2);
    });
    const sendEnd = now();
    // Anything not in within the SLO of the last send has failed the step already; wait a
    // little longer than that for the accounting, then (below) for the backlog to clear.
    const deadline = sendEnd + cfg.slo_ms + 50;
    while (this.received < total && now() < deadline) await sleep(2);
    const elapsed = (sendEnd - start) / 1000;
    const cpu1 = cpuNs(pid);
    const sw1 = waitMs(pid);
    const gw1 = waitMs(process.pid);
    const gen1 = process.cpuUsage(gen0);
    const lat = Array.from(this.recv).map((v) => (v === 0 ? Infinity : v)).sort((a, b) => a - b);
    lag.sort((a, b) => a - b);
    const serverCpu = cpuSeconds(cpu0, cpu1);
    const wall = (now() - start) / 1000;
    const res = {
      rate, seconds: elapsed, sent: total, received: this.received, errors: this.errors,
      lost: total - this.received,
      p50_ms: percentile(lat, 0.5), p99_ms: percentile(lat, 0.99), max_ms: lat[lat.length - 1],
      msgs_per_s: this.received / Math.max(elapsed, 1e-9),
      send_lag_p99_ms: percentile(lag, 0.99),
      server_cpu_util: serverCpu === null ? null : serverCpu / wall,
      server_msgs_per_cpu_s: serverCpu ? this.received / serverCpu : null,
      generator_cpu_util: (gen1.user + gen1.system) / 1e6 / wall,
      server_wait_frac: sw0 === null || sw1 === null ? null : (sw1 - sw0) / (wall * 1000),
      generator_wait_frac: gw0 === null || gw1 === null ? null : (gw1 - gw0) / (wall * 1000),
    };
    res.contended = (res.server_wait_frac || 0) > cfg.max_wait_frac
      || (res.generator_wait_frac || 0) > cfg.max_wait_frac
      || (res.send_lag_p99_ms || 0) > cfg.max_lag_ms;
    for (const k of ["p50_ms", "p99_ms", "max_ms"]) if (res[k] === Infinity) res[k] = null;
    // Let the server work off its backlog before anything else is measured (bounded).
    const clear = now() + cfg.drain_ms;
    while (this.received < total && now() < clear) await sleep(5);
    res.delivered = this.received; // in at all, however late (lost counts only the SLO)
    this.recv = null;
    return res;
  }
}

function passes(s) {
  return s.errors === 0 && s.lost === 0 && s.p99_ms !== null && s.p99_ms <= cfg.slo_ms;
}

// One contestant's search for the peak rate that keeps p99 within the SLO: come down (halving)
// until a rate passes, climb by ramp_factor until one fails, then bisect. A failing step is
// tried again (cfg.retries times): on a shared box one stall from elsewhere should not decide.
class Ramp {
  constructor(start) {
    this.rate = start;
    this.lo = null;
    this.hi = null;
    this.phase = "down";
    this.bisectLeft = cfg.bisect;
    this.attempt = 0;
    this.contendedLeft = cfg.contended_retries;
    this.steps = [];
  }

  get done() {
    return this.phase === "done";
  }

  record(s) {
    s.pass = passes(s);
    s.attempt = this.attempt;
    this.steps.push(s);
    // Past the budget a contended failure still gets one more try (not cfg.contended_retries).
    const contendedOk = overtime() ? this.contendedLeft === cfg.contended_retries : this.contendedLeft > 0;
    if (!s.pass && s.contended && contendedOk) {
      this.contendedLeft--; // the neighbours failed this step, not the contestant: again
      return;
    }
    if (!s.pass && this.attempt < cfg.retries && !overtime()) {
      this.attempt++;
      return;
    }
    this.attempt = 0;
    this.contendedLeft = cfg.contended_retries;
    const r = this.rate;
    if (this.phase === "down") {
      if (s.pass) {
        this.lo = r;
        if (this.hi === null) {
          this.phase = "up";
          this.rate = Math.round(r * cfg.ramp_factor);
        } else {
          this.phase = "bisect";
        }
      } else {
        this.hi = r;
        this.rate = Math.max(50, Math.round(r / 2));
        if (r <= 50) this.phase = "done";
      }
    } else if (this.phase === "up") {
      if (s.pass) {
        this.lo = r;
        this.rate = Math.round(r * cfg.ramp_factor);
      } else {
        this.hi = this.ceiling(s, r);
        this.phase = "bisect";
      }
    } else if (this.phase === "bisect") {
      if (s.pass) this.lo = r;
      else this.hi = this.ceiling(s, r);
      this.bisectLeft--;
    }
    if (this.phase === "up" && this.rate > cfg.ramp_max) this.phase = "done";
    if (this.phase === "bisect") {
      if (this.bisectLeft <= 0 || overtime() || this.lo === null || this.hi === null
        || this.hi <= this.lo * 1.03) this.phase = "done";
      else this.rate = Math.round((this.lo + this.hi) / 2);
    }
  }

  // The lowest rate known to fail. A step that could not even deliver its rate (the server
  // saturated: its backlog grew) also shows roughly what the server can carry, so no rate
  // above what it delivered can pass: bisecting below that instead of below the offered rate
  // tightens the bracket a doubling ramp leaves (e.g. 4,000 passed, 8,000 offered but 6,700
  // delivered: the next probe is 5,350, not 6,000).
  ceiling(s, r) {
    const delivered = s.msgs_per_s;
    if (this.lo !== null && delivered > this.lo && delivered < 0.95 * r) return Math.min(r, Math.round(delivered));
    return r;
  }

  summary() {
    const passing = this.steps.filter((s) => s.pass);
    const best = passing.reduce((a, s) => (a === null || s.msgs_per_s > a.msgs_per_s ? s : a), null);
    return { peak_msgs_per_s: best ? best.msgs_per_s : 0, peak_step: best,
      capped: this.hi === null, steps: this.steps };
  }
}

// B1 for every contestant in one process, interleaved step by step (A B C D A B C D ...), so a
// burst of load from elsewhere on the box lands on all of them alike. With cfg.per_count (B5
// capped) the ramps and round trips run at every room count (result.by_rooms[n]); otherwise
// at the largest only (result.ramps, result.ring).
async function relayMode() {
  const targets = cfg.targets;
  const rooms = Object.fromEntries(targets.map((t) => [t.name, []]));
  const result = { latency: {}, ramps: Object.fromEntries(targets.map((t) => [t.name, []])) };
  if (cfg.per_count) {
    result.by_rooms = {};
    budgetS = cfg.budget_s / cfg.room_counts.length;
  }
  const t0 = now();
  for (const n of cfg.room_counts) {
    budgetFrom = cfg.per_count ? now() : budgetFrom;
    const marks = [now()];
    const enter = async (t) => {
      const have = rooms[t.name];
      const names = Array.from({ length: n - have.length }, (_, i) => `r${have.length + i}`);
      const made = new Array(names.length);
      await pool(names, cfg.concurrency, async (name, i) => { made[i] = await enterRoom(t, name); });
      have.push(...made);
    };
    // Capped setups have CPUs of their own: they take their people in all at once.
    if (cfg.per_count) await Promise.all(targets.map(enter));
    else for (const t of targets) await enter(t);
    marks.push(now());
    const relays = Object.fromEntries(targets.map((t) => [t.name, new Relay(rooms[t.name])]));
    for (const t of targets) await relays[t.name].step(cfg.latency_rate, cfg.warmup_s); // warm-up
    const windows = Object.fromEntries(targets.map((t) => [t.name, []]));
    // Past the budget, windows after the first and ramps after the first are left out.
    for (let w = 0; w < cfg.latency_windows && !(w > 0 && overtime()); w++) {
      for (const t of rotate(targets, w)) {
        let best = null;
        for (let attempt = 0; attempt <= (overtime() ? 0 : cfg.contended_retries); attempt++) {
          const s = await relays[t.name].step(cfg.latency_rate, cfg.latency_s);
          s.window = w;
          s.attempts = attempt + 1;
          const stolen = (x) => (x.server_wait_frac || 0) + (x.generator_wait_frac || 0);
          if (best === null || stolen(s) < stolen(best)) best = s;
          await sleep(cfg.pause_ms);
          if (!s.contended) break;
        }
        windows[t.name].push(best);
      }
    }
    result.latency[n] = windows;
    out({ event: "latency", rooms: n });
    if (cfg.per_count) {
      marks.push(now());
      result.by_rooms[n] = { ramps: await ramps(targets, rooms, windows) };
      marks.push(now());
      if (cfg.ring_s > 0) result.by_rooms[n].ring = await rings(targets, rooms);
      marks.push(now());
      // Where this room count's time went: entering rooms, latency, ramps, round trips.
      result.by_rooms[n].seconds = marks.slice(1).map((m, i) => Math.round(m - marks[i]) / 1000);
    }
  }
  result.setup_s = (now() - t0) / 1000;
  if (!cfg.per_count) {
    const last = result.latency[cfg.room_counts[cfg.room_counts.length - 1]];
    result.ramps = await ramps(targets, rooms, last);
    // B5: round trips on the same rooms, interleaved like the ramps (A B C D A B C D ...).
    if (cfg.ring_s > 0) result.ring = await rings(targets, rooms);
  }
  for (const t of targets) for (const people of rooms[t.name]) for (const p of people) p.close();
  return result;
}

const rotate = (targets, k) => targets.slice(k % targets.length).concat(targets.slice(0, k % targets.length));

// Every target's peak search on its rooms, one step each in turn; the start is estimated from
// the latency `windows` (msgs per server CPU-second, times t.cpu_budget when its nodes are
// capped: what the server could carry).
async function ramps(targets, rooms, windows) {
  const result = Object.fromEntries(targets.map((t) => [t.name, []]));
  const relays = Object.fromEntries(targets.map((t) => [t.name, new Relay(rooms[t.name])]));
  for (let rep = 0; rep < cfg.ramp_reps && !(rep > 0 && overtime()); rep++) {
    const search = {};
    for (const t of targets) {
      // Start at a fraction (default half) of the capacity the latency windows suggest (msgs
      // per server CPU-second; at their low rate that underestimates the peak).
      const est = windows[t.name]
        .map((s) => s.server_msgs_per_cpu_s).filter((v) => v).sort((a, b) => a - b);
      const guess = (est.length ? est[Math.floor(est.length / 2)] : 1000) * (t.cpu_budget || 1);
      search[t.name] = new Ramp(cfg.ramp_start
        || Math.max(100, Math.round((guess * (cfg.ramp_start_frac || 0.5)) / 50) * 50));
    }
    for (let round = 0; targets.some((t) => !search[t.name].done); round++) {
      for (const t of rotate(targets, round + rep)) {
        const ramp = search[t.name];
        if (ramp.done) continue;
        const s = await relays[t.name].step(ramp.rate, cfg.ramp_s);
        ramp.record(s);
        out({ event: "ramp", target: t.name, rep, rate: s.rate, p99_ms: s.p99_ms, pass: s.pass });
        await sleep(cfg.pause_ms);
      }
    }
    for (const t of targets) result[t.name].push(search[t.name].summary());
  }
  return result;
}

// Round trips for every target, cfg.ring_reps repetitions interleaved (A B C, B C A, ...).
async function rings(targets, rooms) {
  const result = Object.fromEntries(targets.map((t) => [t.name, []]));
  // Not cut by the budget: each repetition is short (ring_s per setup) and one alone is noisy.
  for (let rep = 0; rep < (cfg.ring_reps || 1); rep++) {
    for (const t of rotate(targets, rep)) {
      const r = await ring(t, rooms[t.name]);
      result[t.name].push(r);
      out({ event: "ring", target: t.name, rep, rooms: rooms[t.name].length,
        msgs_per_s: r.msgs_per_s, dropped: r.dropped });
      await sleep(cfg.pause_ms);
    }
  }
  return result;
}

// ---- B5 round trips ---------------------------------------------------------------------------
// Closed loop, the shape of the measurement behind the cluster issue's anchor ("180 round trips/s
// at 100 rooms"): every room keeps cfg.ring_tokens signals circulating (clinician -> client ->
// partner -> clinician ...), and whoever receives one passes it on at once. The server always
// has rooms x tokens signals in hand, so this measures what it carries when a whole program's
// rooms talk at once, unpaced; there is no latency bound (the relay ramp has one). Tokens stop
// at the end of the window; what was sent and never arrived within cfg.drain_ms is dropped.
async function ring(t, rooms) {
  let running = false;
  let delivered = 0;
  let sent = 0;
  let refused = 0;
  const pad = "x".repeat(Math.max(0, cfg.signal_bytes - 60));
  const tokens = [];
  const pass = (from, k) => {
    k.at = (k.at + 1) % 3;
    sent++;
    from.send("offer", { to: rooms[k.room][k.at].addr, sdp: `v=0\r\no=- ${k.id}\r\na=x-pad:${pad}\r\n` },
      (ok) => { if (!ok) refused++; });
  };
  rooms.forEach((people, r) => {
    people.forEach((p) => {
      p.goFast();
      p.on("offer", (d) => {
        delivered++;
        const k = tokens[Number(d.sdp.slice(9, d.sdp.indexOf("\r", 9)))];
        if (running && k) pass(p, k);
      });
    });
    for (let j = 0; j < cfg.ring_tokens; j++) tokens.push({ id: tokens.length, room: r, at: j % 3 });
  });
  const pid = t.server_pid;
  const cpu0 = cpuNs(pid);
  const gen0 = process.cpuUsage();
  const t0 = now();
  running = true;
  for (const k of tokens) pass(rooms[k.room][k.at], k);
  await sleep(cfg.ring_s * 1000);
  const inWindow = delivered;
  const elapsed = (now() - t0) / 1000;
  const cpu = cpuSeconds(cpu0, cpuNs(pid));
  const gen = process.cpuUsage(gen0);
  running = false;
  const clear = now() + cfg.drain_ms;
  while (delivered < sent && now() < clear) await sleep(5);
  return {
    msgs_per_s: inWindow / elapsed, seconds: elapsed, sent, delivered, dropped: sent - delivered,
    refused, server_cpu_util: cpu === null ? null : cpu / elapsed,
    // The generator's own share of a CPU: near 1 it, not the server, would set the pace.
    generator_cpu_util: (gen.user + gen.system) / 1e6 / elapsed,
    server_msgs_per_cpu_s: cpu ? inWindow / cpu : null,
  };
}

const single = () => ({ name: cfg.kind, kind: cfg.kind, url: cfg.url, server_pid: cfg.server_pid });

// ---- B2 join storm ----------------------------------------------------------------------------
function candidate(i) {
  return { candidate: `candidate:${i} 1 udp 2122260223 127.0.0.1 ${50000 + i} typ host generation 0`, sdpMid: "0", sdpMLineIndex: 0 };
}

function fakeSdp(kind, bytes) {
  const head = `v=0\r\no=- ${Date.now()} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=${kind}\r\n`;
  let body = head;
  let n = 0;
  while (body.length < bytes) body += `a=x-line-${n++}:${"y".repeat(60)}\r\n`;
  return body;
}

// The clinician offers to each other member; they answer; both trickle `cfg.candidates`.
async function negotiate(people) {
  const [clin, ...others] = people;
  const ncand = cfg.candidates;
  const offerSdp = fakeSdp("sendrecv", cfg.sdp_bytes);
  const waits = [];
  const clinGot = new Map(others.map((p) => [p.addr, { answer: null, cands: 0, done: null }]));
  let resolveClin;
  const clinDone = new Promise((r) => { resolveClin = r; });
  const checkClin = () => {
    for (const s of clinGot.values()) if (!s.answer || s.cands < ncand) return;
    resolveClin();
  };
  clin.on("answer", (d) => { const s = clinGot.get(d.from); if (s) { s.answer = true; checkClin(); } });
  clin.on("candidate", (d) => { const s = clinGot.get(d.from); if (s) { s.cands++; checkClin(); } });
  for (const p of others) {
    waits.push(new Promise((resolve) => {
      let cands = 0;
      p.on("offer", (d) => {
        p.send("answer", { to: d.from, sdp: fakeSdp("sendrecv", cfg.sdp_bytes) }, () => {});
        for (let i = 0; i < ncand; i++) p.send("candidate", { to: d.from, candidate: candidate(i) }, () => {});
      });
      p.on("candidate", () => { if (++cands >= ncand) resolve(); });
    }));
    clin.send("offer", { to: p.addr, sdp: offerSdp }, () => {});
    for (let i = 0; i < ncand; i++) clin.send("candidate", { to: p.addr, candidate: candidate(i) }, () => {});
  }
  waits.push(clinDone);
  await withTimeout(Promise.all(waits), 15000, "negotiation");
}

async function stormMode() {
  const names = Array.from({ length: cfg.rooms }, (_, i) => `s${i}`);
  const perRoom = [];
  const people = [];
  let failures = 0;
  const cpu0 = cpuNs(cfg.server_pid);
  const sw0 = waitMs(cfg.server_pid);
  const gw0 = waitMs(process.pid);
  const t0 = now();
  await pool(names, cfg.concurrency, async (name) => {
    const start = now();
    try {
      const room = await enterRoom(single(), name);
      people.push(...room);
      await negotiate(room);
      perRoom.push(now() - start);
    } catch (err) {
      failures++;
      if (failures <= 3) out({ event: "warning", message: String(err) });
    }
  });
  const wall = (now() - t0) / 1000;
  const cpu = cpuSeconds(cpu0, cpuNs(cfg.server_pid));
  const sw = waitMs(cfg.server_pid);
  const gw = waitMs(process.pid);
  for (const p of people) p.close();
  perRoom.sort((a, b) => a - b);
  const participants = perRoom.length * 3;
  return {
    rooms: cfg.rooms, participants, failures, seconds: wall,
    joins_per_s: participants / wall,
    p50_ms: percentile(perRoom, 0.5), p99_ms: percentile(perRoom, 0.99), max_ms: perRoom[perRoom.length - 1],
    server_cpu_s: cpu,
    server_wait_frac: sw0 === null || sw === null ? null : (sw - sw0) / (wall * 1000),
    generator_wait_frac: gw0 === null || gw === null ? null : (gw - gw0) / (wall * 1000),
  };
}

// ---- B3 hold -------------------------------------------------------------------------------
async function holdMode() {
  const lines = readline.createInterface({ input: process.stdin });
  const iter = lines[Symbol.asyncIterator]();
  const people = [];
  let made = 0;
  for (const level of cfg.levels) {
    const rooms = Math.ceil(level / 3) - made;
    const names = Array.from({ length: Math.max(0, rooms) }, (_, i) => `h${made + i}`);
    made += names.length;
    await pool(names, cfg.concurrency, async (name) => { people.push(...(await enterRoom(single(), name))); });
    out({ event: "level", participants: people.length });
    const cmd = await withTimeout(iter.next(), 60000, "go from the orchestrator");
    if (cmd.done || cmd.value.trim() !== "go") break;
  }
  for (const p of people) p.close();
  return { participants: people.length };
}

async function main() {
  const modes = { relay: relayMode, storm: stormMode, hold: holdMode };
  const timer = setTimeout(() => {
    out({ event: "error", message: `generator time limit ${cfg.time_limit_s}s` });
    process.exit(3);
  }, cfg.time_limit_s * 1000);
  try {
    const result = await modes[cfg.mode]();
    out({ event: "result", ...result });
    clearTimeout(timer);
    process.exit(0);
  } catch (err) {
    out({ event: "error", message: String(err && err.stack ? err.stack : err) });
    process.exit(2);
  }
}

main();
