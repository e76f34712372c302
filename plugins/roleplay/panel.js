// The role-play tool's panel (docs/plugins.md, "Panels"): the scene and the parts, each turn's
// prompt and timer, coaching cues for the clinician only, and the closing reflection.

import { field, h, uid } from "/static/dom.js";
import { PanelView, onlyYou, timer } from "/static/tool-kit.js";

/** Role-play parts, by what they do. */
const PART_WORD = { speaker: "Practising", partner: "The other side" };

/** The launcher's part: what it is (the scenario is chosen in the panel, once started). */
export function launch(element, api) {
  element.append(h("p", { className: "quiet" }, "Rehearse a hard conversation, turn by turn. You choose the scenario next." +
    (api.couples ? " The client and the partner play the parts." : " You play the other part.")));
  return { read: () => ({}) };
}

export function mount(element, api) {
  return new RoleplayPanel(api);
}

class RoleplayPanel extends PanelView {
  heading(v) {
    return v.scenario?.title ? `Role-play: ${v.scenario.title}` : "Role-play";
  }

  blocks(v) {
    if (v.stage === "picking" || !v.scenario) return this.picking(v);
    const turn = v.turn;
    const out = [
      ["scene", { scenario: v.scenario, parts: v.parts, you: v.you }, () => this.scene(v)],
    ];
    if (v.stage === "playing" && turn) {
      out.push(["turn", { turn, paused: v.paused, count: v.turns?.count }, () => this.turn(v)]);
    } else if (v.stage === "done") {
      out.push(["done", null, () => h("p", {}, "All the turns are done. Time to reflect.")]);
    }
    if (this.clinician && v.cues) {
      out.push(["cues", v.cues, () => this.cues(v.cues)]);
    }
    const reflecting = v.stage === "done" || Boolean(v.reflection?.mine);
    if (reflecting && (this.clinician || v.you)) {
      out.push(["reflect", { q: v.reflection?.question, mine: v.reflection?.mine }, () => this.reflect(v)]);
    }
    if (this.clinician && v.reflection?.all && Object.keys(v.reflection.all).length) {
      out.push(["reflections", v.reflection.all, () => {
        const list = h("ul", { className: "answer-list" });
        for (const r of Object.values(v.reflection.all)) list.append(h("li", {}, h("strong", {}, `${r.name}: `), r.text));
        return h("div", { className: "answers" }, h("h4", {}, "Reflections"), list);
      }]);
    }
    if (this.clinician) {
      // In a couples room the clinician plays the other side until the partner is there.
      const stand = v.parts?.partner?.participant === this.you?.id;
      const partner = this.api.couples && stand
        ? [...this.api.people().values()].find((p) => p.role === "partner") : null;
      out.push(["controls", { paused: v.paused, stage: v.stage, partner }, () => h("div", { className: "actions" },
        this.button("Redo turn", "redo"),
        this.button("Swap parts", "swap"),
        v.paused ? this.button("Resume", "resume", {}, "primary") : this.button("Pause", "pause"),
        partner ? this.button(`Give the other side to ${partner.name}`, "assign", { roles: { partner: partner.id } }) : "",
        this.stopButton("Stop role-play"))]);
    }
    return out;
  }

  picking(v) {
    if (!this.clinician) {
      return [["wait", v.message, () => h("p", { className: "quiet" }, v.message ?? "Your clinician is choosing a role-play.")]];
    }
    const library = v.library ?? [];
    return [
      ["pick", { library }, () => {
        if (!library.length) return h("p", {}, "No scenarios are available.");
        const select = h("select", { id: uid("scenario"), "data-field": "scenario" },
          ...library.map((s) => h("option", { value: s.id }, s.title)));
        const summary = h("p", { className: "hint" });
        const show = () => {
          const s = library.find((x) => x.id === select.value);
          summary.textContent = s ? `${s.summary} (${s.turns} turns; parts: ${s.parts.speaker} and ${s.parts.partner}.)` : "";
        };
        select.addEventListener("change", show);
        show();
        return h("div", {}, field("Scenario", select), summary,
          h("div", { className: "actions" }, this.button("Play this scenario", "pick", () => ({ scenario: select.value }), "primary"), this.stopButton("Stop role-play")));
      }],
      (v.skipped ?? []).length && ["skipped", v.skipped, () => h("details", {},
        h("summary", {}, `${v.skipped.length} scenario file(s) could not be used`),
        h("ul", { className: "plain-list" }, ...v.skipped.map((s) => h("li", {}, `${s.file}: ${s.error}`))))],
    ];
  }

  scene(v) {
    const parts = v.parts ?? {};
    const out = h("div", { className: "scene" }, h("p", { className: "quiet" }, v.scenario.summary ?? ""));
    // The scenario's labels ("You", "Your partner") are written for the person practising;
    // the parts are called by what they do, so they read the same for everyone.
    if (v.you === "speaker" && parts.speaker) {
      out.append(h("p", {}, h("strong", {}, "You are practising. "), parts.speaker.about));
    } else if (v.you === "partner" && parts.partner) {
      out.append(h("p", {}, h("strong", {}, `You play the other side (${parts.partner.label}). `), parts.partner.about));
    }
    const cast = h("ul", { className: "plain-list" });
    for (const key of ["speaker", "partner"]) {
      const p = parts[key];
      if (!p) continue;
      const who = p.participant === this.you?.id ? "you" : p.name;
      cast.append(h("li", {}, `${PART_WORD[key]}: ${who}`));
    }
    out.append(cast);
    if (this.clinician) {
      out.append(h("details", {}, h("summary", {}, "About the parts"),
        ...["speaker", "partner"].filter((k) => parts[k]).map((k) => h("p", {}, h("strong", {}, `${PART_WORD[k]} (${parts[k].label}): `), parts[k].about))));
    }
    return out;
  }

  turn(v) {
    const t = v.turn;
    const who = t.yours ? "Your turn" : `${t.name}'s turn (${PART_WORD[t.who]?.toLowerCase() ?? t.who})`;
    const box = h("div", { className: "tool-step" },
      h("p", { className: "step-count" }, `Turn ${t.index + 1} of ${v.turns?.count ?? "?"} · ${who}`),
      h("p", { className: "prompt" }, t.prompt));
    if (v.paused) box.append(h("p", { className: "quiet" }, "Paused by your clinician."));
    else if (t.time_up) box.append(h("p", { className: "quiet" }, "The turn's time is up; finish your thought."));
    else if (t.deadline) box.append(h("p", { className: "step-timer" }, timer(t.deadline, t.seconds, "left for this turn", "The turn's time is up; finish your thought.")));
    if (Array.isArray(t.suggested) && t.suggested.length) {
      box.append(h("p", { className: "suggested-title" }, t.yours ? "Words you could try:" : `Words ${t.name} could try:`),
        h("ul", { className: "suggested" }, ...t.suggested.map((s) => h("li", {}, s))));
    }
    if ((t.yours || this.clinician) && !v.paused) {
      box.append(h("div", { className: "actions" }, this.button("Next turn", "next", {}, t.yours ? "primary" : "")));
    }
    return box;
  }

  cues(cues) {
    const body = h("div", {});
    body.append(h("p", {}, cues.current ? cues.current : "No cue for this turn."));
    if (cues.upcoming?.length) {
      body.append(h("details", {}, h("summary", {}, "The script ahead"),
        h("ol", { className: "plain-list" }, ...cues.upcoming.map((u) =>
          h("li", {}, `${PART_WORD[u.who] ?? u.who}: ${u.prompt}`, u.cue ? h("span", { className: "cue-ahead" }, ` Cue: ${u.cue}`) : "")))));
    }
    return onlyYou(body, "Coaching cue");
  }

  reflect(v) {
    const id = uid("reflection");
    const text = h("textarea", { id, "data-field": "reflection", rows: 3, maxLength: 2000 });
    text.value = v.reflection?.mine ?? "";
    const save = h("button", { type: "submit", className: "primary", "data-control": "reflect" }, "Save reflection");
    const form = h("form", { className: "tool-form" },
      field(v.reflection?.question ?? "Your reflection", text),
      h("div", { className: "actions" }, save),
      v.reflection?.mine ? h("p", { className: "quiet" }, "Saved with the session record. You can change it.") : "");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!text.value.trim()) return this.say("Write a few words first.", "error");
      this.act(save, "reflect", { text: text.value.trim() });
    });
    return form;
  }
}
