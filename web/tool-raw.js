// The panel of a tool that ships none (or whose panel failed to load): what the tool shows this
// person, as JSON, and for the clinician a Stop button. It follows the panel API it stands in for
// (docs/plugins.md, "Panels").

import { h } from "./dom.js";

export function mount(element, api) {
  return {
    update(view) {
      api.setTitle(api.title);
      api.render([
        ["view", view, () => h("details", {}, h("summary", {}, "What this tool shows you"),
          h("pre", { className: "tool-raw" }, JSON.stringify(view, null, 2)))],
        api.clinician && ["controls", null, () => h("div", { className: "actions" }, api.stopButton(`Stop ${api.title}`))],
      ]);
    },
    destroy() {},
  };
}
