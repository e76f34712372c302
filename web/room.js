// The session page: camera preview, Join, the clinician's lobby, and one video per peer.
// The access token arrives in the URL fragment (#<jwt>) and is taken out of the URL at once.
// It is kept in this tab's sessionStorage only so that a reload (the usual cure for a frozen
// video) does not lock the person out; nothing the server says about others is stored.

import { AlongsideRoom, routeFor } from "./sdk/alongside.js";
import { mountProgramPanel } from "./program.js";
import { mountMedia } from "./precall.js";
import { mountTools } from "./tools.js";
import { mountGroupControls } from "./group-controls.js";
import { mediaProblem, mountDevices, openDevices } from "./devices.js";
import { mountCallControls } from "./controls.js";
import { mountConsole } from "./console.js";
import { Announcer } from "./announce.js";
import { chooseLocale, errorText, has, locale, t, useLocale } from "./i18n.js";
import { confirmEndSession } from "./confirm.js";
import { mountGroup } from "./group.js";

const TOKEN_KEY = "alongside.token";
/** The main room's side in a snapshot (server/tools/api.py MAIN); side rooms have names. */
const MAIN = "";

/** A role in words ("Clinician"), or the role's code if the catalogue has no word for it. */
// The room's kind, from the snapshot (before it, the token's optional room_kind hint): in a
// group every member is "Group member", never "Client" (a partner who came by the other door
// is not anyone's client there, and the others need not know who is).
let roomKind = null;
const roleLabel = (role) => {
  const key = roomKind === "group" && role === "client" ? "room.role.member" : `room.role.${role}`;
  return has(key) ? t(key) : role ?? "";
};

/**
 * What to tell someone whose joining failed with `code`: this page's own words
 * (`room.problem.<CODE>`), else the generic ones for the code (`errors.<CODE>`), else the
 * server's message.
 */
const problemText = (code, message) =>
  has(`room.problem.${code}`) ? t(`room.problem.${code}`) : errorText(code, message || t("room.problem.unknown"));

/** Refusals that another try with the same link cannot fix. */
const FINAL = new Set([
  "E_ROOM_ENDED", "E_REMOVED", "E_TOKEN_MISSING", "E_TOKEN_INVALID", "E_TOKEN_EXPIRED",
  "E_FORBIDDEN_ROOM", "E_ROLE_NOT_IN_ROOM_KIND",
]);

const el = (selector) => document.querySelector(selector);
const ui = {
  who: el("[data-who]"),
  banner: el("[data-banner]"),
  message: el("[data-message]"),
  detail: el("[data-detail]"),
  tiles: el("[data-tiles]"),
  localVideo: el("video[data-local]"),
  localTile: el(".tile-local"),
  cameraNote: el("[data-camera-note]"),
  lobby: el("[data-lobby]"),
  lobbyEmpty: el("[data-lobby-empty]"),
  lobbyList: el("[data-lobby-list]"),
  host: el("[data-host-controls]"),
  lockState: el("[data-lock-state]"),
  lock: el("[data-lock]"),
  end: el("[data-end]"),
  join: el("[data-join]"),
  leave: el("[data-leave]"),
};

/** "ready" | "joining" | "waiting" | "in" | "left" | "over" */
let phase = "ready";
/** Set when the clinician moves this person back to the waiting room, for gentler wording. */
let sentBack = false;
/** @type {MediaStream | null} */
let camera = null;
/** @type {import("./sdk/alongside.js").Snapshot | null} */
let snapshot = null;
/** @type {Map<string, {figure: HTMLElement, video: HTMLVideoElement, label: HTMLElement, note: HTMLElement, actions: HTMLElement, sound: HTMLButtonElement}>} */
const tiles = new Map();
/** @type {Map<string, HTMLLIElement>} */
const lobbyItems = new Map();

// `?relay` sends media through the TURN server only (support and tests); it carries no secret.
const relayOnly = new URLSearchParams(location.search).has("relay");
const token = takeToken();
const claims = token ? readClaims(token) : null;
roomKind = typeof claims?.room_kind === "string" ? claims.room_kind : null;
try {
  // The token's `locale` claim only picks a language; the server checks the token itself.
  await useLocale(chooseLocale(typeof claims?.locale === "string" ? claims.locale : undefined));
} catch {
  // The catalogue did not load: each message shows as its key, and the page still works.
}
/** The running time-out's view for this person (plugins/timeout), to word the heading truly. */
let timeoutView = null;
const announcer = new Announcer({ region: el("[data-announce]"), lobby: ui.lobby });
const room = token
  ? new AlongsideRoom({
      token,
      origin: location.origin,
      iceTransportPolicy: relayOnly ? "relay" : undefined,
      // Behind a load balancer, keeps this room's people on one replica (docs/deploy.md).
      route: typeof claims?.room === "string" ? routeFor(claims.room) : undefined,
    })
  : null;

// A group's agreement, tile grid and "Admit all" (group.js).
const group = room && mountGroup({ room, token, tell: (message, detail, canJoin) => {
  phase = "ready"; say(message, detail); showJoin(canJoin);
} });
start();

function start() {
  if (!room) {
    say(t("room.problem.E_TOKEN_MISSING"));
    return;
  }
  showWho(claims?.name, claims?.role);
  say(t(claims?.role === "clinician" ? "room.ready.clinician" : "room.ready.other"));
  ui.join.disabled = false;
  ui.join.addEventListener("click", onJoin);
  ui.leave.addEventListener("click", onLeave);
  ui.lock.addEventListener("click", () => act(ui.lock, () => room.lock(!snapshot?.locked)));
  // Ending cannot be undone: ask first (confirm.js); Cancel or Escape leaves the room open.
  ui.end.addEventListener("click", async () => {
    if (await confirmEndSession(room)) await act(ui.end, () => room.end());
  });
  listen(room);
  const media = mountMedia({ room, camera: () => camera });
  // The device check (devices.js) and the person's own Mute / Camera controls (controls.js).
  const devices = mountDevices({ room, camera: () => camera, retry: startCamera });
  mountCallControls({ room, camera: () => camera, monitor: media?.monitor, devices });
  startCamera();
}

// --- token ------------------------------------------------------------------------------

function takeToken() {
  const fragment = location.hash.replace(/^#/, "");
  if (!fragment) return remembered() ?? "";
  // The query (`?lang`, `?relay`) carries no secret and stays for a reload.
  history.replaceState(null, "", location.pathname + location.search);
  let token = fragment.startsWith("token=") ? fragment.slice("token=".length) : fragment;
  try {
    token = decodeURIComponent(token);
  } catch {
    // keep it as it came
  }
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // storage may be off; a reload then needs the link again
  }
  return token;
}

function remembered() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function forgetToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // nothing stored
  }
}

/** Reads the JWT's claims to greet the person before joining; the server does the checking. */
function readClaims(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

// --- camera -----------------------------------------------------------------------------

async function startCamera() {
  if (!navigator.mediaDevices?.getUserMedia) {
    cameraNote(t("room.camera.unsupported"));
    return;
  }
  try {
    const stream = await openDevices();
    if (phase === "over" || phase === "left") {
      for (const track of stream.getTracks()) track.stop();
      return;
    }
    camera = stream;
    ui.localVideo.srcObject = stream;
    ui.localTile.hidden = false;
    ui.cameraNote.hidden = true;
    room.setLocalStream(stream);
  } catch (err) {
    cameraNote(mediaProblem(err));
  }
}

/** Turns the camera and microphone off: nobody should wonder whether they are still on. */
function stopCamera() {
  room?.setLocalStream(null);
  for (const track of camera?.getTracks() ?? []) track.stop();
  camera = null;
  ui.localVideo.srcObject = null;
  ui.localTile.hidden = true;
}

function cameraNote(text) {
  ui.cameraNote.textContent = text;
  ui.cameraNote.hidden = false;
}

// --- actions ----------------------------------------------------------------------------

async function onJoin() {
  phase = "joining";
  ui.join.disabled = true;
  say(t("room.connecting"));
  if (!camera && ui.cameraNote.hidden) startCamera();
  try {
    await room.connect();
  } catch (err) {
    problem(err.code, err.message);
    return;
  }
  const answer = await room.join();
  if (!answer.ok) {
    const next = await group.onRefused(answer.error.code);  // a group's agreement first
    if (next === "retry") return onJoin();
    if (next !== "handled") problem(answer.error.code, answer.error.message);
    return;
  }
  // In-session tools (tools.js) follow the room from here on, through the SDK's events.
  mountTools({ room, you: answer.you, snapshot: answer.room });
  mountGroupControls({ room, you: answer.you, snapshot: answer.room }); // groups only
  // The SDK emits `room` with the snapshot; render() takes it from there.
}

async function onLeave() {
  ui.leave.disabled = true;
  await room.leave();
  ui.leave.disabled = false;
  phase = "left";
  clearRoom();
  stopCamera();
  say(t("room.left"), t("room.left.detail"));
  showJoin(true);
}

/**
 * Runs a clinician action with its button disabled; says so plainly if it was refused.
 *
 * @param {HTMLButtonElement} button
 * @param {() => Promise<{ok: boolean, error?: {code: string, message: string}}>} action
 */
async function act(button, action) {
  button.disabled = true;
  const answer = await action();
  if (button.isConnected) button.disabled = false;
  if (!answer.ok && phase !== "over") {
    say(snapshotMessage(), errorText(answer.error.code, answer.error.message));
  }
}

// --- SDK events -------------------------------------------------------------------------

/** @param {AlongsideRoom} r */
function listen(r) {
  r.addEventListener("room", (e) => render(e.detail));
  r.addEventListener("track", (e) => attach(e.detail.peerId, e.detail.stream));
  r.addEventListener("peerleft", (e) => removeTile(e.detail.peerId));
  r.addEventListener("presence", (e) => {
    const { participant, status } = e.detail;
    const tile = tiles.get(participant);
    if (tile && status === "reconnecting") setNote(tile, t("room.reconnecting"));
    if (tile && status === "joined") setNote(tile, "");
    if (phase === "in") announcer.presence(e.detail);
  });
  r.addEventListener("tool", (e) => {
    const running = (e.detail.tools ?? []).find((item) => item.name === "timeout" && item.status === "running");
    timeoutView = running?.view ?? null;
    if (phase === "in" && snapshot) say(snapshotMessage(), snapshotDetail());
  });
  r.addEventListener("admitted", () => banner(""));
  r.addEventListener("denied", (e) => {
    phase = "ready";
    clearRoom();
    say(e.detail.reason || t("room.denied"), t("room.denied.detail"));  // a typed reason as typed
    showJoin(true);
  });
  r.addEventListener("sentback", () => {
    sentBack = true;
    for (const id of [...tiles.keys()]) removeTile(id);
    announcer.reset();
    say(t("room.sentBack"), t("room.sentBack.detail"));
  });
  r.addEventListener("removed", (e) => {
    // An access change that was the person's own choice (or their partner's pause)
    // is worded as such, not as something that went wrong.
    const gentle = ["E_CONSENT_WITHDRAWN", "E_PARTNER_PAUSED", "E_INVITE_REVOKED"].includes(e.detail.code);
    if (gentle) return over(t(`room.removed.${e.detail.code}`), t(`room.removed.${e.detail.code}.detail`));
    // The server sends a code, worded here in the page's language; a reason only when the
    // clinician typed one, shown as typed.
    const code = e.detail.code || "E_REMOVED";
    const said = code === "E_REMOVED" ? t("room.removed") : errorText(code, t("room.removed"));
    over(e.detail.reason || said, t("room.removed.detail"));
  });
  r.addEventListener("ended", () => {
    over(t("room.ended"), t(snapshot?.you?.role === "clinician" ? "room.closePage" : "room.ended.thanks"));
  });
  r.addEventListener("superseded", () => {
    over(t("room.superseded"), t("room.superseded.detail"));
  });
  r.addEventListener("reconnecting", () => banner(t("room.reconnecting")));
  r.addEventListener("reconnected", () => banner(""));
  // A group's media server is down: say so (black tiles alone say nothing); the SDK asks again
  // every few seconds and the note goes when the video goes through.
  r.addEventListener("media", (e) => {
    banner(e.detail.status === "unavailable" ? t("room.media.unavailable") : "");
  });
  r.addEventListener("error", (e) => {
    banner("");
    if (phase === "over") return;
    problem(e.detail.code, e.detail.message);
  });
}

// --- rendering --------------------------------------------------------------------------

/** @param {import("./sdk/alongside.js").Snapshot} snap */
function render(snap) {
  // Only while joining or joined: a late snapshot must not undo "denied" or "left".
  if (!["joining", "waiting", "in"].includes(phase) || !snap.you) return;
  snapshot = snap;
  if (snap.status === "ended") {
    over(t("room.ended"), t("room.closePage"));
    return;
  }
  phase = snap.you?.state === "admitted" ? "in" : "waiting";
  if (phase === "in") sentBack = false;
  if (phase !== "in") timeoutView = null;
  if (typeof snap.kind === "string") roomKind = snap.kind;
  showWho(snap.you?.name, snap.you?.role);
  say(snapshotMessage(), snapshotDetail());
  showJoin(false);
  // The partner's lifecycle panel (REST): mounted on the first snapshot of a join, then refreshed.
  if (!group.render(snap)) mountProgramPanel({ token, you: snap.you, room: snap, leave: () => room.leave(), live: room });
  // The clinician's console (console.js): today's sessions, attendance, check-in trends.
  mountConsole({ token, you: snap.you, room: snap });

  const isClinician = snap.you?.role === "clinician";
  const others = phase === "in" ? snap.participants ?? [] : [];
  const seen = new Set();
  for (const person of others) {
    seen.add(person.id);
    updateTile(person, isClinician);
  }
  for (const id of [...tiles.keys()]) if (!seen.has(id)) removeTile(id);

  ui.lobby.hidden = !(isClinician && phase === "in");
  ui.host.hidden = ui.lobby.hidden;
  if (isClinician) renderLobby(snap.lobby ?? []);
  ui.lock.textContent = t(snap.locked ? "room.unlock" : "room.lock");
  ui.lockState.textContent = t(snap.locked ? "room.locked" : "room.unlocked");
  // Knocks, admissions, drops and returns, to the live region (announce.js).
  if (phase === "in") announcer.follow(snap);
  else announcer.reset();
}

function snapshotMessage() {
  if (!snapshot) return ui.message.textContent;
  if (phase === "waiting") return t(sentBack ? "room.sentBack" : "room.waiting");
  const here = snapshot.participants ?? [];
  const away = snapshot.away ?? [];
  const clinician = snapshot.you?.role === "clinician";
  const timeOut = timeoutView?.phase === "timeout";
  if ((snapshot.side ?? MAIN) !== MAIN) {
    // In a side room (a time-out room, a private check-in): say with whom, not "the session".
    if (here.length === 0) return t(timeOut ? "room.side.aloneTimeout" : "room.side.alone");
    return t(timeOut ? "room.side.withTimeout" : "room.side.with", { names: names(here) });
  }
  if (away.length > 0) return t(timeOut ? "room.timeout.on" : "room.main");
  if (clinician && here.length === 0) return t("room.open");
  return t("room.in");
}

function snapshotDetail() {
  if (phase === "waiting") {
    return t(snapshot.clinicianPresent ? "room.waiting.detail" : "room.waiting.noClinician");
  }
  const clinician = snapshot.you?.role === "clinician";
  const here = snapshot.participants ?? [];
  const away = snapshot.away ?? [];
  const parts = [];
  // Who is elsewhere: the clinician is told about everyone; others only see what their own
  // snapshot says (`away`: names and who they are with, never what happens there).
  if (away.length > 0 && (clinician || (snapshot.side ?? MAIN) === MAIN)) parts.push(whereOthersAre(away));
  const ends = timeoutView && ["timeout", "pause"].includes(timeoutView.phase) ? timeoutView.deadline : null;
  if (typeof ends === "number") {
    parts.push(t(timeoutView.phase === "pause" ? "room.pause.until" : "room.timeout.until", { time: clock(ends) }));
  }
  if (clinician && here.length === 0 && away.length === 0) parts.push(t("room.open.detail"));
  return parts.join(" ");
}

/**
 * One sentence per group of people in other rooms: "Alex and Sam are each in a time-out room
 * of their own." / "Sam is in the main room." / "Alex and Sam are together in a side room."
 * @param {{id: string, name: string, with?: string[]}[]} away
 */
function whereOthersAre(away) {
  const mine = snapshot.side ?? MAIN;
  const sides = timeoutView?.sides ?? {}; // the clinician's time-out view says who is where
  const timeOut = timeoutView?.phase === "timeout";
  /** @type {Map<string, string[][]>} */
  const groups = new Map();
  const placed = new Set();
  for (const person of away) {
    if (placed.has(person.name)) continue;
    const group = [person.name, ...(person.with ?? [])];
    for (const name of group) placed.add(name);
    const side = sides[person.id];
    const kind = mine !== MAIN && side === MAIN ? "main"
      : mine !== MAIN && side === undefined ? "other"
        : timeOut && group.length === 1 ? "timeout"
          : group.length === 1 ? "alone" : "together";
    groups.set(kind, [...(groups.get(kind) ?? []), group]);
  }
  const sentences = [];
  for (const [kind, list] of groups) {
    if (kind === "together") {
      for (const group of list) sentences.push(t("room.away.together", { names: names(group) }));
    } else {
      const everyone = list.flat();
      sentences.push(t(`room.away.${kind}`, { names: names(everyone), count: everyone.length }));
    }
  }
  return sentences.join(" ");
}

/** "Alex", "Alex and Sam", "Alex, Sam and Jo" in the page's language. */
function names(people) {
  const list = people.map((p) => (typeof p === "string" ? p : p.name));
  try {
    return new Intl.ListFormat(locale(), { style: "long", type: "conjunction" }).format(list);
  } catch {
    return list.join(", ");
  }
}

/**
 * @param {import("./sdk/alongside.js").Participant} person
 * @param {boolean} isClinician
 */
function updateTile(person, isClinician) {
  let tile = tiles.get(person.id);
  if (!tile) tile = makeTile(person.id);
  const role = roleLabel(person.role);
  tile.label.textContent = "";
  tile.label.append(person.name, " ");
  const roleSpan = document.createElement("span");
  roleSpan.className = "role";
  roleSpan.textContent = role;
  tile.label.append(roleSpan);
  tile.video.setAttribute("aria-label", `${person.name}, ${role}`);
  setNote(tile, person.presence === "reconnecting" ? t("room.reconnecting") : "");
  tile.actions.hidden = !isClinician;
  if (isClinician && tile.actions.childElementCount === 0) {
    tile.actions.append(
      personButton(t("room.sendBack"), person, () => room.sendBack(person.id)),
      personButton(t("room.remove"), person, () => room.remove(person.id), "danger"),
    );
  } else if (isClinician) {
    for (const button of tile.actions.querySelectorAll("button")) renameButton(button, person.name);
  }
}

function makeTile(peerId) {
  const figure = document.createElement("figure");
  figure.className = "tile";
  figure.dataset.peer = peerId;
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  const label = document.createElement("figcaption");
  const note = document.createElement("p");
  note.className = "tile-note";
  note.hidden = true;
  const sound = document.createElement("button");
  sound.type = "button";
  sound.className = "sound";
  sound.textContent = t("room.turnOnSound");
  sound.hidden = true;
  sound.addEventListener("click", () => {
    video.muted = false;
    sound.hidden = true;
    video.play().catch(() => {});
  });
  const actions = document.createElement("div");
  actions.className = "actions";
  actions.hidden = true;
  figure.append(video, label, note, sound, actions);
  ui.tiles.append(figure);
  const tile = { figure, video, label, note, actions, sound };
  tiles.set(peerId, tile);
  return tile;
}

function setNote(tile, text) {
  tile.note.textContent = text;
  tile.note.hidden = !text;
}

/** @param {string} peerId @param {MediaStream} stream */
function attach(peerId, stream) {
  const tile = tiles.get(peerId) ?? makeTile(peerId);
  if (tile.video.srcObject !== stream) tile.video.srcObject = stream;
  tile.video.play().catch((err) => {
    if (err?.name !== "NotAllowedError") return;
    // The browser will not play sound before the person interacts; play muted and offer sound.
    tile.video.muted = true;
    tile.sound.hidden = false;
    tile.video.play().catch(() => {});
  });
}

function removeTile(peerId) {
  const tile = tiles.get(peerId);
  if (!tile) return;
  keepFocusNear(tile.figure, ui.tiles);
  tile.video.srcObject = null;
  tile.figure.remove();
  tiles.delete(peerId);
}

function renderLobby(waiting) {
  const seen = new Set();
  for (const person of waiting) {
    seen.add(person.id);
    let item = lobbyItems.get(person.id);
    if (!item) {
      item = document.createElement("li");
      item.className = "person";
      const text = document.createElement("p");
      text.className = "person-text";
      const actions = document.createElement("div");
      actions.className = "actions";
      actions.append(
        personButton(t("room.admit"), person, () => room.admit(person.id), "primary"),
        personButton(t("room.deny"), person, () => room.deny(person.id)),
      );
      item.append(text, actions);
      ui.lobbyList.append(item);
      lobbyItems.set(person.id, item);
    }
    const text = item.querySelector(".person-text");
    text.textContent = "";
    const name = document.createElement("strong");
    name.textContent = person.name;
    const role = document.createElement("span");
    role.className = "role";
    role.textContent = roleLabel(person.role);
    const since = document.createElement("span");
    since.className = "since";
    since.textContent = t(person.presence === "reconnecting" ? "room.lobby.sinceReconnecting" : "room.lobby.since",
      { time: clock(person.since) });
    text.append(name, " ", role, " ", since);
    for (const button of item.querySelectorAll("button")) renameButton(button, person.name);
  }
  for (const [id, item] of lobbyItems) {
    if (seen.has(id)) continue;
    keepFocusNear(item, ui.lobby);
    item.remove();
    lobbyItems.delete(id);
  }
  ui.lobbyEmpty.hidden = waiting.length > 0;
}

/**
 * A button that reads "Admit" but is named "Admit Alex" for screen readers and tests.
 *
 * @param {string} verb
 * @param {{id: string, name: string}} person
 * @param {() => Promise<any>} action
 * @param {string} [className]
 */
function personButton(verb, person, action, className) {
  const button = document.createElement("button");
  button.type = "button";
  if (className) button.className = className;
  button.dataset.verb = verb;
  renameButton(button, person.name);
  button.addEventListener("click", () => act(button, action));
  return button;
}

function renameButton(button, name) {
  const hidden = document.createElement("span");
  hidden.className = "visually-hidden";
  hidden.textContent = ` ${name}`;
  button.replaceChildren(button.dataset.verb, hidden);
}

/** If focus is inside `leaving`, move it to `fallback` so keyboard users aren't dropped. */
function keepFocusNear(leaving, fallback) {
  if (!leaving.contains(document.activeElement)) return;
  const target = fallback.querySelector("h2") ?? fallback;
  target.setAttribute("tabindex", "-1");
  target.focus();
}

function clearRoom() {
  snapshot = null;
  timeoutView = null;
  announcer.reset();
  for (const id of [...tiles.keys()]) removeTile(id);
  for (const item of lobbyItems.values()) item.remove();
  lobbyItems.clear();
  ui.lobby.hidden = true;
  ui.host.hidden = true;
  banner("");
}

function over(message, detail) {
  phase = "over";
  forgetToken();
  clearRoom();
  stopCamera();
  say(message, detail);
  showJoin(false);
  ui.leave.hidden = true;
}

function problem(code, message) {
  banner("");
  const text = problemText(code, message);
  if (FINAL.has(code)) {
    over(text, t("room.closePage"));
    return;
  }
  phase = "ready";
  say(text);
  showJoin(true);
}

// --- small helpers ----------------------------------------------------------------------

function showJoin(canJoin) {
  ui.join.hidden = !canJoin;
  ui.join.disabled = !canJoin;
  ui.leave.hidden = canJoin || phase === "over";
}

function showWho(name, role) {
  if (!name && !role) return;
  const label = roleLabel(role);
  ui.who.textContent = name && label ? `${name} · ${label}` : name || label;
}

function say(message, detail = "") {
  document.body.dataset.phase = phase;
  if (ui.message.textContent !== message) ui.message.textContent = message;
  if (ui.detail.textContent !== detail) ui.detail.textContent = detail;
  ui.detail.hidden = !detail;
}

function banner(text) {
  ui.banner.textContent = text;
  ui.banner.hidden = !text;
}

function clock(seconds) {
  if (typeof seconds !== "number") return t("room.justNow");
  return new Date(seconds * 1000).toLocaleTimeString(locale(), { hour: "numeric", minute: "2-digit" });
}
