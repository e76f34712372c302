// The breakout part of the clinician's control strip (web/group-controls.js; docs/groups.md,
// "Clinician controls"): before a breakout, the pairs to start (the listed order by default, or
// made by hand: each member gets a "Pair n" selector) and "Practice in pairs"; while breakouts
// run, each breakout with who is in it, "Visit" (the clinician joins it: `group.visit {breakout}`)
// and "Leave the visit" (`{breakout: null}`), and "Bring everyone back".
//
//   const pairs = pairsPart({ send, redraw });
//   const { button, blocks } = pairs.draw(snapshot.group, members, names);
//
// The server checks what is started (1–8 groups of two or three, each member once: E_SCHEMA
// otherwise); this part says before that what would be refused, so nothing wrong is sent.
//
// Caveat: the pairs made by hand live only in this page (a reload starts from the listed
// order again); a member who arrives after them stays in the main room until placed.

import { h } from "./dom.js";
import { locale, t } from "./i18n.js";

/** The most breakouts the server takes, and the sizes of one (server/realtime/group_controls.py). */
const MOST_PAIRS = 8;
const SMALLEST = 2;
const LARGEST = 3;
/** The selector's value for "stays in the main room". */
const MAIN = "0";

/** "Sam and Kim": one pair's names, in the page's language. */
export function pairName(pair, names) {
  return new Intl.ListFormat(locale(), { type: "conjunction" }).format(pair.map((id) => names.get(id) ?? "?"));
}

/** "Sam and Kim; Lee and Robin": the pairs, by name. */
export function pairNames(pairs, names) {
  return pairs.map((pair) => pairName(pair, names)).join("; ");
}

/** The quick default: members in the order the room lists them, two by two, a trio at the end
 * when their number is odd. */
export function listedPairs(ids) {
  const pairs = [];
  for (let i = 0; i + 1 < ids.length; i += 2) pairs.push([ids[i], ids[i + 1]]);
  if (ids.length % 2 === 1 && pairs.length) pairs[pairs.length - 1].push(ids.at(-1));
  return pairs;
}

/** How many "Pair n" choices a selector offers for `count` members. */
const choices = (count) => Math.max(1, Math.min(MOST_PAIRS, Math.floor(count / SMALLEST)));

/**
 * @param {object} options
 * @param {(event: string, payload: object) => Promise<void>} options.send sends one control
 * @param {() => void} options.redraw draws the strip again from the last snapshot
 * @param {(text: string) => void} options.say puts a sentence in the strip's status line
 */
export function pairsPart({ send, redraw, say }) {
  /** Pairs by hand: member id -> "1".."8", or MAIN; null while the listed order holds. */
  let byHand = null;
  let open = false;

  /** Each member's pair number as the selectors show it. */
  const assignment = (ids) => {
    const listed = new Map();
    listedPairs(ids).forEach((pair, i) => pair.forEach((id) => listed.set(id, String(i + 1))));
    const most = choices(ids.length);
    return new Map(ids.map((id) => {
      const chosen = byHand ? byHand.get(id) ?? MAIN : listed.get(id) ?? MAIN;
      return [id, chosen !== MAIN && Number(chosen) > most ? String(most) : chosen];
    }));
  };

  /** The pairs an assignment makes, in pair-number order (empty numbers skipped), and what is
   * wrong with them, if anything (the sentence to show). */
  const pairsOf = (ids, names) => {
    const numbered = new Map();
    for (const [id, n] of assignment(ids)) {
      if (n !== MAIN) numbered.set(Number(n), [...(numbered.get(Number(n)) ?? []), id]);
    }
    const order = [...numbered.keys()].sort((a, b) => a - b);
    for (const n of order) {
      const pair = numbered.get(n);
      if (pair.length < SMALLEST) {
        return { pairs: [], problem: t("group.controls.pairAlone", { n, name: names.get(pair[0]) ?? "?" }) };
      }
      if (pair.length > LARGEST) return { pairs: [], problem: t("group.controls.pairTooBig", { n }) };
    }
    if (!order.length) return { pairs: [], problem: t("group.controls.pairNone") };
    return { pairs: order.map((n) => numbered.get(n)), problem: "" };
  };

  /** The selectors: one per member, "Pair 1".."Pair k" or "Stays in the main room". */
  const chooser = (ids, names) => {
    const now = assignment(ids);
    const most = choices(ids.length);
    const rows = ids.map((id) => {
      const select = h("select", { id: `group-pair-${id}`, "data-slot": `pair:${id}`,
        onchange: () => {
          byHand = byHand ?? new Map(now);
          byHand.set(id, select.value);
          redraw();
        } },
      ...Array.from({ length: most }, (_, i) => h("option", { value: String(i + 1) },
        t("group.controls.pairNumber", { n: i + 1 }))),
      h("option", { value: MAIN }, t("group.controls.pairMain")));
      select.value = now.get(id) ?? MAIN;
      return h("li", {}, h("label", { htmlFor: select.id }, names.get(id) ?? "?"), select);
    });
    return h("fieldset", { className: "group-pairs-chooser", id: "group-pairs-chooser", hidden: !open },
      h("legend", {}, t("group.controls.pairsLegend")),
      h("ul", {}, ...rows),
      byHand ? h("button", { type: "button", "data-slot": "pairs-listed",
        onclick: () => { byHand = null; redraw(); } }, t("group.controls.pairsListed")) : "");
  };

  /** While breakouts run: each one, who is in it, Visit or Leave the visit. */
  const running = (g, names) => h("ul", { className: "group-pairs-running", "aria-label": t("group.controls.breakouts") },
    ...g.breakouts.map((pair, i) => {
      const here = g.visiting === i;
      const who = pairName(pair, names);
      return h("li", {},
        h("span", {}, t(here ? "group.controls.pairVisiting" : "group.controls.pairIs",
          { n: i + 1, pair: who })),
        h("button", { type: "button", "data-slot": `visit:${i}`, onclick: () =>
          send("group.visit", { breakout: here ? null : i }) },
        here ? t("group.controls.visitLeave") : t("group.controls.visit", { pair: who })));
    }));

  /**
   * The strip's breakout button and the blocks under it.
   *
   * @param {any} g the clinician's `group` view
   * @param {string[]} ids the members, in the order the room lists them
   * @param {Map<string, string>} names
   * @returns {{button: HTMLElement | "", blocks: (HTMLElement | "")[]}}
   */
  function draw(g, ids, names) {
    if (g.breakouts.length) {
      return {
        button: h("button", { type: "button", "data-slot": "breakout",
          onclick: () => send("group.breakout-end", {}) }, t("group.controls.breakoutEnd")),
        blocks: [
          h("p", { className: "group-controls-pairs", id: "group-controls-pairs" },
            t("group.controls.pairsNow", { pairs: pairNames(g.breakouts, names) })),
          running(g, names)],
      };
    }
    if (ids.length < SMALLEST) {
      byHand = null;
      return { button: "", blocks: [] };
    }
    const { pairs, problem } = pairsOf(ids, names);
    const start = h("button", { type: "button", "data-slot": "breakout",
      "aria-describedby": "group-controls-pairs", "aria-disabled": problem ? "true" : undefined,
      onclick: () => (problem ? say(problem) : send("group.breakout", { pairs })) },
    t("group.controls.breakout"));
    const toggle = h("button", { type: "button", "data-slot": "pairs-choose",
      "aria-expanded": String(open), "aria-controls": "group-pairs-chooser",
      onclick: () => { open = !open; redraw(); } }, t("group.controls.pairsChoose"));
    return {
      button: start,
      blocks: [
        h("p", { className: "group-controls-pairs", id: "group-controls-pairs" },
          problem || t("group.controls.pairsNext", { pairs: pairNames(pairs, names) })),
        toggle, chooser(ids, names)],
    };
  }

  return { draw };
}
