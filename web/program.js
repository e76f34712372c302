// The program panel on the session page: the partner's part in couples sessions, as each role
// may see it, through the REST API (`Authorization: Bearer <token>`, the page's own token).
//
//   import { mountProgramPanel } from "./program.js";
//   mountProgramPanel({ token, you: snapshot.you, room: snapshot, leave: () => room.leave(),
//                      live: room });
//
// Call it after a successful join and again on every `room` event: the first call mounts the
// panel into `<section data-program>`, later calls tell it the room changed. It reads the
// program once over REST, then follows the socket's `program` event on `live` (the SDK's
// room): the server sends each role its own view whenever it changes, so nothing polls.
// Nothing is stored: an invite link is shown once, in memory, and is gone with the page.
//
// One module per role holds that role's blocks and words (program-clinician.js,
// program-client.js, program-partner.js); what they share is in program-base.js.

import { chooseLocale, has, useLocale } from "./i18n.js";
import { ClientPanel } from "./program-client.js";
import { ClinicianPanel } from "./program-clinician.js";
import { PartnerPanel } from "./program-partner.js";

/** Each role's panel; other roles (an integrator, say) get none. */
const PANELS = new Map([
  ["clinician", ClinicianPanel],
  ["client", ClientPanel],
  ["partner", PartnerPanel],
]);

/** @type {import("./program-base.js").ProgramPanel | null} */
let panel = null;
let mounting = null;

/**
 * Mounts the panel (first call) or tells it the room changed (later calls).
 *
 * @param {object} options
 * @param {string} options.token The page's access token.
 * @param {{id: string, name: string, role: string}} options.you From the room snapshot.
 * @param {{id: string, kind: string, program: string, version: number}} options.room The snapshot.
 * @param {() => Promise<unknown>} [options.leave] Leaves the room before going to another one.
 * @param {EventTarget} [options.live] The SDK's room, on which `program` events arrive.
 * @returns {Promise<import("./program-base.js").ProgramPanel | null>}
 */
export async function mountProgramPanel({ token, you, room, leave, live }) {
  const section = document.querySelector("[data-program]");
  if (!section || !token || !you?.role || !room?.program) return null;
  const Role = PANELS.get(you.role);
  if (!Role) return null;
  if (!panel) {
    mounting ??= (async () => {
      // The page may not have loaded the catalogue yet; the panel's words need it.
      if (!has("program.clinician.heading")) await useLocale(chooseLocale(you.locale)).catch(() => {});
      panel = new Role({ section, token, you, room, leave, live });
      panel.start();
    })();
    await mounting;
    if (panel.room !== room) panel.roomChanged(room);
  } else {
    panel.roomChanged(room);
  }
  return panel;
}
