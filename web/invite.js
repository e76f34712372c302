// The partner's invitation page, opened from a link `/invite#<secret>`.
// The secret is taken out of the address bar before anything else happens and is kept only in
// this module's memory: it is never stored, logged, or put back into a URL.
//
// Every word comes from the catalogue (`invite.*`, web/locales/<locale>/invite.json). The
// language is `?lang=` if given, else the one the invitation was made in, else the browser's;
// the description and its version come from the server in that language, and a consent sends
// back the version read (which names the language).

import { chooseLocale, locale as currentLocale, errorText, t, useLocale } from "./i18n.js";

// `?lang=` survives the secret's removal: it carries nothing private, and chooseLocale reads it.
let secret = takeSecret();

const el = (selector) => document.querySelector(selector);
const ui = {
  message: el("[data-message]"),
  detail: el("[data-detail]"),
  retryRow: el("[data-retry-row]"),
  retry: el("[data-retry]"),
  earlier: el("[data-earlier]"),
  earlierAnswer: el("[data-earlier-answer]"),
  earlierTold: el("[data-earlier-told]"),
  earlierNext: el("[data-earlier-next]"),
  earlierActions: el("[data-earlier-actions]"),
  earlierMessage: el("[data-earlier-message]"),
  info: el("[data-info]"),
  title: el("[data-title]"),
  from: el("[data-from]"),
  paragraphs: el("[data-paragraphs]"),
  linkFacts: el("[data-link-facts]"),
  answer: el("[data-answer]"),
  name: el("[data-name]"),
  share: el("[data-share]"),
  shareLabel: el("[data-share-label]"),
  shareHint: el("[data-share-hint]"),
  decisions: [...document.querySelectorAll("[data-decision]")],
  answerError: el("[data-answer-error]"),
  support: el("[data-support]"),
  supportIntro: el("[data-support-intro]"),
  supportList: el("[data-support-list]"),
};

/** What the server said about this invitation: the text read, its version, who sent it. */
let preview = null;

/** Link problems: the catalogue keys of their two lines. */
const LINK_PROBLEMS = new Set([
  "E_INVITE_EXPIRED", "E_INVITE_EXHAUSTED", "E_INVITE_REVOKED", "E_INVITE_INVALID",
  "E_RATE_LIMITED", "E_NETWORK", "E_UNAVAILABLE",
]);

/** Problems that another try may fix: the page keeps the secret in memory for it. */
const TRANSIENT = new Set(["E_RATE_LIMITED", "E_UNAVAILABLE", "E_NETWORK", "E_INTERNAL"]);

start();

function takeSecret() {
  const fragment = location.hash.replace(/^#/, "");
  // Out of the address bar (and so out of history, bookmarks and screen shares) at once.
  if (location.hash || location.search) {
    const lang = new URLSearchParams(location.search).get("lang");
    const keep = lang && /^[a-zA-Z-]{2,16}$/.test(lang) ? `?lang=${lang}` : "";
    history.replaceState(null, "", location.pathname + keep);
  }
  try {
    return decodeURIComponent(fragment).trim();
  } catch {
    return fragment.trim();
  }
}

async function start() {
  try {
    await useLocale(chooseLocale(null));
  } catch {
    // The catalogue could not load: t() shows keys; the retry below loads it again.
  }
  say(t("invite.opening"));
  for (const button of ui.decisions) {
    button.addEventListener("click", () => answer(button.dataset.decision, button));
  }
  ui.retry.addEventListener("click", load);
  // A link opened again in this same tab only changes the fragment: read the new one.
  addEventListener("hashchange", () => {
    if (!location.hash) return;
    secret = takeSecret();
    reset();
    begin();
  });
  begin();
}

function begin() {
  if (!secret) {
    say(t("invite.noLink"), t("invite.noLinkDetail"));
    showSupport(null);
    return;
  }
  load();
}

function reset() {
  preview = null;
  ui.info.hidden = true;
  ui.answer.hidden = true;
  ui.earlier.hidden = true;
  ui.support.hidden = true;
  ui.name.value = "";
  setBusy(false);
  showAnswerError("");
}

// --- the invitation -----------------------------------------------------------------------

async function look(locale) {
  const query = locale ? `?locale=${encodeURIComponent(locale)}` : "";
  return post(`/api/invites/preview${query}`, { secret });
}

async function load() {
  ui.retryRow.hidden = true;
  say(t("invite.opening"));
  const asked = new URLSearchParams(location.search).get("lang");
  let result = await look(asked ? chooseLocale(null) : null);
  if (result.ok) {
    // The invitation's language, unless the address asks for another; the text follows it.
    const wanted = chooseLocale(result.data.invitationLocale);
    if (wanted !== currentLocale()) {
      try {
        await useLocale(wanted);
      } catch {
        // keep the words already loaded
      }
    }
    if (result.data.locale !== currentLocale()) result = await look(currentLocale());
  }
  if (!result.ok) {
    // A secret of the wrong shape is refused as a schema error: to the reader, a broken link.
    const code = result.error.code === "E_SCHEMA" ? "E_INVITE_INVALID" : result.error.code;
    const known = LINK_PROBLEMS.has(code) ? code : "E_UNAVAILABLE";
    say(t(`invite.problem.${known}`), t(`invite.problem.${known}.detail`));
    ui.retryRow.hidden = !(TRANSIENT.has(code) || !LINK_PROBLEMS.has(code));
    showSupport(null);
    return;
  }
  preview = result.data;
  if (preview.status !== "ok") {
    const known = LINK_PROBLEMS.has(preview.status) ? preview.status : "E_INVITE_INVALID";
    say(t(`invite.problem.${known}`), t(`invite.problem.${known}.detail`));
    showEarlier(preview, false);
    showSupport(preview.support);
    return;
  }
  if (preview.answer) {
    say(t("invite.again"), "");
    showEarlier(preview, true);
    // After "not now" or a decline the invitation still stands: it is shown again below,
    // so the partner can still answer differently.
    if (preview.answer.decision !== "consent") showInvitation(preview, false);
    showSupport(preview.support);
    return;
  }
  showInvitation(preview, true);
}

function clientOf(p) {
  return p?.clientName || t("invite.yourPartner");
}

function showInvitation(p, greet) {
  const info = p.couplesInfo ?? {};
  const client = clientOf(p);
  if (greet) say(t("invite.invited"), t("invite.invitedDetail"));
  ui.title.textContent = info.title || t("invite.info.title");
  ui.from.textContent = fromLine(p.clinicians ?? [], p.clientName);
  ui.from.hidden = !ui.from.textContent;
  ui.paragraphs.replaceChildren(
    ...(info.paragraphs ?? []).map((text) => {
      const para = document.createElement("p");
      para.textContent = text;
      return para;
    }),
  );
  const facts = linkFacts(p);
  ui.linkFacts.textContent = facts;
  ui.linkFacts.hidden = !facts;
  ui.info.hidden = false;

  ui.shareLabel.textContent = t("invite.share", { client });
  ui.shareHint.textContent = t("invite.shareHint", { client });
  ui.share.checked = false;
  ui.answer.hidden = false;
  showSupport(p.support);
}

function fromLine(clinicians, clientName) {
  if (!clinicians.length) return "";
  const names = new Intl.ListFormat(currentLocale(), { type: "conjunction" }).format(clinicians);
  const count = clinicians.length;
  if (!clientName) return t("invite.from", { names, count });
  return t("invite.fromWithClient", { names, client: clientName, count });
}

function linkFacts(p) {
  const parts = [];
  if (p.trialsLeft > 0) parts.push(t("invite.facts.trials", { count: p.trialsLeft }));
  if (typeof p.expiresAt === "number") parts.push(t("invite.facts.until", { when: when(p.expiresAt) }));
  return parts.join(" ");
}

// --- an earlier answer --------------------------------------------------------------------

/**
 * Says what was answered through this link and what the partner can still do.
 * @param {any} p The preview.
 * @param {boolean} live Whether the link can still be used.
 * @param {{decision: string, at: number, shared?: boolean} | null} [fresh] An answer just given.
 */
function showEarlier(p, live, fresh = null) {
  const given = fresh ?? p.answer;
  const client = clientOf(p);
  ui.earlierActions.replaceChildren();
  ui.earlierMessage.hidden = true;
  if (!given) {
    ui.earlier.hidden = !p.canAsk;
    if (p.canAsk) {
      ui.earlierAnswer.textContent = "";
      ui.earlierTold.textContent = "";
      ui.earlierNext.textContent = t("invite.next.askOnly");
      addAsk(p);
    }
    return;
  }
  const date = when(given.at);
  ui.earlierAnswer.textContent = t(`invite.earlier.${given.decision}`, { when: date });
  ui.earlierTold.textContent = given.decision === "consent" ? "" :
    given.shared ? t("invite.told.shared", { client }) : t("invite.told.notShared", { client });
  ui.earlierTold.hidden = !ui.earlierTold.textContent;
  let next = "";
  if (given.decision === "consent") {
    next = live && p.trialsLeft > 0
      ? t("invite.next.consentLive", { count: p.trialsLeft })
      : t("invite.next.consentDone");
    if (live && p.trialsLeft > 0) {
      const open = document.createElement("button");
      open.type = "button";
      open.textContent = t("invite.openSession");
      open.addEventListener("click", () => answer("consent", open));
      ui.earlierActions.append(open);
    }
  } else if (given.decision === "not-now") {
    next = live ? t("invite.next.notNowLive") : t("invite.next.notNowDone");
  } else {
    next = live ? t("invite.next.declineLive") : t("invite.next.declineDone");
  }
  ui.earlierNext.textContent = next;
  if (given.decision !== "consent") addAsk(p);
  ui.earlier.hidden = false;
}

/** The partner's own way to be invited again: it tells the clinician, never the client. */
function addAsk(p) {
  if (p.asked) {
    note(ui.earlierMessage, t("invite.ask.already"));
    return;
  }
  if (!p.canAsk) return;
  const ask = document.createElement("button");
  ask.type = "button";
  ask.textContent = t("invite.ask.button");
  ask.addEventListener("click", async () => {
    ask.disabled = true;
    const result = await post("/api/invites/ask", { secret });
    if (!result.ok) {
      ask.disabled = false;
      note(ui.earlierMessage, t("invite.ask.failed"));
      return;
    }
    p.asked = true;
    ask.remove();
    note(ui.earlierMessage, t("invite.ask.done", { client: clientOf(p) }));
  });
  ui.earlierActions.append(ask);
}

// --- the answer ---------------------------------------------------------------------------

/**
 * @param {string} decision "consent" | "not-now" | "decline"
 * @param {HTMLButtonElement} button
 */
async function answer(decision, button) {
  if (!preview) return;
  setBusy(true);
  showAnswerError("");
  const shared = ui.share.checked;
  const body = { secret, decision, share: shared, locale: preview.locale ?? currentLocale() };
  const name = ui.name.value.trim();
  if (decision === "consent") {
    body.documentVersion = preview.couplesInfo?.version;
    if (name) body.name = name.slice(0, 80);
  }
  const result = await post(`/api/invites/respond`, body);
  if (!result.ok) {
    setBusy(false);
    showAnswerError(errorText(result.error.code, t("invite.answerFailed")));
    button.focus();
    return;
  }
  if (decision === "consent") {
    say(t("invite.consented"), t("invite.consentedDetail"));
    location.assign(`/room#${encodeURIComponent(result.data.token)}`);
    return;
  }
  setBusy(false);
  ui.answer.hidden = true;
  ui.info.hidden = true;
  const client = cap(clientOf(preview));
  say(t("invite.thanks"), decision === "not-now"
    ? t("invite.thanksNotNow", { client })
    : t("invite.thanksDecline", { client }));
  preview.canAsk = true;
  showEarlier(preview, true, { decision, at: Date.now() / 1000, shared });
  showSupport(result.data.support ?? preview.support);
  ui.message.setAttribute("tabindex", "-1");
  ui.message.focus();
}

function setBusy(busy) {
  for (const button of ui.decisions) button.disabled = busy;
  ui.name.disabled = busy;
  ui.share.disabled = busy;
}

function showAnswerError(text) {
  ui.answerError.textContent = text;
  ui.answerError.hidden = !text;
}

// --- support ------------------------------------------------------------------------------

/** Shows the other kinds of support; without a list from the server, the deployment's file. */
async function showSupport(list) {
  let items = Array.isArray(list) ? list : null;
  if (!items) {
    try {
      const response = await fetch(`/api/support?locale=${encodeURIComponent(currentLocale())}`,
        { credentials: "omit" });
      items = response.ok ? await response.json() : [];
    } catch {
      items = [];
    }
  }
  ui.supportList.replaceChildren(
    ...items.filter((s) => s && s.title).map((s) => {
      const li = document.createElement("li");
      const title = document.createElement("strong");
      title.textContent = s.title;
      li.append(title);
      for (const [text, cls] of [[s.description, "support-description"], [s.contact, "support-contact"]]) {
        if (!text) continue;
        const p = document.createElement("p");
        p.className = cls;
        p.textContent = text;
        li.append(p);
      }
      return li;
    }),
  );
  ui.support.hidden = ui.supportList.childElementCount === 0;
}

// --- helpers ------------------------------------------------------------------------------

/**
 * POSTs JSON; answers `{ok: true, data}` or `{ok: false, error: {code, message}}`, never throws.
 */
async function post(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    return { ok: false, error: { code: "E_NETWORK", message: "" } };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    // not JSON
  }
  if (response.ok && data && data.ok !== false) return { ok: true, data };
  const error = data?.error && typeof data.error === "object" ? data.error : {};
  return {
    ok: false,
    error: {
      code: typeof error.code === "string" ? error.code : "E_UNAVAILABLE",
      message: typeof error.message === "string" ? error.message : "",
    },
  };
}

function say(message, detail = "") {
  ui.message.textContent = message;
  ui.detail.textContent = detail;
  ui.detail.hidden = !detail;
}

function note(where, text) {
  where.textContent = text;
  where.hidden = !text;
}

function when(seconds) {
  return new Date(seconds * 1000).toLocaleString(currentLocale(), {
    weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit",
  });
}

function cap(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
