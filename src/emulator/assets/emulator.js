// keitai-gateway phone emulator. Talks only to /emulator/* on this gateway: the gateway builds
// each request as the chosen handset would and answers with the page and what it saw.
"use strict";

// The bank's prefix on a gateway of several banks (/1020/emulator/ -> "/1020"), else "".
const BASE = location.pathname.replace(/\/emulator(\/.*)?$/, "");

const $ = (id) => document.getElementById(id);
const state = {
  handsets: [],
  handset: null,
  jars: {},       // handset id -> [[name, value]]: only what the handset itself keeps
  history: [],    // answers shown, for the back key
  current: null,  // {target, answer}
  lastFocus: null,
};

// Input modes as each attribute names them (carriers' docs).
const ISTYLE = { "1": "かな", "2": "カナ", "3": "英字", "4": "数字" };
const MODE = { hiragana: "かな", katakana: "カナ", hankakukana: "カナ", alphabet: "英字", numeric: "数字" };
function formatMode(f) {
  const c = (f || "").replace(/^[*0-9]+/, "").charAt(0);
  return { N: "数字", n: "数字", X: "英字", x: "英字", A: "英字", a: "英字", M: "かな", m: "かな" }[c];
}
function inputMode(el) {
  const attr = state.handset.input_attr;
  const istyle = ISTYLE[el.getAttribute("istyle")];
  const format = formatMode(el.getAttribute("format"));
  const mode = MODE[el.getAttribute("mode")];
  if (attr === "istyle") return istyle;
  if (attr === "format") return format;
  if (attr === "mode") return mode;
  if (attr === "all") return istyle || format || mode;
  return undefined;
}

// Keypad pictograms drawn from the carrier's own code (the gateway sends its table).
const COLORS = { docomo: ["#fff", "#d4002a", "#d4002a"], au: ["#f07800", "#f07800", "#fff"], softbank: ["#1d5fbf", "#1d5fbf", "#fff"] };
function pictogram(p) {
  const [fill, stroke, ink] = COLORS[state.handset.carrier] || ["#fff", "#444", "#444"];
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("class", "picto");
  svg.setAttribute("data-code", p.code);
  const title = document.createElementNS(ns, "title");
  title.textContent = `${state.handset.carrier} ${p.code} U+${p.char.codePointAt(0).toString(16).toUpperCase()} [${p.key}]`;
  const rect = document.createElementNS(ns, "rect");
  for (const [k, v] of Object.entries({ x: 1, y: 1, width: 14, height: 14, rx: 3, fill, stroke, "stroke-width": 1.5 })) rect.setAttribute(k, v);
  const text = document.createElementNS(ns, "text");
  for (const [k, v] of Object.entries({ x: 8, y: 12.5, "text-anchor": "middle", "font-size": 11, "font-weight": "bold", "font-family": "sans-serif", fill: ink })) text.setAttribute(k, v);
  text.textContent = p.key;
  svg.append(title, rect, text);
  return svg;
}

function textWithPictograms(text, out) {
  const table = {};
  for (const p of state.handset.pictograms) table[p.char] = p;
  let run = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    if (table[ch]) {
      if (run) out.append(run);
      run = "";
      out.append(pictogram(table[ch]));
    } else if (cp >= 0xe000 && cp <= 0xf8ff) {
      // A private-use character that is not this carrier's pictogram: the handset shows garbage.
      if (run) out.append(run);
      run = "";
      const s = document.createElement("span");
      s.className = "pua";
      s.title = "U+" + cp.toString(16).toUpperCase() + ": not a pictogram of this carrier";
      s.textContent = "〓";
      out.append(s);
    } else {
      run += ch;
    }
  }
  if (run) out.append(run);
}

// Renders the page's cHTML as the handset would: only what cHTML has, nothing executed.
function renderPage(html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  $("title").textContent = doc.title || "";
  const screen = $("screen");
  screen.replaceChildren();
  state.forms = [];
  walk(doc.body, screen, null);
  screen.scrollTop = 0;
  // The cursor starts above the first item, as on a phone: keys are accesskeys until a field
  // is picked (arrow keys, or a click).
  state.lastFocus = null;
  screen.focus({ preventScroll: true });
}

function walk(node, out, form) {
  for (const n of node.childNodes) {
    if (n.nodeType === Node.TEXT_NODE) {
      textWithPictograms(n.textContent.replace(/\s+/g, " "), out);
      continue;
    }
    if (n.nodeType !== Node.ELEMENT_NODE) continue;
    const tag = n.tagName.toLowerCase();
    if (tag === "br" || tag === "hr") {
      out.append(document.createElement(tag));
    } else if (tag === "a") {
      const a = document.createElement("a");
      const href = n.getAttribute("href") || "";
      a.dataset.href = href;
      a.tabIndex = 0;
      const key = state.handset.accesskeys ? n.getAttribute("accesskey") : null;
      if (key) a.dataset.accesskey = key;
      a.addEventListener("click", (e) => { e.preventDefault(); follow(href); });
      walk(n, a, form);
      out.append(a);
    } else if (tag === "form") {
      const f = { action: n.getAttribute("action") || state.current.target, method: (n.getAttribute("method") || "get").toUpperCase(), el: document.createElement("div") };
      f.el.className = "form";
      f.el.formRef = f;
      state.forms.push(f);
      walk(n, f.el, f);
      out.append(f.el);
    } else if (tag === "input") {
      out.append(...input(n, form));
    } else if (tag === "select") {
      const s = document.createElement("select");
      s.name = n.getAttribute("name") || "";
      for (const o of n.querySelectorAll("option")) {
        const opt = document.createElement("option");
        opt.value = o.getAttribute("value") ?? o.textContent;
        opt.textContent = o.textContent;
        opt.selected = o.hasAttribute("selected");
        s.append(opt);
      }
      s.formRef = form;
      out.append(s);
    } else if (tag === "textarea") {
      const t = document.createElement("textarea");
      t.name = n.getAttribute("name") || "";
      t.value = n.textContent;
      t.formRef = form;
      out.append(t);
    } else if (["script", "style", "head", "title", "meta"].includes(tag)) {
      // Not shown (the cHTML check reports script and style).
    } else {
      const block = ["p", "div", "center", "h1", "h2", "h3", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "pre"].includes(tag);
      const el = document.createElement(block ? "div" : "span");
      if (tag === "center") el.style.textAlign = "center";
      walk(n, el, form);
      out.append(el);
    }
  }
}

function input(n, form) {
  const type = (n.getAttribute("type") || "text").toLowerCase();
  const name = n.getAttribute("name") || "";
  const value = n.getAttribute("value") || "";
  if (type === "hidden") {
    if (form) (form.hidden = form.hidden || []).push([name, value]);
    return [];
  }
  const el = document.createElement("input");
  el.type = type;
  el.name = name;
  el.value = value;
  el.formRef = form;
  if (type === "submit") {
    el.value = value || "送信";
    el.addEventListener("click", (e) => { e.preventDefault(); submit(form, el); });
    return [el];
  }
  if (type === "radio" || type === "checkbox") {
    el.checked = n.hasAttribute("checked");
    if (type === "radio") el.name = "r-" + state.forms.length + "-" + name;
    el.dataset.field = name;
    return [el];
  }
  const size = parseInt(n.getAttribute("size") || "10", 10);
  el.style.width = Math.min(size, 30) + "ch";
  const max = n.getAttribute("maxlength");
  if (max) el.maxLength = parseInt(max, 10);
  el.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); submit(form, null); }
  });
  const mode = inputMode(n);
  const badge = document.createElement("span");
  badge.className = "mode";
  badge.textContent = mode || "—";
  badge.title = mode ? "input mode the handset opens" : "no input-mode attribute this handset reads: it opens its default mode";
  el.dataset.mode = mode || "";
  return [badge, el];
}

function focusables() {
  return [...$("screen").querySelectorAll("a, input, select, textarea")];
}

function moveFocus(step) {
  const list = focusables();
  if (!list.length) return;
  const at = list.indexOf(document.activeElement);
  const from = at >= 0 ? at : list.indexOf(state.lastFocus);
  const next = list[Math.max(0, Math.min(list.length - 1, from + step))];
  next.focus();
  next.scrollIntoView({ block: "nearest" });
}

function formFields(form, button) {
  const fields = [...(form.hidden || [])];
  for (const el of form.el.querySelectorAll("input, select, textarea")) {
    if (el.type === "submit") continue;
    if (el.type === "radio" || el.type === "checkbox") {
      if (el.checked) fields.push([el.dataset.field, el.value || "on"]);
      continue;
    }
    if (el.name) fields.push([el.name, el.value]);
  }
  if (button && button.name) fields.push([button.name, button.value]);
  return fields;
}

function submit(form, button) {
  if (!form) return;
  send(form.method === "POST" ? "POST" : "GET", form.action, formFields(form, button));
}

function follow(href) {
  if (href.startsWith("tel:")) {
    note("発信: " + href.slice(4) + " (エミュレータは発信しません)");
    return;
  }
  if (!href.startsWith("/") || href.startsWith("//")) {
    note("外部リンク " + href + " : エミュレータはこのゲートウェイのページだけを開きます");
    return;
  }
  send("GET", href, []);
}

function note(text) {
  $("note").textContent = text;
}

async function send(method, target, fields) {
  const h = state.handset;
  const ask = {
    handset: h.id,
    method,
    target,
    fields,
    cookies: state.jars[h.id] || [],
    subscriber: $("subscriber").checked,
    referer: state.current ? state.current.target : null,
  };
  let res, answer;
  try {
    res = await fetch(BASE + "/emulator/send", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(ask) });
    answer = await res.json();
  } catch (e) {
    note("ゲートウェイに接続できません (" + e + ")");
    return;
  }
  if (!res.ok) {
    note(answer.error || "error " + res.status);
    return;
  }
  note("");
  state.jars[h.id] = answer.cookies.jar;
  if (state.current) state.history.push(state.current);
  show({ target, answer });
}

function show(entry) {
  state.current = entry;
  const a = entry.answer;
  $("url").value = entry.target;
  renderPage(a.page);
  const r = a.request;
  const form = r.form.length ? "\n\nform (Shift_JIS, decoded):\n" + r.form.map(([k, v]) => `  ${k} = ${v}`).join("\n") + "\n\nbody: " + r.body : "";
  $("request").textContent = `${r.method} ${r.url}\n` + r.headers.map(([k, v]) => `${k}: ${v}`).join("\n") + form;
  $("status").textContent = "HTTP " + a.status + (a.logged_status ? ` (logged as ${a.logged_status})` : "");
  $("response-headers").textContent = a.headers.map(([k, v]) => `${k}: ${v}`).join("\n");
  const pct = Math.min(100, (100 * a.bytes) / a.budget);
  $("budget").textContent = `${a.bytes} / ${a.budget} bytes` + (a.over_budget ? " — 予算超過 (over budget)" : "");
  $("budget").className = a.over_budget ? "over" : "";
  $("budget-bar").style.width = pct + "%";
  $("budget-bar").className = a.over_budget ? "over-bar" : "";
  const rides = (s) => (s ? `${s.id} (${s.rides === "cookie" ? "Cookie" : "URL / form"})` : "なし");
  $("session").textContent = `送信: ${rides(a.sent_session)}\n受信: ${rides(a.session)}`;
  $("session").dataset.rides = a.session ? a.session.rides : "";
  $("chtml").replaceChildren();
  const verdict = document.createElement("span");
  verdict.className = a.chtml.ok ? "ok" : "ng";
  verdict.textContent = a.chtml.ok ? "OK" : "NG: " + a.chtml.problems.join(", ");
  $("chtml").append(verdict);
  showJar(a.cookies.dropped);
}

function showJar(dropped) {
  const h = state.handset;
  const jar = state.jars[h.id] || [];
  let text = jar.length ? jar.map(([k, v]) => `${k}=${v}`).join("; ") : "(なし)";
  if (!h.cookies) text += " — この端末はCookieを保持しません" + (dropped ? " (Set-Cookie を破棄)" : "");
  $("jar").textContent = text;
  $("jar").dataset.count = jar.length;
}

function back() {
  const prev = state.history.pop();
  if (prev) {
    // Phones show the page they kept; nothing is sent.
    state.current = null;
    show(prev);
  }
}

function softSubmit() {
  const el = document.activeElement && $("screen").contains(document.activeElement) ? document.activeElement : state.lastFocus;
  if (!el) {
    if (state.forms[0]) submit(state.forms[0], null);
    return;
  }
  if (el.tagName === "A") el.click();
  else if (el.type === "submit") el.click();
  else if (el.type === "radio" || el.type === "checkbox") el.click();
  else if (el.formRef) submit(el.formRef, null);
}

function editing() {
  const el = document.activeElement;
  return el && $("screen").contains(el) && (el.type === "text" || el.type === "password" || el.tagName === "TEXTAREA");
}

function press(key) {
  if (editing()) {
    const el = document.activeElement;
    if (!el.maxLength || el.maxLength < 0 || el.value.length < el.maxLength) el.value += key;
    return;
  }
  const link = $("screen").querySelector(`a[data-accesskey="${CSS.escape(key)}"]`);
  if (link) link.click();
}

function selectHandset(id) {
  state.handset = state.handsets.find((h) => h.id === id);
  const h = state.handset;
  state.history = [];
  state.current = null;
  $("screen-frame").style.width = h.width_chars + "em";
  $("carrier-mark").textContent = { docomo: "i", au: "EZ", softbank: "Y!", willcom: "W" }[h.carrier] || "";
  const info = {
    "User-Agent": h.user_agent,
    "キャリア / 世代": `${h.carrier} / ${h.generation}`,
    "Cookie": h.cookies ? "保持する" : "保持しない",
    "ページ予算": h.budget_bytes + " bytes",
    "画面幅": "W" + h.width_chars,
    "入力モード属性": h.input_attr,
    "固有ID": h.subscriber_header || "なし",
    "Referer": h.referer ? "送る" : "送らない",
  };
  $("handset-info").replaceChildren(...Object.entries(info).flatMap(([k, v]) => {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    return [dt, dd];
  }));
  showJar(null);
  send("GET", BASE + "/", []);
}

function buildKeypad() {
  const sub = { "1": "", "2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS", "8": "TUV", "9": "WXYZ", "*": "", "0": "", "#": "" };
  for (const k of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "key";
    b.dataset.key = k;
    b.append(k);
    const s = document.createElement("small");
    s.textContent = sub[k] || "\u00a0";
    b.append(s);
    // Keep the screen's focus: a key press acts on the focused field, as on a phone.
    b.addEventListener("mousedown", (e) => e.preventDefault());
    b.addEventListener("click", () => press(k));
    $("keypad").append(b);
  }
}

async function tokenTick() {
  const serial = $("token-serial").value;
  if (!serial) return;
  const res = await fetch(BASE + "/emulator/token?serial=" + encodeURIComponent(serial));
  if (!res.ok) return;
  const t = await res.json();
  if (t.serial !== $("token-serial").value) return; // picked another meanwhile
  $("token-code").textContent = t.code;
  $("token-code").dataset.serial = t.serial;
  $("token-left").textContent = t.seconds_left;
}

async function init() {
  buildKeypad();
  for (const id of ["soft-back", "soft-up", "soft-down", "soft-submit"]) {
    $(id).addEventListener("mousedown", (e) => e.preventDefault());
  }
  $("soft-back").addEventListener("click", back);
  $("soft-submit").addEventListener("click", softSubmit);
  $("soft-up").addEventListener("click", () => moveFocus(-1));
  $("soft-down").addEventListener("click", () => moveFocus(1));
  $("screen").addEventListener("focusin", (e) => { state.lastFocus = e.target; });
  $("urlbar").addEventListener("submit", (e) => { e.preventDefault(); follow($("url").value); });
  document.addEventListener("keydown", (e) => {
    if (e.target.closest && e.target.closest("header, .inspector")) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      moveFocus(e.key === "ArrowDown" ? 1 : -1);
    } else if (e.key === "Enter" && document.activeElement.tagName === "A" && $("screen").contains(document.activeElement)) {
      e.preventDefault();
      document.activeElement.click();
    } else if (!editing() && /^[0-9*#]$/.test(e.key)) {
      e.preventDefault();
      press(e.key);
    } else if (!editing() && e.key === "Backspace") {
      e.preventDefault();
      back();
    }
  });
  state.handsets = await (await fetch(BASE + "/emulator/handsets")).json();
  for (const h of state.handsets) {
    const o = document.createElement("option");
    o.value = h.id;
    o.textContent = h.label;
    $("handset").append(o);
  }
  $("handset").addEventListener("change", () => selectHandset($("handset").value));
  const tokens = await (await fetch(BASE + "/emulator/token")).json();
  for (const s of tokens.serials || []) {
    const o = document.createElement("option");
    o.value = o.textContent = s;
    $("token-serial").append(o);
  }
  $("token-serial").addEventListener("change", () => {
    $("token-code").textContent = "------";
    $("token-code").dataset.serial = "";
    tokenTick();
  });
  setInterval(tokenTick, 1000);
  tokenTick();
  selectHandset(state.handsets[0].id);
  document.body.dataset.ready = "1";
}

init();
