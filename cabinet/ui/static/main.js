// Kiosk shell: boot, header, banners, role tabs, the live event stream and the screen router.
"use strict";

const TABS = [
  { id: "patients", roles: ["nurse", "pharmacist"] },
  { id: "return", roles: ["nurse", "pharmacist"] },
  { id: "waste", roles: ["nurse", "pharmacist"] },
  { id: "count", roles: ["nurse", "pharmacist", "technician"] },
  { id: "restock", roles: ["technician", "pharmacist"] },
  { id: "overrides", roles: ["pharmacist"] },
  { id: "discrepancies", roles: ["nurse", "pharmacist", "technician", "auditor", "admin"] },
  { id: "alarms", roles: ["nurse", "pharmacist", "technician", "auditor", "admin"] },
  { id: "status", roles: ["nurse", "pharmacist", "technician", "auditor", "admin"] },
];

let current = { id: null, arg: null };
let stream = null;
let kioskTimer = null;

function hasRole(...roles) {
  const me = K.state.me;
  return !!me && me.roles.some((r) => roles.includes(r));
}

function renderBar() {
  const bar = document.getElementById("bar");
  const kiosk = K.state.kiosk || {};
  const me = K.state.me;
  fill(bar, ...[
    h("div", { class: "title" }, t("app.title") + " — " + (kiosk.care_unit || "") + " · " + (kiosk.cabinet_id || "")),
    me ? h("div", { class: "who", testid: "who" }, me.name + " (" + me.roles.map((r) => t("role." + r)).join(", ") + ")") : null,
    me ? h("button", { onclick: signOut, testid: "signout" }, t("signout")) : null,
  ].filter((el) => el));
}

function renderBanners() {
  const box = document.getElementById("banners");
  const kiosk = K.state.kiosk || {};
  const sync = kiosk.sync || {};
  const items = [];
  if (kiosk.degraded) {
    items.push(h("div", { class: "banner degraded", testid: "degraded-banner" },
      t("banner.degraded", { reason: kiosk.degraded_reason || "" })));
  }
  if (sync.known && !sync.online) {
    items.push(h("div", { class: "banner offline", testid: "offline-banner" },
      t("banner.offline", { since: since(sync.seconds_since_sync, kiosk.read_at) })));
  }
  const status = K.state.status;
  if (status && status.open_alarms > 0) {
    items.push(h("div", { class: "banner alarm", testid: "alarm-banner", onclick: () => show("alarms") },
      t("banner.alarms", { n: status.open_alarms })));
  }
  for (const omission of K.state.omissions || []) {
    items.push(h("div", { class: "banner alarm", testid: "omission-banner" },
      t("banner.omission", omission)));
  }
  fill(box, ...items);
}

function renderTabs() {
  const nav = document.getElementById("tabs");
  if (!K.state.me) { nav.hidden = true; return; }
  nav.hidden = false;
  fill(nav, ...TABS.filter((tab) => hasRole(...tab.roles)).map((tab) =>
    h("button", { class: current.id === tab.id ? "selected" : "", testid: "tab-" + tab.id,
      onclick: () => show(tab.id) }, t("tab." + tab.id))));
}

// Show one screen; an open task always wins, so that a nurse never loses the drawer she opened.
async function show(id, arg) {
  current = { id, arg };
  K.screenSeq = (K.screenSeq || 0) + 1;
  renderTabs();
  const main = document.getElementById("main");
  fill(main, h("p", { class: "muted" }, t("common.loading")));
  try {
    await SCREENS[id](main, arg);
  } catch (error) {
    if (error.status === 401) return;
    fill(main, errorBox(error));
  }
}

function homeScreen() {
  if (hasRole("nurse")) return "patients";
  if (hasRole("technician")) return "restock";
  if (hasRole("pharmacist")) return "discrepancies";
  return "status";
}

// Answers may come back out of order (a poll and a sign-in overlap): only the newest counts.
let kioskAsked = 0;
let kioskApplied = 0;

async function refreshKiosk() {
  const mine = ++kioskAsked;
  let fresh;
  try {
    fresh = await api("GET", "/api/kiosk");
    fresh.read_at = Date.now();
  } catch (error) {
    fresh = Object.assign({}, K.state.kiosk, { unreachable: true });
  }
  if (mine < kioskApplied) return K.state.kiosk;
  kioskApplied = mine;
  K.state.kiosk = fresh;
  if (K.state.kiosk.language && K.state.kiosk.language !== K.lang) await loadTexts(K.state.kiosk.language);
  renderBar();
  renderBanners();
  return K.state.kiosk;
}

async function refreshStatus() {
  if (!K.state.me) return;
  try { K.state.status = await api("GET", "/api/status"); } catch (error) { return; }
  renderBanners();
}

function openStream() {
  if (stream) stream.close();
  stream = new EventSource("/api/events");
  const onEvent = (event) => {
    const data = JSON.parse(event.data || "{}");
    if (K.onLive) K.onLive(event.type, data);
    if (event.type === "session" && !data.user_id) { K.onSignedOut(); return; }
    if (event.type === "omission") {
      K.state.omissions = (K.state.omissions || []).concat([data]).slice(-3);
    }
    if (["alarm", "discrepancy", "sync", "omission", "committed"].includes(event.type)) {
      refreshStatus();
      refreshKiosk();
    }
  };
  for (const kind of ["progress", "committed", "cancelled", "discrepancy", "resolved", "refused",
    "alarm", "omission", "session", "drawer", "weight", "scan", "sync"]) {
    stream.addEventListener(kind, onEvent);
  }
  stream.onerror = () => {
    // The browser reconnects by itself; a 401 on reconnection ends the session here.
    api("GET", "/api/me").catch(() => {});
  };
}

async function signedIn(me) {
  K.state.me = me;
  clearInterval(kioskTimer);
  kioskTimer = setInterval(refreshKiosk, 10000);
  renderBar();
  openStream();
  await refreshStatus();
  const task = await api("GET", "/api/task").catch(() => null);
  await show(task ? "task" : homeScreen());
}

async function signOut() {
  await api("POST", "/api/signout").catch(() => {});
  K.onSignedOut();
}

K.onSignedOut = () => {
  if (stream) { stream.close(); stream = null; }
  K.state.me = null;
  K.state.status = null;
  K.onLive = null;
  renderBar();
  renderTabs();
  show("signin");
};

async function boot() {
  await loadTexts("fr");
  await refreshKiosk();
  try {
    const me = await api("GET", "/api/me");
    await signedIn(me);
  } catch (error) {
    // A 401 has already shown the sign-in screen (K.onSignedOut): never show it twice.
    if (current.id !== "signin") await show("signin");
  }
  // The clock in the offline banner moves on even when nothing else happens.
  setInterval(renderBanners, 5000);
}

window.addEventListener("load", boot);
