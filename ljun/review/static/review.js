// The sheet page: decide each flagged item by keyboard, then save and go on.
// Data comes from <script type="application/json" id="sheet-data"> (no inline script: CSP).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("sheet-data").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const M = data.messages;
  const items = data.items;
  const decided = {};
  let index = 0;
  let saving = false;
  const SVG = "http://www.w3.org/2000/svg";
  const CROP_MAX_W = 430, CROP_MAX_H = 200, CROP_TALL_W = 260, CROP_TALL_H = 480, CROP_MAX_SCALE = 4;
  const current = document.getElementById("current");
  const keysLine = document.getElementById("keys");
  const message = document.getElementById("message");
  const list = document.getElementById("items");
  const saveButton = document.getElementById("save");
  const image = data.image;

  function centre(b) { return [data.centres[2 * b], data.centres[2 * b + 1]]; }

  // ---- the scan with the registered bubble grid drawn over it
  const marks = {};
  if (image && image.registered) {
    const scan = document.getElementById("scan");
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + image.width + " " + image.height);
    svg.setAttribute("class", "overlay");
    const flagged = new Set();
    items.forEach(function (it) { it.bubbles.forEach(function (b) { flagged.add(b); }); });
    for (let b = 0; b < data.radii.length; b++) {
      const c = document.createElementNS(SVG, "circle");
      const p = centre(b);
      c.setAttribute("cx", p[0]); c.setAttribute("cy", p[1]); c.setAttribute("r", data.radii[b]);
      c.setAttribute("class", flagged.has(b) ? "bubble flagged" : "bubble");
      svg.appendChild(c);
      marks[b] = c;
    }
    scan.appendChild(svg);
  }

  function show(value, item) {
    if (value === "") return M.value_blank;
    if (value === " ") return M.value_blank;
    if (value === "*") return M.value_multiple;
    if (value === "?") return M.value_unreadable;
    return value;
  }

  // ---- a page that could not be registered: click its four corner marks
  const clicks = [];
  const cornerMode = data.failed && image && !image.registered;
  function cornerPrompt() {
    if (!cornerMode) return;
    keysLine.textContent = clicks.length < data.corners.length
      ? M.corners_prompt.replace("{n}", clicks.length + 1).replace("{where}", data.corners[clicks.length])
      : M.corners_ready;
  }
  if (cornerMode) {
    const scan = document.getElementById("scan");
    const img = document.getElementById("scan-image");
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + image.width + " " + image.height);
    svg.setAttribute("class", "overlay");
    scan.appendChild(svg);
    img.classList.add("clickable");
    img.addEventListener("click", function (event) {
      if (clicks.length >= data.corners.length) return;
      const box = img.getBoundingClientRect();
      const x = (event.clientX - box.left) * image.width / box.width;
      const y = (event.clientY - box.top) * image.height / box.height;
      clicks.push([x, y]);
      const c = document.createElementNS(SVG, "circle");
      c.setAttribute("cx", x); c.setAttribute("cy", y); c.setAttribute("r", 12);
      c.setAttribute("class", "bubble current");
      svg.appendChild(c);
      if (document.activeElement) document.activeElement.blur();
      cornerPrompt();
    });
    document.addEventListener("keydown", function (event) {
      const inForm = event.target && event.target.closest && event.target.closest("form");
      if (inForm) return;
      if (event.key === "Backspace" && clicks.length) {
        clicks.pop(); svg.removeChild(svg.lastChild); cornerPrompt();
      } else if (event.key === "Enter" && clicks.length === data.corners.length && !saving) {
        saving = true;
        fetch(data.corners_url, {
          method: "POST",
          credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
          body: JSON.stringify({version: data.version, points: clicks}),
        }).then(function (response) {
          return response.json().then(function (body) { return [response.status, body]; });
        }).then(function (result) {
          if (result[0] === 200) { window.location.reload(); return; }
          saving = false;
          message.textContent = result[1].error || M.conflict;
        });
      }
    });
  }

  function bbox(bubbles, grow) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    bubbles.forEach(function (b) {
      const p = centre(b), r = data.radii[b] * grow;
      x0 = Math.min(x0, p[0] - r); y0 = Math.min(y0, p[1] - r);
      x1 = Math.max(x1, p[0] + r); y1 = Math.max(y1, p[1] + r);
    });
    return [x0, y0, x1, y1];
  }

  // A zoomed crop of the item's bubbles (CSS background of the one page image).
  // Identity columns show their neighbours and the written-in box above, the
  // item itself framed.
  function crop(item) {
    if (!image || !image.registered || !item.bubbles.length) return null;
    const own = bbox(item.bubbles, 1.5);
    let [x0, y0, x1, y1] = own;
    const pitch = data.radii[item.bubbles[0]] * 2.6;
    if (item.field !== "answers" && item.kind === "option") {
      x0 -= 2 * pitch; x1 += 2 * pitch; y0 -= 2.6 * pitch;
    } else if (item.field !== "answers") {
      y0 -= 2.6 * pitch;
    }
    x0 = Math.max(0, x0); y0 = Math.max(0, y0);
    x1 = Math.min(image.width, x1); y1 = Math.min(image.height, y1);
    const w = x1 - x0, h = y1 - y0;
    const tall = h > w;
    const s = Math.min(CROP_MAX_SCALE, (tall ? CROP_TALL_W : CROP_MAX_W) / w, (tall ? CROP_TALL_H : CROP_MAX_H) / h);
    const div = document.createElement("div");
    div.className = "crop";
    div.style.width = Math.round(w * s) + "px";
    div.style.height = Math.round(h * s) + "px";
    div.style.backgroundImage = 'url("' + image.url + '")';
    div.style.backgroundSize = Math.round(image.width * s) + "px " + Math.round(image.height * s) + "px";
    div.style.backgroundPosition = Math.round(-x0 * s) + "px " + Math.round(-y0 * s) + "px";
    if (item.kind === "option" && item.field !== "answers") {
      const frame = document.createElement("div");
      frame.className = "frame";
      frame.style.left = Math.round((own[0] - x0) * s) + "px";
      frame.style.top = Math.round((own[1] - y0) * s) + "px";
      frame.style.width = Math.round((own[2] - own[0]) * s) + "px";
      frame.style.height = Math.round((own[3] - own[1]) * s) + "px";
      div.appendChild(frame);
    }
    return div;
  }

  function valueOf(item) { return Object.prototype.hasOwnProperty.call(decided, item.key) ? decided[item.key] : null; }

  function renderList() {
    list.textContent = "";
    items.forEach(function (it, i) {
      const li = document.createElement("li");
      li.className = (i === index ? "current " : "") + (valueOf(it) !== null ? "done" : "");
      const v = valueOf(it);
      li.textContent = it.title + ": " + show(it.value) + (v !== null ? " → " + show(v) : "");
      list.appendChild(li);
    });
  }

  function highlight() {
    Object.keys(marks).forEach(function (b) { marks[b].classList.remove("current"); });
    const it = items[index];
    if (it) it.bubbles.forEach(function (b) { if (marks[b]) marks[b].classList.add("current"); });
  }

  function render() {
    current.textContent = "";
    message.textContent = "";
    renderList();
    highlight();
    if (index >= items.length) {
      keysLine.textContent = data.failed ? "" : M.keys_save;
      cornerPrompt();
      if (saveButton) saveButton.classList.add("ready");
      return;
    }
    if (saveButton) saveButton.classList.remove("ready");
    const it = items[index];
    const h = document.createElement("h2");
    h.textContent = it.title + " (" + (index + 1) + "/" + items.length + ")";
    current.appendChild(h);
    if (it.flags.length) {
      const f = document.createElement("p"); f.className = "why"; f.textContent = it.flags.join(" · ");
      current.appendChild(f);
    }
    const detail = document.createElement("div");
    detail.className = "detail";
    const c = crop(it);
    if (c) detail.appendChild(c);
    const side = document.createElement("div");
    detail.appendChild(side);
    current.appendChild(detail);
    const read = document.createElement("p");
    read.className = "reading";
    const v = valueOf(it);
    read.textContent = M.machine_read + ": " + show(it.value) + "  ·  " + M.decided + ": " + (v === null ? "—" : show(v));
    side.appendChild(read);
    if (it.kind === "option") {
      const grid = document.createElement("div");
      grid.className = "darkness" + (it.options.length > 6 ? " compact" : "");
      it.options.forEach(function (opt, k) {
        const b = it.bubbles[k];
        const cell = document.createElement("div");
        const chosen = (v === null ? it.value : v) === opt;
        cell.className = "option" + (chosen ? " chosen" : "");
        const label = document.createElement("b"); label.textContent = opt;
        const bar = document.createElement("span"); bar.className = "level";
        const level = parseFloat((data.darkness[b] || "0").replace(",", "."));
        bar.style.width = Math.max(0, Math.min(1, level)) * 80 + "px";
        const number = document.createElement("span"); number.textContent = data.darkness[b] || "";
        cell.appendChild(label); cell.appendChild(bar); cell.appendChild(number);
        grid.appendChild(cell);
      });
      side.appendChild(grid);
      keysLine.textContent = it.field === "answers" ? M.keys_option : M.keys_identity;
    } else {
      const input = document.createElement("input");
      input.id = "text-value";
      input.value = v === null ? it.value : v;
      input.autocomplete = "off";
      side.appendChild(input);
      input.focus();
      input.select();
      keysLine.textContent = M.keys_text;
    }
  }

  function acceptable(it, value) {
    if (it.field === "answers") return value === "" || value === "*" || it.options.indexOf(value) >= 0;
    if (value === " ") return it.letters;
    return it.options.indexOf(value) >= 0;
  }

  function next() {
    const it = items[index];
    if (!it) return;
    if (it.kind === "text") {
      decided[it.key] = document.getElementById("text-value").value;
    } else if (valueOf(it) === null) {
      if (!acceptable(it, it.value)) { message.textContent = M.error_missing; return; }
      decided[it.key] = it.value;
    }
    index += 1;
    render();
  }

  // "/" on an identity column: type the whole field instead (a column the
  // machine was sure of may be wrong too); it replaces the field's columns.
  function typeWhole(field) {
    const whole = data.fields[field];
    const first = items.findIndex(function (x) { return x.field === field; });
    const flags = [];
    for (let i = items.length - 1; i >= 0; i--) {
      if (items[i].field === field) { flags.unshift.apply(flags, items[i].flags); delete decided[items[i].key]; items.splice(i, 1); }
    }
    items.splice(first, 0, {key: field + ":0", field: field, item: 0, kind: "text", options: [],
      value: whole.value, letters: false, title: whole.title, flags: flags, bubbles: whole.bubbles});
    index = first;
    render();
  }

  function optionKey(it, key) {
    const upper = key.toUpperCase();
    if (it.options.indexOf(upper) >= 0) return upper;
    if (key === "*") return it.field === "answers" ? "*" : null;
    if (key === " ") return it.field === "answers" ? "" : (it.letters ? " " : null);
    if (key === "0" && it.field === "answers") return "";
    return null;
  }

  function save() {
    if (saving || data.failed) return;
    saving = true;
    message.textContent = "";
    fetch(data.decide_url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({version: data.version, decisions: decided}),
    }).then(function (response) {
      return response.json().then(function (body) { return [response.status, body]; });
    }).then(function (result) {
      const status = result[0], body = result[1];
      if (status === 200) {
        message.textContent = M.saved;
        window.location.assign(data.next_url);
        return;
      }
      saving = false;
      message.textContent = body.error || M.conflict;
      for (let i = 0; i < items.length; i++) {
        if (items[i].key === body.field || items[i].field === body.field) {
          delete decided[items[i].key]; index = i; render(); message.textContent = body.error; break;
        }
      }
    }).catch(function () { saving = false; message.textContent = M.conflict; });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    const target = event.target;
    const inForm = target && target.closest && target.closest("form");
    if (inForm) return;  // typing a reason: keys are the form's
    const it = items[index];
    if (event.key === "Escape") { window.location.assign(data.queue_url); return; }
    if (event.key === "Enter") {
      event.preventDefault();
      if (it) next(); else save();
      return;
    }
    if (event.key === "ArrowUp" || (event.key === "Backspace" && (!it || it.kind !== "text"))) {
      event.preventDefault();
      if (index > 0) { index -= 1; render(); }
      return;
    }
    if (!it || it.kind !== "option" || event.key.length !== 1) return;
    event.preventDefault();
    if (event.key === "/" && data.fields[it.field]) { typeWhole(it.field); return; }
    const value = optionKey(it, event.key);
    if (value === null) { message.textContent = M.error_option; return; }
    decided[it.key] = value;
    render();
  });

  if (saveButton) saveButton.addEventListener("click", function () {
    while (index < items.length) { const before = index; next(); if (index === before) return; }
    save();
  });
  render();
})();
