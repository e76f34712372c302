// The exercises tool's panel (docs/plugins.md, "Panels"): one step at a time; private answers
// shown to the other partner only once the clinician releases them; speaker-listener rounds.

import { field, h, uid } from "/static/dom.js";
import { PanelView, onlyYou, timer } from "/static/tool-kit.js";

/** The launcher's part: which exercise, with its introduction. */
export function launch(element, api) {
  const catalog = Array.isArray(api.catalog) ? api.catalog : [];
  element.append(h("p", { className: "quiet" }, api.couples
    ? "A structured exercise for the two partners. Private answers are shared only when you release them."
    : "A structured exercise with the client; you take the other part."));
  if (!catalog.length) return { read: () => ({}) };
  const select = h("select", { id: uid("exercise"), "data-field": "exercise" },
    ...catalog.map((e) => h("option", { value: e.id }, e.title)));
  const intro = h("p", { className: "hint" });
  const showIntro = () => {
    intro.textContent = catalog.find((e) => e.id === select.value)?.intro ?? "";
  };
  select.addEventListener("change", showIntro);
  showIntro();
  element.append(field("Exercise", select), intro);
  return { read: () => ({ exercise: select.value }) };
}

export function mount(element, api) {
  return new ExercisesPanel(api);
}

class ExercisesPanel extends PanelView {
  heading(v) {
    return v.exercise?.title ? `Exercise: ${v.exercise.title}` : "Exercise";
  }

  blocks(v) {
    const me = this.you?.id;
    const people = v.people ?? [];
    const name = (id) => (id === me ? "You"
      : people.find((p) => p.id === id)?.name ?? this.api.people().get(id)?.name ?? "Your clinician");
    const step = v.step ?? {};
    const mode = step.mode;
    const inIt = Boolean(v.you?.inExercise);
    const them = this.clinician && !inIt;
    const blocks = [
      ["intro", v.exercise?.intro, () => h("details", { className: "tool-about" },
        h("summary", {}, "About this exercise"), h("p", {}, v.exercise?.intro ?? ""))],
    ];
    if (v.finished) {
      blocks.push(["finished", null, () => h("p", {}, this.clinician
        ? "The exercise is finished. Stop it to keep the answers in the session record."
        : "This exercise is finished. Thank you both.")]);
    } else {
      blocks.push(["step", { index: v.index, count: v.count, step, speaker: v.speaker, listener: v.listener, people }, () =>
        h("div", { className: "tool-step" },
          h("p", { className: "step-count" }, `Step ${v.index + 1} of ${v.count}`),
          h("p", { className: "prompt" }, step.prompt ?? ""),
          h("p", { className: "quiet" }, whoAnswers(step, v, name, them)),
          step.deadline ? h("p", { className: "step-timer" }, timer(step.deadline, step.timer, "left for this step", "Time's up for this step; take the time you need.")) : "")]);
      if (this.clinician && step.guide) {
        blocks.push(["guide", step.guide, () => onlyYou(h("p", {}, step.guide))]);
      }
      if (mode === "floor") blocks.push(...this.floor(v, name));
      else blocks.push(...this.answers(v, name, inIt));
    }
    if (this.clinician) blocks.push(this.controls(v));
    return blocks;
  }

  /** Private-reveal and shared steps: the answer form, who is done, the answers one may see. */
  answers(v, name, inIt) {
    const me = this.you?.id;
    const step = v.step ?? {};
    const people = v.people ?? [];
    const mine = v.answers?.[me];
    const privately = step.mode === "private-reveal";
    const released = Boolean(v.released);
    const others = people.filter((p) => p.id !== me);
    const mayAnswer = step.who === "clinician" ? this.clinician : inIt && mayAnswerStep(step, v, me);
    const out = [];

    if (step.who === "clinician") {
      // The clinician writes this one for everyone to see (e.g. the agreed boundaries).
      if (mayAnswer) {
        out.push([`form-${v.index}`, { fields: step.fields, mine }, () => this.answerForm(v, mine, false, [])]);
      }
      const written = Object.keys(v.answers ?? {}).map((id) => ({ id }));
      out.push(["shared", { answers: v.answers }, () => written.length
        ? h("div", { className: "answers" }, h("h4", {}, "Written down"), answerList(written, v.answers ?? {}, name))
        : h("p", { className: "quiet" }, this.clinician ? "Write it down here; everyone sees it." : "Your clinician will write this down here.")]);
      return out;
    }

    if (mayAnswer && !(privately && released)) {
      out.push([`form-${v.index}`, { fields: step.fields, mine }, () =>
        this.answerForm(v, mine, privately, others)]);
    }
    if (privately && !released && inIt) {
      out.push(["waiting", { done: v.done, people }, () => {
        const lines = people.filter((p) => p.id !== me).map((p) =>
          (v.done ?? []).includes(p.id) ? `${p.name} is done with this step.` : `Waiting for ${p.name}.`);
        return h("p", { className: "quiet", "data-waiting": "" }, lines.join(" "));
      }]);
    }
    if (this.clinician && !(released && inIt)) {
      out.push(["seen", { answers: v.answers, people, released }, () => h("div", { className: "answers" },
        h("h4", {}, privately ? (released ? "Answers (shared with both)" : "Answers as they arrive") : "Answers"),
        privately && !released ? h("p", { className: "hint" }, "Only you see these until you release them, once both have answered or kept theirs private.") : "",
        answerList(people.filter((p) => p.id !== me || !inIt), v.answers ?? {}, name))]);
    }
    if (!this.clinician || inIt) {
      if (!privately || released) {
        out.push(["shared", { answers: v.answers, people, released }, () => h("div", { className: "answers" },
          h("h4", {}, privately ? "Your answers, shared" : "Answers so far"),
          answerList(people, v.answers ?? {}, name))]);
      }
    }
    return out;
  }

  answerForm(v, mine, privately, others) {
    const step = v.step ?? {};
    const fields = Array.isArray(step.fields) ? step.fields : [];
    const inputs = [];
    const rows = [];
    if (fields.length) {
      for (const f of fields) {
        const id = uid(`answer-${f.name}`);
        const long = (f.maxLength ?? 500) > 200;
        const input = h(long ? "textarea" : "input", {
          id, name: f.name, "data-field": `answer-${f.name}`, maxLength: f.maxLength ?? 500,
          placeholder: f.placeholder ?? "", rows: long ? 2 : undefined, type: long ? undefined : "text",
          required: true,
        });
        input.value = mine?.value?.[f.name] ?? "";
        inputs.push([f.name, input]);
        rows.push(field(f.label, input));
      }
    } else {
      const id = uid("answer-text");
      const input = h("textarea", { id, "data-field": "answer-text", maxLength: 2000, rows: 3, required: true });
      input.value = mine?.value?.text ?? "";
      inputs.push(["text", input]);
      rows.push(field("Your answer", input));
    }
    const submit = h("button", { type: "submit", className: "primary", "data-control": "answer" },
      privately ? (mine && !mine.withheld ? "Update my answer" : "Submit privately") : (mine ? "Update my answer" : "Share my answer"));
    const actions = h("div", { className: "actions" }, submit);
    if (privately) {
      const keep = h("button", { type: "button", "data-control": "withhold" }, "Keep private");
      keep.addEventListener("click", () => this.act(keep, "withhold", {}));
      actions.append(keep);
    }
    const other = others.map((p) => p.name).join(" and ") || "The other person";
    const otherIsClinician = others.some((p) => this.api.people().get(p.id)?.role === "clinician");
    const privacy = !privately
      ? h("p", { className: "hint" }, "Everyone in this exercise sees your answer as soon as you share it.")
      : h("p", { className: "plain-note" }, otherIsClinician
        ? "Your clinician sees your answer when you submit it."
        : `Only you and your clinician see this for now. ${other} sees it only after you have both answered and your clinician shares the answers. You can also keep yours private.`);
    let status = "";
    if (mine?.withheld) status = h("p", { className: "quiet", "data-mine": "" }, "You chose to keep this one private. You can still answer instead, until the answers are shared.");
    else if (mine) status = h("p", { className: "quiet", "data-mine": "" }, `Your answer is in: “${answerText(mine)}” You can change it until the answers are shared.`);
    const form = h("form", { className: "tool-form" }, privacy, ...rows, actions, status);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const values = Object.fromEntries(inputs.map(([k, input]) => [k, input.value.trim()]));
      const empty = inputs.find(([k]) => !values[k]);
      if (empty) {
        this.say("Please fill in each part, or choose Keep private.", "error");
        empty[1].focus();
        return;
      }
      this.act(submit, "answer", fields.length ? { fields: values } : { text: values.text });
    });
    return form;
  }

  /** A speaker-listener step: who holds the floor, the paraphrase, confirm or try again. */
  floor(v, name) {
    const me = this.you?.id;
    const f = v.floor ?? {};
    const said = (f.paraphrases ?? []).filter((p) => p.round === f.round);
    const last = said[said.length - 1];
    const speaking = v.speaker === me;
    const listening = v.listener === me;
    const out = [
      ["holder", { holder: f.holder, listener: v.listener, speaking, listening, muted: f.youMuted }, () => h("div", { className: "floor" },
        h("p", { className: "floor-holder" }, speaking ? "You have the floor." : `${name(f.holder)} has the floor.`),
        h("p", { className: "quiet" }, speaking
          ? `Say what matters to you, a little at a time. ${name(v.listener)} will say back what they heard.`
          : listening
            ? `Listen, then say back what you heard, in your own words. No answers or defending yet.`
            : `${name(v.listener)} listens and says back what they heard.`),
        f.youMuted ? h("p", { className: "mute-note" }, `Your microphone is muted while ${name(f.holder)} has the floor.`) : "")],
    ];
    if (said.length) {
      out.push(["said", { said }, () => {
        const list = h("ul", { className: "answer-list" });
        for (const p of said) {
          const status = { pending: "waiting for the speaker", confirmed: "confirmed", "try-again": "the speaker asked to try again" }[p.status] ?? p.status;
          list.append(h("li", {}, h("strong", {}, `${name(p.by)}: `), `“${p.text}” (${status})`));
        }
        return h("div", { className: "answers" }, h("h4", {}, "What the listener heard"), list);
      }]);
    }
    if (listening) {
      // A fresh, empty form after each paraphrase sent (the key changes with what was said).
      out.push([`paraphrase-${f.round}-${said.length}-${last?.text ?? ""}`, null, () => {
        const id = uid("paraphrase");
        const text = h("textarea", { id, "data-field": "paraphrase", rows: 3, maxLength: 2000, required: true });
        const send = h("button", { type: "submit", className: "primary", "data-control": "paraphrase" }, "Paraphrase");
        const form = h("form", { className: "tool-form" }, field("What I heard you say", text), h("div", { className: "actions" }, send));
        form.addEventListener("submit", (e) => {
          e.preventDefault();
          if (!text.value.trim()) return this.say("Write what you heard first.", "error");
          this.act(send, "paraphrase", { text: text.value.trim() });
        });
        return form;
      }]);
    }
    if (speaking && last?.status === "pending") {
      out.push(["confirm", { last }, () => h("div", { className: "actions" },
        this.button("Confirm", "confirm", { ok: true }, "primary"),
        this.button("Try again", "confirm", { ok: false }))]);
    }
    if ((speaking || listening) && last?.status === "confirmed") {
      out.push(["swap", { round: f.round }, () => h("div", { className: "actions" },
        this.button(`Swap: ${name(v.listener) === "You" ? "you speak" : `${name(v.listener)} speaks`} next`, "swap"))]);
    }
    return out;
  }

  controls(v) {
    const step = v.step ?? {};
    const people = v.people ?? [];
    const everyoneDone = people.every((p) => (v.done ?? []).includes(p.id));
    return ["controls", { index: v.index, count: v.count, finished: v.finished, mode: step.mode, released: v.released, everyoneDone }, () => {
      const back = this.button("Back", "back");
      back.disabled = v.index === 0 && !v.finished;
      const actions = h("div", { className: "actions" }, back);
      if (!v.finished) actions.append(this.button(v.index + 1 >= v.count ? "Finish exercise" : "Next step", "next"));
      let hint = "";
      if (!v.finished && step.mode === "private-reveal" && !v.released) {
        const release = this.button("Release answers", "release", {}, "primary");
        release.disabled = !everyoneDone;
        actions.prepend(release);
        if (!everyoneDone) hint = h("p", { className: "hint" }, "Release becomes available once both have answered or kept theirs private.");
      }
      if (!v.finished && step.mode === "floor") actions.append(this.button("Swap speaker", "swap"));
      actions.append(this.stopButton("Stop exercise"));
      return h("div", {}, actions, hint);
    }];
  }
}

function mayAnswerStep(step, v, me) {
  if (step.who === "clinician") return false; // the clinician answers from the clinician's own form
  if (step.who === "speaker" || step.who === "listener") return v[step.who] === me;
  return true;
}

function whoAnswers(step, v, name, them) {
  const speaker = name(v.speaker);
  const listener = name(v.listener);
  if (step.mode === "floor") {
    if (speaker === "You") return `You speak; ${listener} listens.`;
    if (listener === "You") return `${speaker} speaks; you listen.`;
    return `${speaker} speaks; ${listener} listens.`;
  }
  if (step.mode === "private-reveal") return them ? "Each of them answers privately." : "Each of you answers privately.";
  if (step.who === "speaker" || step.who === "listener") {
    const who = name(v[step.who]);
    return who === "You" ? "You answer this step." : `${who} answers this step.`;
  }
  if (step.who === "clinician") return them ? "You write this step down for everyone." : "Your clinician writes this step down.";
  return them ? "Each of them answers; everyone sees the answers." : "Each of you answers; everyone sees the answers.";
}

function answerText(answer) {
  if (!answer || answer.withheld) return "";
  if (typeof answer.text === "string") return answer.text;
  return Object.values(answer.value ?? {}).join(" · ");
}

function answerList(people, answers, name) {
  const list = h("ul", { className: "answer-list" });
  for (const p of people) {
    const a = answers[p.id];
    const who = name(p.id);
    const line = h("li", { "data-answer-of": p.id }, h("strong", {}, `${who}: `));
    if (!a) line.append(h("span", { className: "quiet" }, "not answered yet"));
    else if (a.withheld) line.append(h("span", { className: "quiet" }, who === "You" ? "you kept yours private" : "kept theirs private"));
    else line.append(answerText(a));
    list.append(line);
  }
  return list;
}
