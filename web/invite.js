// The partner's invitation page, opened from a link `/invite#<secret>`.
// The secret is taken out of the address bar before anything else happens and is kept only in
// this module's memory: it is never stored, logged, or put back into a URL.

let secret = takeSecret();

const el = (selector) => document.querySelector(selector);
const ui = {
  message: el("[data-message]"),
  detail: el("[data-detail]"),
  retryRow: el("[data-retry-row]"),
  retry: el("[data-retry]"),
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

const LINK_PROBLEMS = {
  E_INVITE_EXPIRED: [
    "This invitation link has expired.",
    "If you'd like to take part, the clinician can send you a new link. There's no hurry.",
  ],
  E_INVITE_EXHAUSTED: [
    "This invitation link has already been used.",
    "If you'd like another, the clinician can send you a new link.",
  ],
  E_INVITE_REVOKED: [
    "This invitation link has been withdrawn, so it no longer opens a session.",
    "If you have questions, the program's front desk can help.",
  ],
  E_INVITE_INVALID: [
    "This invitation link isn't working.",
    "It may have been copied only in part. You can ask the clinician for a new link.",
  ],
  E_RATE_LIMITED: [
    "There have been too many tries from this connection just now.",
    "Please wait a minute, then select Try again.",
  ],
  E_NETWORK: [
    "The program can't be reached just now.",
    "Please check your connection, then select Try again.",
  ],
  E_UNAVAILABLE: [
    "The program can't be reached just now.",
    "Please wait a moment, then select Try again.",
  ],
};

/** Problems that another try may fix: the page keeps the secret in memory for it. */
const TRANSIENT = new Set(["E_RATE_LIMITED", "E_UNAVAILABLE", "E_NETWORK", "E_INTERNAL"]);

start();

function takeSecret() {
  const fragment = location.hash.replace(/^#/, "");
  // Out of the address bar (and so out of history, bookmarks and screen shares) at once.
  if (location.hash || location.search) history.replaceState(null, "", location.pathname);
  try {
    return decodeURIComponent(fragment).trim();
  } catch {
    return fragment.trim();
  }
}

function start() {
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
    say(
      "This page needs the invitation link you were sent.",
      "Please open that link again, exactly as it came.",
    );
    showSupport(null);
    return;
  }
  load();
}

function reset() {
  preview = null;
  ui.info.hidden = true;
  ui.answer.hidden = true;
  ui.support.hidden = true;
  ui.name.value = "";
  setBusy(false);
  showAnswerError("");
}

// --- the invitation -----------------------------------------------------------------------

async function load() {
  ui.retryRow.hidden = true;
  say("Opening your invitation…");
  const result = await post("/api/invites/preview", { secret });
  if (!result.ok) {
    // A secret of the wrong shape is refused as a schema error: to the reader, a broken link.
    const code = result.error.code === "E_SCHEMA" ? "E_INVITE_INVALID" : result.error.code;
    const [message, detail] = LINK_PROBLEMS[code] ?? LINK_PROBLEMS.E_UNAVAILABLE;
    say(message, detail);
    ui.retryRow.hidden = !(TRANSIENT.has(code) || !(code in LINK_PROBLEMS));
    showSupport(null);
    return;
  }
  preview = result.data;
  if (preview.status !== "ok") {
    const [message, detail] = LINK_PROBLEMS[preview.status] ?? LINK_PROBLEMS.E_INVITE_INVALID;
    say(message, detail);
    showSupport(preview.support);
    return;
  }
  showInvitation(preview);
}

function showInvitation(p) {
  const info = p.couplesInfo ?? {};
  const client = p.clientName || "your partner";
  say("You've been invited to a couples session.",
    "Please take your time to read about it. Whatever you decide is fine.");
  ui.title.textContent = info.title || "About couples sessions";
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

  ui.shareLabel.textContent = `Let ${client} know my answer`;
  ui.shareHint.textContent = `If you leave this unticked, ${client} isn't told what you chose.`;
  ui.share.checked = false;
  ui.answer.hidden = false;
  showSupport(p.support);
}

function fromLine(clinicians, clientName) {
  if (!clinicians.length) return "";
  const names = clinicians.length === 1
    ? clinicians[0]
    : `${clinicians.slice(0, -1).join(", ")} and ${clinicians.at(-1)}`;
  const plural = clinicians.length === 1 ? "" : "s";
  if (!clientName) return `Sent by the clinician${plural}: ${names}.`;
  return `Sent by ${clientName}'s clinician${plural}, ${names}, with ${clientName}'s agreement.`;
}

function linkFacts(p) {
  const parts = [];
  if (p.trialsLeft > 0) {
    parts.push(p.trialsLeft === 1
      ? "This link opens one trial session."
      : `This link opens up to ${p.trialsLeft} trial sessions.`);
  }
  if (typeof p.expiresAt === "number") {
    parts.push(`It works until ${when(p.expiresAt)}.`);
  }
  return parts.join(" ");
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
  const body = { secret, decision, share: ui.share.checked };
  const name = ui.name.value.trim();
  if (decision === "consent") {
    body.documentVersion = preview.couplesInfo?.version;
    if (name) body.name = name.slice(0, 80);
  }
  const result = await post("/api/invites/respond", body);
  if (!result.ok) {
    setBusy(false);
    showAnswerError(result.error.message || "That didn't go through. Please try again.");
    button.focus();
    return;
  }
  if (decision === "consent") {
    say("Thank you. Opening the session…", "You'll see your camera first, then you can join.");
    location.assign(`/room#${encodeURIComponent(result.data.token)}`);
    return;
  }
  ui.answer.hidden = true;
  ui.info.hidden = true;
  const client = preview.clientName || "your partner";
  if (decision === "not-now") {
    say("Thank you for letting us know.",
      `Nothing more is needed from you. ${cap(client)}'s own program goes on the same.`);
  } else {
    say("Thank you for letting us know.",
      `You don't need to do anything else. ${cap(client)}'s own program goes on the same.`);
  }
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
      const response = await fetch("/api/support", { credentials: "omit" });
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
    return {
      ok: false,
      error: { code: "E_NETWORK", message: "We couldn't reach the program. Please check your connection and try again." },
    };
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
      message: typeof error.message === "string" ? error.message : "Something went wrong. Please try again.",
    },
  };
}

function say(message, detail = "") {
  ui.message.textContent = message;
  ui.detail.textContent = detail;
  ui.detail.hidden = !detail;
}

function when(seconds) {
  return new Date(seconds * 1000).toLocaleString([], {
    weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit",
  });
}

function cap(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
