// Message catalogues: every string a person reads comes from here (docs/i18n.md).
// The server merges web/locales/<locale>/*.json and each tool's plugins/<name>/locales/<locale>.json
// (keys prefixed "tools.<name>.") into one catalogue at /i18n/<locale>.json.
// A message is a string with {name} placeholders, or an object of Intl.PluralRules categories
// ("one", "other", ...) chosen by params.count. A key missing from the locale falls back to
// English, so a page never shows a bare key.

export const LOCALES = ["en", "es"];
const FALLBACK = "en";

let current = FALLBACK;
let ready = false;
/** @type {Record<string, string | Record<string, string>>} */
let messages = {};
/** @type {Record<string, string | Record<string, string>>} */
let fallback = {};

/**
 * The locale to use: an explicit `?lang=` in the page's URL, then `preferred` (the token's
 * `locale` claim or the invitation's locale), then the browser's languages, then English.
 * Only locales in LOCALES are ever chosen; "es-MX" matches "es".
 */
export function chooseLocale(preferred) {
  const asked = new URLSearchParams(location.search).get("lang");
  for (const tag of [asked, preferred, ...(navigator.languages ?? [navigator.language])]) {
    const primary = typeof tag === "string" ? tag.toLowerCase().split("-")[0] : "";
    if (LOCALES.includes(primary)) return primary;
  }
  return FALLBACK;
}

async function fetchCatalogue(locale) {
  const response = await fetch(`/i18n/${locale}.json`, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`catalogue ${locale}: HTTP ${response.status}`);
  return response.json();
}

/**
 * Loads the catalogue for `locale` (and English beneath it), sets <html lang>, and
 * translates the page's static markup (see `translate`). Call once, before rendering.
 */
export async function useLocale(locale) {
  const chosen = LOCALES.includes(locale) ? locale : FALLBACK;
  const [main, base] = await Promise.all([
    fetchCatalogue(chosen), chosen === FALLBACK ? null : fetchCatalogue(FALLBACK)]);
  current = chosen;
  messages = main;
  fallback = base ?? main;
  ready = true;
  document.documentElement.lang = chosen;
  translate(document);
  return chosen;
}

/** Whether a catalogue is loaded (useLocale has resolved at least once). */
export function loaded() {
  return ready;
}

/** The locale in use ("en" until useLocale resolves). */
export function locale() {
  return current;
}

/** Whether the catalogue holds `key` (in the locale or in English). */
export function has(key) {
  return key in messages || key in fallback;
}

/**
 * The message `key` with `params` filled in. Plural messages choose their form by
 * `params.count`. Unknown keys return the key itself, so a missing message is visible in tests.
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 */
export function t(key, params = {}) {
  let message = key in messages ? messages[key] : fallback[key];
  if (message === undefined) return key;
  if (typeof message === "object") {
    const form = new Intl.PluralRules(current).select(Number(params.count ?? 0));
    message = message[form] ?? message.other ?? "";
  }
  return message.replace(/\{(\w+)\}/g, (whole, name) =>
    name in params ? String(params[name]) : whole);
}

/**
 * Translates static markup under `root`: `data-i18n="key"` sets the element's text;
 * `data-i18n-attr="aria-label:key; title:key2"` sets attributes.
 * @param {ParentNode} root
 */
export function translate(root) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.getAttribute("data-i18n"));
  }
  for (const node of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of node.getAttribute("data-i18n-attr").split(";")) {
      const [attr, key] = pair.split(":").map((s) => s.trim());
      if (attr && key) node.setAttribute(attr, t(key));
    }
  }
}

/** A person-facing message for a server error code ("errors.E_..."), or `otherwise`. */
export function errorText(code, otherwise) {
  const key = `errors.${code}`;
  return has(key) ? t(key) : (otherwise ?? t("errors.unknown"));
}
