// The panel of a tool that ships none (or whose panel failed to load): what the tool shows this
// person, as JSON, and for the clinician a Stop button. It follows the panel API it stands in for
// (docs/plugins.md, "Panels").

import { h } from "./dom.js";
import { t } from "./i18n.js";

export function mount(element, api) {
  return {
    update(view) {
      api.setTitle(api.title);
      api.render([
        ["view", view, () => h("details", {}, h("summary", {}, t("tools.kit.raw-summary")),
          h("pre", { className: "tool-raw" }, JSON.stringify(view, null, 2)))],
        api.clinician && ["controls", null, () => h("div", { className: "actions" }, api.stopButton(t("tools.kit.stop", { title: api.title })))],
      ]);
    },
    destroy() {},
  };
}
