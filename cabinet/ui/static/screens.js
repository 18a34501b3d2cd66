// Kiosk screens: sign-in, patients, orders, override, waste, return, restock, count, lists.
"use strict";

// The order's warnings as the workflow names them: allergy:X, high_alert, controlled, lookalike:G.
function flagPills(o) {
  const warnings = o.warnings || [];
  const allergies = warnings.filter((w) => w.startsWith("allergy:")).map((w) => w.slice(8));
  return [
    allergies.length ? h("span", { class: "pill allergy", testid: "allergy-" + o.order_id },
      "⚠ " + t("flag.allergy_match", { allergy: allergies.join(", ") })) : null,
    o.controlled || warnings.includes("controlled") ? h("span", { class: "pill controlled" }, t("flag.controlled")) : null,
    o.high_alert || warnings.includes("high_alert") ? h("span", { class: "pill high_alert" }, t("flag.high_alert")) : null,
    warnings.some((w) => w.startsWith("lookalike")) ? h("span", { class: "pill lookalike" }, t("flag.lookalike")) : null,
  ];
}

// Sign-in: the badge arrives through the barcode reader; the PIN through the on-screen pad.
SCREENS.signin = async (main) => {
  let pending = null;
  let message = null;
  let last = null;
  const key = () => JSON.stringify([(K.state.kiosk || {}).pending_badge || null, (K.state.kiosk || {}).notice || null]);
  const mine = K.screenSeq;  // a screen shown again later must not be drawn over by this one
  const draw = () => {
    if (K.screenSeq !== mine) return;
    const kiosk = K.state.kiosk || {};
    last = key();  // what is drawn now: the poll redraws only when this changes
    pending = kiosk.pending_badge || null;
    const left = pending ?
      h("div", { class: "prompt" }, h("div", { testid: "hello" }, t("signin.hello", { name: pending.name })),
        h("div", { class: "muted" }, t("signin.pin")),
        h("button", { class: "danger", testid: "signin-cancel", onclick: async () => {
          await api("POST", "/api/signin/cancel").catch(() => {}); await refreshKiosk(); draw(); } },
          t("signin.cancel"))) :
      h("div", { class: "prompt" }, h("div", { class: "badge-card", "aria-hidden": "true" }),
        h("div", { testid: "scan-prompt" }, t("signin.scan")));
    const pad = pinPad(async (pin) => {
      try {
        const me = await api("POST", "/api/signin", { pin });
        message = null;
        await signedIn(me);
      } catch (error) {
        message = error;
        await refreshKiosk();
        draw();
      }
    });
    const notice = !pending && kiosk.notice ? h("div", { class: "error", testid: "error" }, kiosk.notice) : null;
    fill(main, h("div", { class: "signin", testid: "signin" }, left,
      h("div", {}, message ? errorBox(message) : notice, pending ? pad : null)));
  };
  draw();
  const timer = setInterval(async () => {
    if (K.screenSeq !== mine) { clearInterval(timer); return; }
    await refreshKiosk();
    const now = key();
    if (now !== last) {
      last = now;
      // A refusal stays on screen until someone scans a badge again.
      if ((K.state.kiosk || {}).pending_badge) message = null;
      draw();
    }
  }, 500);
};

SCREENS.patients = async (main) => {
  const rows = await api("GET", "/api/patients");
  fill(main, h("h1", {}, t("patients.title")),
    rows.length ? h("div", { class: "list", testid: "patients" }, rows.map((p) =>
      h("div", { class: "card clickable", testid: "patient-" + p.patient_id, onclick: () => show("patient", p.patient_id) },
        h("div", { class: "row" }, h("b", { class: "grow" }, p.name),
          p.overdue ? h("span", { class: "pill overdue" }, t("patients.overdue", { n: p.overdue })) : null,
          p.due ? h("span", { class: "pill due" }, t("patients.due", { n: p.due })) : null),
        h("div", { class: "muted" }, t("patients.room", { room: p.room || "", bed: p.bed || "" })),
        p.allergies.length ? h("div", {}, h("span", { class: "pill allergy" }, t("flag.allergy") + ": " + p.allergies.join(", "))) : null))) :
      h("p", {}, t("patients.none")));
};

SCREENS.patient = async (main, patientId) => {
  const data = await api("POST", "/api/patients/" + encodeURIComponent(patientId) + "/select");
  const p = data.patient;
  let refusal = null;
  const dispense = async (order) => {
    try {
      await api("POST", "/api/dispense", { patient_id: p.patient_id, order_id: order.order_id });
      await show("task");
    } catch (error) { refusal = error; draw(); }
  };
  const draw = () => fill(main, 
    h("div", { class: "row" }, h("button", { onclick: () => show("patients"), testid: "back" }, t("patient.back")),
      h("h1", { class: "grow", testid: "patient-name" }, p.name + " — " + t("patients.room", { room: p.room || "", bed: p.bed || "" })),
      hasRole("nurse", "pharmacist") ? h("button", { testid: "override", onclick: () => show("override", p.patient_id) }, t("patient.override")) : null),
    h("div", { class: "card" }, h("b", {}, t("patient.allergies") + " : "),
      p.allergies.length ? p.allergies.map((a) => h("span", { class: "pill allergy" }, a)) : h("span", { class: "muted" }, t("patient.no_allergy"))),
    refusal ? errorBox(refusal) : null,
    h("h2", {}, t("patient.orders")),
    data.orders.map((o) => h("div", { class: "card", testid: "order-" + o.order_id },
      h("div", { class: "row" },
        h("div", { class: "grow" }, drugName(o.item_name), " ", h("span", { class: "muted" }, o.strength + " " + o.form),
          h("div", {}, h("span", { class: "pill" }, t("order." + o.kind)), " ", t("order.dose", { dose: o.dose }),
            o.next_allowed_at ? " · " + t("order.next", { at: time(o.next_allowed_at) }) : "", " ", flagPills(o),
            o.overdue_at.length ? h("span", { class: "pill overdue", testid: "overdue-" + o.order_id },
              t("order.overdue", { at: o.overdue_at.map(time).join(", ") })) : null,
            o.due_at ? h("span", { class: "pill due", testid: "due-" + o.order_id }, t("order.due", { at: time(o.due_at) })) : null),
          o.dispensable ? null : h("div", { class: "muted", testid: "refusal-" + o.order_id }, o.refusal_text || "")),
        h("button", { class: "primary", disabled: !o.dispensable, testid: "dispense-" + o.order_id,
          onclick: () => dispense(o) }, t("order.dispense"))),
      )));
  draw();
};

SCREENS.override = async (main, patientId) => {
  const reasons = await api("GET", "/api/override/reasons");
  let query = "", matches = [], chosen = null, reason = null, prescriber = "", error = null, typing = "search";
  const search = async (q) => {
    query = q;
    if (q.replace(/\s/g, "").length < 5) { matches = []; draw(); return; }
    try { matches = await api("GET", "/api/override/items?q=" + encodeURIComponent(q)); error = null; }
    catch (e) { matches = []; error = e; }
    draw();
  };
  const submit = async () => {
    try {
      await api("POST", "/api/override", { patient_id: patientId, item_code: chosen.item_code,
        reason, prescriber });
      await show("task");
    } catch (e) { error = e; draw(); }
  };
  const draw = () => {
    const kb = typing === "search" ?
      keyboard(search, { initial: query, testid: "kbd" }) :
      keyboard((v) => { prescriber = v; drawButton(); }, { initial: prescriber, testid: "kbd" });
    const confirm = h("button", { class: "primary", testid: "override-confirm", onclick: submit,
      disabled: !(chosen && reason && prescriber.trim()) }, t("override.confirm"));
    const drawButton = () => { confirm.disabled = !(chosen && reason && prescriber.trim()); };
    fill(main, h("div", { class: "row" },
      h("button", { onclick: () => show("patient", patientId) }, t("common.back")),
      h("h1", { class: "grow" }, t("override.title"))),
      error ? errorBox(error) : null,
      h("div", { class: "row" },
        h("button", { class: typing === "search" ? "selected" : "", testid: "override-field-search",
          onclick: () => { typing = "search"; draw(); } }, t("override.search")),
        h("button", { class: typing === "prescriber" ? "selected" : "", testid: "override-field-prescriber",
          onclick: () => { typing = "prescriber"; draw(); } }, t("override.prescriber") + (prescriber ? " : " + prescriber : ""))),
      kb,
      h("div", { class: "row", testid: "override-matches" }, matches.map((m) =>
        h("button", { class: chosen && chosen.item_code === m.item_code ? "selected" : "", testid: "match-" + m.item_code,
          onclick: () => { chosen = m; draw(); } }, drugName(m.name), " " + m.strength))),
      h("h2", {}, t("override.reason")),
      h("div", { class: "row" }, reasons.map((r) => h("button", { class: reason === r ? "selected" : "",
        testid: "reason-" + r, onclick: () => { reason = r; draw(); } }, t("override.reason." + r)))),
      h("div", { class: "row", style: "margin-top:12px" }, confirm));
  };
  draw();
};

// Witness sign-in on the same screen: the witness scans a badge (or touches their name),
// then types a PIN on the pad.
function witnessBox(onSigned) {
  const box = h("div", { class: "card", testid: "witness" });
  let witness = null, error = null, read = false, chosen = null, candidates = [];
  const pad = (userId) => pinPad(async (pin) => {
    try {
      witness = await api("POST", "/api/witness", userId ? { pin, user_id: userId } : { pin });
      error = null; draw(); onSigned(witness);
    } catch (e) { error = e; read = false; chosen = null; draw(); }
  }, { testid: "witness-pad" });
  const draw = () => fill(box,
    h("b", {}, witness ? t("waste.witness_ok", { name: witness.name }) : t("waste.witness")),
    error ? errorBox(error) : null,
    witness ? null : read ? h("div", {}, h("div", { testid: "witness-read" }, t("witness.read")), pad(null)) :
      chosen ? h("div", {}, h("div", { testid: "witness-read" }, t("signin.hello", { name: chosen.name })), pad(chosen.user_id)) :
        h("div", {}, h("p", { class: "muted" }, t("witness.or_name")),
          h("div", { class: "row" }, candidates.map((c) => h("button", { testid: "witness-" + c.user_id,
            onclick: () => { chosen = c; draw(); } }, c.name)))));
  const poll = async () => {
    try {
      const state = await api("GET", "/api/witness");
      const names = JSON.stringify(state.candidates);
      if (state.badge_read !== read || names !== JSON.stringify(candidates)) {
        read = state.badge_read; candidates = state.candidates; draw();
      }
    } catch (e) { return; }
  };
  const timer = setInterval(() => { if (witness || !box.isConnected) clearInterval(timer); else poll(); }, 400);
  draw();
  poll();
  return box;
}

SCREENS.waste = async (main) => {
  const items = await api("GET", "/api/waste/candidates");
  let chosen = null, quantity = 1, error = null;
  const draw = () => fill(main, h("h1", {}, t("waste.title")),
    error ? errorBox(error) : null,
    h("h2", {}, t("waste.item")),
    h("div", { class: "row" }, items.map((it) => h("button", { class: chosen && chosen.item_code === it.item_code ? "selected" : "",
      testid: "waste-item-" + it.item_code, onclick: () => { chosen = it; quantity = 1; draw(); } },
      drugName(it.name), " " + it.strength, it.controlled ? h("span", { class: "pill controlled" }, t("flag.controlled")) : null))),
    chosen ? h("div", {}, h("h2", {}, t("waste.quantity") + " : " + quantity),
      h("div", { class: "row" }, [1, 2, 3, 4].map((n) => h("button", { class: quantity === n ? "selected" : "",
        testid: "waste-qty-" + n, onclick: () => { quantity = n; draw(); } }, String(n)))),
      h("div", { class: "row", style: "margin-top:12px" }, h("button", { class: "primary", testid: "waste-start",
        onclick: async () => {
          try { await api("POST", "/api/waste", { item_code: chosen.item_code, quantity }); await show("task"); }
          catch (e) { error = e; draw(); }
        } }, t("waste.declare")))) : null);
  draw();
};

SCREENS.return = async (main) => {
  const items = await api("GET", "/api/return/candidates");
  let chosen = null, quantity = 1, error = null;
  const draw = () => fill(main, h("h1", {}, t("return.title")), h("p", { class: "muted" }, t("return.hint")),
    error ? errorBox(error) : null,
    h("div", { class: "row" }, items.map((it) => h("button", { class: chosen && chosen.item_code === it.item_code ? "selected" : "",
      testid: "return-item-" + it.item_code, onclick: () => { chosen = it; draw(); } }, drugName(it.name), " " + it.strength))),
    chosen ? h("div", {}, h("div", { class: "row" }, [1, 2, 3, 4].map((n) => h("button", { class: quantity === n ? "selected" : "",
      testid: "return-qty-" + n, onclick: () => { quantity = n; draw(); } }, String(n)))),
      h("button", { class: "primary", testid: "return-confirm", onclick: async () => {
        try { await api("POST", "/api/return", { item_code: chosen.item_code, quantity }); await show("task"); }
        catch (e) { error = e; draw(); }
      } }, t("return.confirm"))) : null);
  draw();
};

function pocketTable(rows, action, label, testPrefix) {
  return h("table", { testid: testPrefix + "-pockets" }, h("tbody", {}, rows.map((r) => h("tr", {},
    h("td", {}, t("common.drawer_pocket", { drawer: r.drawer + 1, pocket: r.pocket + 1 })),
    h("td", {}, r.item_name ? drugName(r.item_name) : "—", " ", h("span", { class: "muted" }, r.strength || "")),
    h("td", {}, r.quantity !== null && r.quantity !== undefined ? t("restock.stock", { q: r.quantity, max: r.max }) : "",
      r.below_par ? h("span", { class: "pill due" }, t("restock.below_par")) : null),
    h("td", {}, r.item_code ? h("button", { testid: testPrefix + "-" + r.drawer + "-" + r.pocket,
      onclick: () => action(r) }, label) : null)))));
}

SCREENS.restock = async (main) => {
  const rows = await api("GET", "/api/pockets");
  let error = null;
  const draw = () => fill(main, h("h1", {}, t("restock.title")), error ? errorBox(error) : null,
    pocketTable(rows, async (r) => {
      try { await api("POST", "/api/restock", { drawer: r.drawer, pocket: r.pocket }); await show("task"); }
      catch (e) { error = e; draw(); }
    }, t("restock.start"), "restock"));
  draw();
};

SCREENS.count = async (main) => {
  const rows = await api("GET", "/api/pockets");
  let error = null;
  const draw = () => fill(main, h("h1", {}, t("count.title")), error ? errorBox(error) : null,
    pocketTable(rows, async (r) => {
      try { await api("POST", "/api/count", { drawer: r.drawer, pocket: r.pocket }); await show("task"); }
      catch (e) { error = e; draw(); }
    }, t("count.start"), "count"));
  draw();
};

SCREENS.discrepancies = async (main) => {
  const rows = await api("GET", "/api/discrepancies");
  const open = rows.filter((d) => d.status === "open");
  fill(main, h("h1", {}, t("disc.open")),
    open.length ? open.map((d) => h("div", { class: "card", testid: "disc-" + d.discrepancy_id },
      h("div", { class: "row" }, h("div", { class: "grow" },
        h("b", {}, t("disc.cause." + d.cause)), " ", d.controlled ? h("span", { class: "pill controlled" }, t("flag.controlled")) : null,
        h("div", {}, t("disc.detail", { drawer: d.drawer + 1, pocket: d.pocket + 1, expected: d.expected, counted: d.counted })),
        h("div", { class: "muted" }, time(d.opened_at) + " · " + (d.opened_by || ""))),
        hasRole("pharmacist") ? h("button", { class: "primary", testid: "resolve-" + d.discrepancy_id,
          onclick: () => show("resolve", { items: [d] }) }, t("disc.resolve")) : null))) :
      h("p", { testid: "disc-none" }, t("disc.none")));
};

SCREENS.overrides = async (main) => {
  const rows = await api("GET", "/api/overrides/pending");
  fill(main, h("h1", {}, t("overrides.title")),
    rows.length ? rows.map((r) => h("div", { class: "card", testid: "review-" + r.seq },
      h("div", { class: "row" }, h("div", { class: "grow" }, drugName(r.item_name || r.item_code || ""),
        h("div", { class: "muted" }, t("overrides.detail", { actor: r.actor || "", patient: r.patient_id || "",
          prescriber: r.prescriber || "", reason: t("override.reason." + r.reason) })),
        h("div", {}, r.order_id ? t("overrides.linked", { order: r.order_id }) : t("overrides.no_order"))),
        h("button", { class: "primary", testid: "reviewed-" + r.seq, onclick: async () => {
          await api("POST", "/api/overrides/" + r.seq + "/review", { note: "" }); show("overrides"); } },
          t("overrides.reviewed"))))) : h("p", { testid: "reviews-none" }, t("overrides.none")));
};

SCREENS.alarms = async (main) => {
  const rows = await api("GET", "/api/alarms");
  const forced = rows.some((a) => /tamper|forced/.test(a.kind));
  fill(main, h("h1", {}, t("alarms.title")),
    forced && hasRole("pharmacist", "admin") ? h("button", { class: "danger primary", testid: "ack-tamper",
      onclick: async () => { await api("POST", "/api/alarms/acknowledge-tamper"); show("alarms"); } },
      t("alarms.ack_tamper")) : null,
    rows.length ? h("table", { testid: "alarms" }, h("tbody", {}, rows.map((a) => h("tr", {},
      h("td", {}, time(a.raised_at)), h("td", {}, h("span", { class: "pill " + (a.severity === "critical" ? "overdue" : "due") }, a.severity)),
      h("td", {}, a.kind), h("td", {}, a.message))))) : h("p", {}, t("alarms.none")));
};

SCREENS.status = async (main) => {
  const s = await api("GET", "/api/status");
  K.state.status = s;
  const kiosk = K.state.kiosk || {};
  const sync = kiosk.sync || {};
  const line = (label, value, testid) => h("tr", {}, h("th", {}, label), h("td", { testid }, value));
  fill(main, h("h1", {}, t("status.title")), h("table", {}, h("tbody", {},
    line(t("status.cabinet"), kiosk.cabinet_id || ""),
    line(t("status.unit"), kiosk.care_unit || ""),
    line(t("status.hardware"), s.hardware_ok ? t("status.ok") : t("status.fault"), "status-hardware"),
    line(t("status.online"), sync.online ? t("status.online") : t("status.offline"), "status-sync"),
    line(t("status.last_sync"), since(s.sync.seconds_since_sync)),
    line(t("status.outbox"), String(sync.outbox_depth ?? "—")),
    line(t("status.alarms"), String(s.open_alarms)),
    line(t("status.discrepancies"), String(s.open_discrepancies)))));
  renderBanners();
};
