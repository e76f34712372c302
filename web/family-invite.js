// A family member's invitation (docs/groups.md "Family sessions"): the page a family link
// opens. It takes the secret out of the address bar first, says what a family session is
// and that taking part is a choice, and only on "Continue" trades the secret for a
// `role: family` token (POST /api/family-invite/open) and goes on to the session page, where
// the person checks their devices and knocks.
//
// Caveat: the link opens once, so nothing is sent to the server before the person chooses to
// continue ("Not today" spends nothing). The token travels to the session page in the
// fragment, as every session link does; it is never sent to a server in a URL.

import { chooseLocale, errorText, t, translate, useLocale } from "./i18n.js";

const secret = location.hash.replace(/^#/, "");
const query = new URLSearchParams(location.search);
const lang = query.get("lang");
const invite = query.get("invite") || "";
// Keep only ?lang=, which carries nothing private.
history.replaceState(null, "", location.pathname + (lang ? `?lang=${encodeURIComponent(lang)}` : ""));

async function main() {
  await useLocale(chooseLocale(null));
  translate(document);
  const info = document.querySelector("[data-info]");
  const message = document.querySelector("[data-message]");
  const go = document.querySelector("[data-continue]");
  const notToday = document.querySelector("[data-not-today]");
  if (!secret || !invite) {
    message.textContent = errorText("E_INVITE_INVALID");
    return;
  }
  message.textContent = "";
  info.hidden = false;
  notToday.addEventListener("click", () => {
    message.textContent = t("familyinvite.notTodayDone");
  });
  go.addEventListener("click", async () => {
    go.disabled = notToday.disabled = true;
    message.textContent = t("familyinvite.opening");
    let answer;
    try {
      answer = await fetch("/api/family-invite/open", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ invite, secret }),
      });
    } catch {
      message.textContent = t("familyinvite.offline");
      go.disabled = notToday.disabled = false; // nothing was spent: trying again is fine
      return;
    }
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok || !data.token) {
      message.textContent = errorText(data?.error?.code);
      // A refusal for want of time (rate limit, server away) may pass; a dead link will not.
      const passing = ["E_RATE_LIMITED", "E_UNAVAILABLE"].includes(data?.error?.code);
      go.disabled = notToday.disabled = !passing;
      return;
    }
    location.replace(`/room${lang ? `?lang=${encodeURIComponent(lang)}` : ""}#${data.token}`);
  });
}

main();
