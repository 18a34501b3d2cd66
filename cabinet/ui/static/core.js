// Kiosk core: DOM helper, translated texts, the local API client, on-screen pad and keyboard.
"use strict";

const SCREENS = {};  // screen id -> render(main, arg), filled by screens.js and task.js

const K = {
  lang: "fr",
  texts: {},
  state: { me: null, kiosk: null, status: null },
};

// Build an element: h("div", {class: "card", onclick: f}, child, "text", ...).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "testid") el.setAttribute("data-testid", value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Replace an element's children, skipping the empty ones (a condition that did not hold).
function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
}

// A translated text with {placeholders}; an unknown key shows itself rather than nothing.
function t(key, params) {
  let text = K.texts[key] || key;
  for (const [name, value] of Object.entries(params || {})) {
    text = text.split("{" + name + "}").join(String(value));
  }
  return text;
}

async function loadTexts(lang) {
  const response = await fetch("/static/i18n/" + lang + ".json");
  K.texts = await response.json();
  K.lang = lang;
  document.documentElement.lang = lang;
}

// Drug names keep their tall-man capitals. In a word that mixes cases (hydrOXYzine), the run of
// capitals is what tells it from its look-alike: it is drawn bold. All-capital words stay plain.
function drugName(name) {
  const span = h("span", { class: "drug" });
  String(name).split(/(\s+)/).forEach((word) => {
    if (!/\p{Ll}/u.test(word) || !/\p{Lu}{2,}/u.test(word)) { span.append(word); return; }
    for (const part of word.split(/(\p{Lu}{2,})/u)) {
      if (!part) continue;
      span.append(/^\p{Lu}{2,}$/u.test(part) ? h("b", { class: "tall" }, part) : part);
    }
  });
  return span;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || ("HTTP " + status));
    this.status = status;
    this.body = body || {};
  }
}

// Every call goes to our own cabinet; a 401 means the workflow session ended: back to sign-in.
async function api(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  const text = await response.text();
  if (text) { try { data = JSON.parse(text); } catch (e) { data = { message: text }; } }
  const code = data && data.detail && data.detail.code;
  if (response.status === 401 && (code === "session_ended" || code === "not_signed_in") && K.onSignedOut) {
    K.onSignedOut();
  }
  if (!response.ok) throw new ApiError(response.status, data && (data.detail || data));
  return data;
}

// The on-screen numeric pad: no keyboard on the cabinet.
function pinPad(onDone, opts) {
  const o = Object.assign({ mask: true, maxLength: 8, okLabel: t("pad.ok"), testid: "pinpad" }, opts);
  let value = "";
  const display = h("div", { class: "pin-dots", testid: o.testid + "-display" });
  const show = () => { display.textContent = o.mask ? "•".repeat(value.length) : value; };
  const press = (d) => { if (value.length < o.maxLength) { value += d; show(); } };
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9"].map(
    (d) => h("button", { onclick: () => press(d), testid: o.testid + "-" + d }, d));
  const clear = h("button", { class: "danger", onclick: () => { value = ""; show(); },
    testid: o.testid + "-clear", "aria-label": t("pad.clear") }, "⌫");
  const zero = h("button", { onclick: () => press("0"), testid: o.testid + "-0" }, "0");
  const ok = h("button", { class: "primary", testid: o.testid + "-ok",
    onclick: () => { const v = value; value = ""; show(); onDone(v); } }, o.okLabel);
  show();
  return h("div", {}, display, h("div", { class: "pad" }, keys, clear, zero, ok));
}

// The on-screen letter keyboard, for the override search and the prescriber's name.
function keyboard(onChange, opts) {
  const o = Object.assign({ testid: "kbd", initial: "" }, opts);
  let value = o.initial;
  const field = h("div", { class: "field", testid: o.testid + "-field" }, value);
  const set = (v) => { value = v; field.textContent = value; onChange(value); };
  const rows = ["AZERTYUIOP", "QSDFGHJKLM", "WXCVBN-'"].map((row) => h("div", { class: "krow" },
    [...row].map((c) => h("button", { onclick: () => set(value + c), testid: o.testid + "-" + c }, c))));
  const last = h("div", { class: "krow" },
    h("button", { style: "min-width:280px", onclick: () => set(value + " "), testid: o.testid + "-space" },
      t("kbd.space")),
    h("button", { class: "danger", onclick: () => set(value.slice(0, -1)), testid: o.testid + "-back" }, "⌫"),
    h("button", { class: "danger", onclick: () => set(""), testid: o.testid + "-clear" }, t("kbd.clear")));
  return h("div", { class: "keyboard" }, field, rows, last);
}

function errorBox(error) {
  const body = (error && error.body) || {};
  return h("div", { class: "error", testid: "error" }, body.message || String(error.message || error));
}

// How long ago, from the cabinet's own count of seconds (the browser's clock may differ).
function since(seconds, readAt) {
  if (seconds === null || seconds === undefined) return t("time.never");
  seconds = Math.round(seconds + (readAt ? (Date.now() - readAt) / 1000 : 0));
  if (seconds < 90) return t("time.seconds", { n: seconds });
  if (seconds < 5400) return t("time.minutes", { n: Math.round(seconds / 60) });
  return t("time.hours", { n: Math.round(seconds / 3600) });
}

function time(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString(K.lang, { hour: "2-digit", minute: "2-digit" });
}
