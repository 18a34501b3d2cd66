// The task in progress: the drawer drawn from above, the pocket to use, and the weight's verdict.
"use strict";

const DISC_REASONS = ["returned_to_pocket", "dropped", "miscount", "stock_error", "unexplained"];
const GO_STEPS = ["ready"];
const MOVING_STEPS = ["released", "open", "settling", "cancelling"];

function drawerGrid(layout, target, changed) {
  if (!layout) return null;
  const n = layout.pockets.length;
  const columns = n > 8 ? 6 : Math.min(n, 4);
  return h("div", { class: "drawer", testid: "drawer-grid", style: "grid-template-columns:repeat(" + columns + ",minmax(0,1fr))" },
    layout.pockets.map((p) => h("div", {
      class: "pocket" + (p.pocket === target ? " target" : "") + ((changed || []).includes(p.pocket) ? " changed" : ""),
      testid: "pocket-" + layout.drawer + "-" + p.pocket + (p.pocket === target ? "-target" : "") },
      h("div", {}, t("common.drawer_pocket", { drawer: layout.drawer + 1, pocket: p.pocket + 1 })),
      p.item_name ? drugName(p.item_name) : h("span", { class: "muted" }, "—"),
      p.strength ? h("span", { class: "strength" }, p.strength) : null)));
}

function instruction(task) {
  const params = { drawer: (task.drawer ?? 0) + 1, pocket: (task.pocket ?? 0) + 1, n: task.quantity };
  if (task.step === "open" && task.kind === "restock") return t("step.load", params);
  if (task.step === "open" && task.kind === "return") return t("step.put", params);
  if (task.step === "open" && task.kind === "count") return t("step.open_count", params);
  if (task.kind === "waste") return task.needs_witness ? t("step.awaiting_witness") : t("step.waste_ready", params);
  if (task.kind === "restock" && task.step === "prepared") return t("step.awaiting_scan");
  return t("step." + task.step, params);
}

SCREENS.task = async (main) => {
  let task = await api("GET", "/api/task");
  let outcome = null;   // {kind: committed|cancelled, data}
  let error = null;
  let busy = false;
  if (!task) { await show(homeScreen()); return; }
  const mine = K.screenSeq;
  const found = [];  // the discrepancies this task opened, shown together
  const reload = async () => {
    try { const next = await api("GET", "/api/task"); if (next) task = next; } catch (e) { error = e; }
    draw();
  };
  K.onLive = (kind, data) => {
    if (current.id !== "task") return;
    if (data.task_id && task && data.task_id !== task.task_id) return;
    if (kind === "committed" || kind === "cancelled") { outcome = { kind, data }; draw(); }
    else if (kind === "discrepancy") {
      found.push(data);
      // Several pockets may have changed: wait a moment so that all of them are shown at once.
      if (found.length === 1) setTimeout(() => show("resolve", { layout: task.layout, items: found }), 300);
    }
    else if (kind === "refused") { error = { body: { message: data.message } }; draw(); }
    else if (["progress", "scan", "drawer", "weight"].includes(kind)) { reload(); }
  };
  const act = async (path, body) => {
    if (busy) return;
    busy = true;
    try { const next = await api("POST", path, body); if (next) task = next; error = null; }
    catch (e) { error = e; }
    busy = false;
    draw();
  };
  const go = h("button", { class: "primary", testid: "task-confirm" });
  const draw = () => {
    if (K.screenSeq !== mine) return;  // another screen took over while a request was out
    const finished = outcome !== null;
    const children = [
      h("h1", { testid: "task-title" }, t("task.title." + task.kind) + (task.item_name ? " — " : ""),
        task.item_name ? drugName(task.item_name) : ""),
      h("div", { class: "row" },
        task.drawer !== null ? h("span", { class: "pill", testid: "task-drawer" }, t("task.drawer", { drawer: task.drawer + 1 })) : null,
        task.pocket !== null ? h("span", { class: "pill", testid: "task-pocket" }, t("task.pocket", { pocket: task.pocket + 1 })) : null,
        task.kind !== "count" ? h("span", { class: "pill" }, t("task.quantity", { n: task.quantity })) : null,
        task.controlled ? h("span", { class: "pill controlled" }, t("flag.controlled")) : null),
      error ? errorBox(error) : null,
    ];
    if (finished && outcome.kind === "committed") {
      children.push(h("div", { class: "success", testid: "committed" }, "✔ " + (task.kind === "waste" ?
        t("task.waste_recorded", { n: task.quantity }) :
        t("step.committed") + " — " + t("task.committed", { n: Math.abs(outcome.data.quantity) }))));
    } else if (finished) {
      children.push(h("div", { class: "success", testid: "cancelled" }, t("task.cancelled")));
    } else {
      children.push(h("div", { class: "card", testid: "instruction" }, h("b", {}, instruction(task))));
      if (task.needs_blind_count) {
        children.push(h("p", {}, t("task.blind_count", { drawer: task.drawer + 1, pocket: task.pocket + 1 })),
          pinPad((v) => act("/api/task/count", { count: Number(v || "0") }), { mask: false, maxLength: 3, testid: "count-pad" }));
      }
      if (task.kind === "count" && ["released", "open", "settling", "awaiting_entry"].includes(task.step)) {
        children.push(h("p", {}, t("task.blind_count", { drawer: task.drawer + 1, pocket: task.pocket + 1 })),
          pinPad((v) => act("/api/task/count", { count: Number(v || "0") }), { mask: false, maxLength: 3, testid: "count-pad" }));
      }
      if (task.kind === "restock" && task.step === "prepared") {
        if (task.pack) {
          children.push(h("p", { testid: "pack" }, t("task.scanned_pack", task.pack)), h("p", {}, t("task.load_count")),
            pinPad((v) => act("/api/task/pack", { quantity: Number(v || "0") }), { mask: false, maxLength: 3, testid: "load-pad" }));
        } else {
          children.push(h("p", { testid: "scan-pack" }, t("task.scan_pack")));
        }
      }
      if (task.kind === "waste" && task.needs_witness) {
        children.push(witnessBox(() => reload()));
      }
      const canGo = GO_STEPS.includes(task.step) || (task.kind === "waste" && !task.needs_witness);
      if (canGo) {
        go.textContent = task.kind === "waste" ? t("waste.confirm") : t("task.open_drawer", { drawer: (task.drawer ?? 0) + 1 });
        go.onclick = () => act("/api/task/confirm");
        children.push(h("div", { class: "row" }, go));
      }
      if (MOVING_STEPS.includes(task.step)) {
        children.push(h("p", { class: "muted" }, t("task.weight_confirms")));
      }
    }
    if (task.kind !== "waste") children.push(drawerGrid(task.layout, task.pocket, []));
    children.push(h("div", { class: "row", style: "margin-top:12px" },
      finished ? h("button", { class: "primary", testid: "task-done", onclick: () => show(homeScreen()) }, t("task.done")) :
        h("button", { class: "danger", testid: "task-cancel", onclick: () => act("/api/task/cancel") }, t("task.cancel"))));
    fill(main, ...children.filter((c) => c));
  };
  draw();
};

// Discrepancies: shown to the user at the cabinet; a pharmacist resolves each with a reason.
SCREENS.resolve = async (main, arg) => {
  const items = arg.items;
  const mine = K.screenSeq;
  let reason = null, witness = null, error = null;
  const done = new Set();
  const canResolve = hasRole("pharmacist");
  const controlled = items.some((d) => d.controlled);
  const resolveOne = async (d) => {
    try {
      await api("POST", "/api/discrepancies/" + d.discrepancy_id + "/resolve", { reason });
      done.add(d.discrepancy_id); error = null;
    } catch (e) { error = e; }
    draw();
  };
  const draw = () => {
    if (K.screenSeq !== mine) return;
    fill(main,
      h("h1", { testid: "discrepancy" }, "⚠ " + t("disc.title")),
      items.map((d) => h("div", { class: "error", testid: "disc-" + d.discrepancy_id },
        h("div", { testid: "disc-cause" }, t("disc.cause." + d.cause)),
        h("div", { class: "muted" }, t("disc.detail", { drawer: d.drawer + 1, pocket: d.pocket + 1,
          expected: Math.abs(d.expected), counted: Math.abs(d.counted) })),
        done.has(d.discrepancy_id) ? h("div", { testid: "resolved" }, "✔ " + t("disc.resolved")) :
          canResolve ? h("button", { class: "primary", testid: "disc-resolve-" + d.discrepancy_id,
            disabled: !reason || (d.controlled && !witness), onclick: () => resolveOne(d) }, t("disc.resolve")) : null)),
      error ? errorBox(error) : null,
      canResolve ? h("div", {}, h("h2", {}, t("disc.reason")),
        h("div", { class: "row" }, DISC_REASONS.map((r) => h("button", { class: reason === r ? "selected" : "",
          testid: "disc-reason-" + r, onclick: () => { reason = r; draw(); } }, t("disc.reason." + r)))),
        controlled ? (witness ? h("div", { class: "card" }, t("waste.witness_ok", { name: witness.name })) :
          h("div", {}, h("p", {}, t("disc.witness")), witnessBox((w) => { witness = w; draw(); }))) : null) :
        h("div", { class: "card", testid: "disc-recorded" }, t("disc.recorded")),
      arg.layout ? drawerGrid(arg.layout, null, items.filter((d) => d.drawer === arg.layout.drawer).map((d) => d.pocket)) : null,
      h("div", { class: "row", style: "margin-top:12px" },
        h("button", { testid: "disc-later", onclick: () => show(homeScreen()) }, t("common.back"))));
  };
  draw();
};
