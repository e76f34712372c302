// The partner's other door (docs/partner-lifecycle.md "The other door"): the page a
// partners-and-family group link opens. It takes the secret out of the address bar first,
// trades it for a group member's token (POST /api/partner-group/open), and goes on to the
// session page, which asks for the group's agreement before the knock.
//
// Caveat: the token travels to the session page in the fragment, as every session link does;
// it is never sent to a server in a URL.

import { chooseLocale, errorText, t, translate, useLocale } from "./i18n.js";

const secret = location.hash.replace(/^#/, "");
const query = new URLSearchParams(location.search);
const lang = query.get("lang");
// Keep only ?lang=, which carries nothing private.
history.replaceState(null, "", location.pathname + (lang ? `?lang=${encodeURIComponent(lang)}` : ""));

async function main() {
  await useLocale(chooseLocale(null));
  translate(document);
  const message = document.querySelector("[data-message]");
  const program = query.get("program") || "";
  const invite = query.get("invite") || "";
  if (!secret || !program || !invite) {
    message.textContent = errorText("E_INVITE_INVALID");
    return;
  }
  let answer;
  try {
    answer = await fetch("/api/partner-group/open", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ program, invite, secret }),
    });
  } catch {
    message.textContent = t("partnergroup.offline");
    return;
  }
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok || !data.token) {
    message.textContent = errorText(data?.error?.code);
    return;
  }
  location.replace(`/room${lang ? `?lang=${encodeURIComponent(lang)}` : ""}#${data.token}`);
}

main();
