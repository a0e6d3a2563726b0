// Every console page loads this file; the pages hold no inline script (the
// Content-Security-Policy allows only script files of ours).

// A form with data-confirm asks before it is sent (revoke a key, remove a provider, ...).
document.addEventListener("submit", function (event) {
  "use strict";
  var form = event.target;
  var question = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
  if (question && !window.confirm(question)) { event.preventDefault(); }
});

// The compose page's live preview: audience count, each channel's count, the SMS and its
// part counter, the email subject. One small fetch to /console/policies/preview, debounced.
(function () {
  "use strict";
  var form = document.getElementById("policy-form");
  if (!form) { return; }
  var partsWord = form.getAttribute("data-parts") || "";
  var timer = null;
  var sequence = 0;
  function set(id, value) {
    var node = document.getElementById(id);
    if (node) { node.textContent = value === null || value === undefined ? "–" : String(value); }
  }
  function show(data) {
    var error = document.getElementById("preview-error");
    if (!data.ok) {
      error.hidden = false;
      error.textContent = data.error;
      return;
    }
    error.hidden = true;
    set("audience-count", data.enterprises);
    (data.channels || []).forEach(function (c) { set("count-" + c, data.recipients[c]); });
    var sms = data.renderings.sms || {};
    set("sms-text", sms.text || sms.error || "");
    set("sms-length", sms.sms_length);
    set("sms-parts", sms.sms_parts === undefined || sms.sms_parts === null ? null : sms.sms_parts + " " + partsWord);
    // A large audience's bill is estimated from a sample of messages: shown as about (≈).
    set("sms-billed", (data.sms_billed_parts_estimated ? "≈ " : "") + data.sms_billed_parts);
    var email = data.renderings.email || {};
    set("email-subject", email.subject || "");
    set("email-text", email.text || email.error || "");
    var list = document.getElementById("warnings");
    list.textContent = "";
    (data.warnings || []).forEach(function (w) {
      var item = document.createElement("li");
      item.textContent = w;
      list.appendChild(item);
    });
    // The content rules' findings: a refusal (red) stops the publish, a warning (yellow) not.
    var found = document.getElementById("content-findings");
    if (found) {
      found.textContent = "";
      (data.content || []).forEach(function (f) {
        var item = document.createElement("li");
        item.className = f.refuses ? "bad" : "warn";
        item.textContent = f.text;
        found.appendChild(item);
      });
    }
  }
  function refresh() {
    var mine = ++sequence;
    fetch("/console/policies/preview", { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) { if (mine === sequence) { show(data); } })
      .catch(function () {});
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
  refresh();
})();

// The compose page's sector finder: a code chosen from the list joins the sectors field, so
// several can be chosen one after another (without script the finder is posted as it is).
(function () {
  "use strict";
  var search = document.getElementById("sector-search");
  var field = document.getElementById("sectors");
  var list = document.getElementById("sector-catalogue");
  if (!search || !field || !list) { return; }
  search.addEventListener("change", function () {
    var code = search.value.trim();
    if (!list.querySelector('option[value="' + code.replace(/"/g, "") + '"]')) { return; }
    var codes = field.value.split(/[,;，；、\s]+/).filter(function (c) { return c; });
    if (codes.indexOf(code) < 0) { codes.push(code); }
    field.value = codes.join(", ");
    search.value = "";
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();

// The campaign page's progress bar: the current run's done/total, rate and ETA, polled from
// /console/campaigns/{id}/progress every 2.5 s while the page is open.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) { return; }
  function set(id, value) {
    var node = document.getElementById(id);
    if (node) { node.textContent = value === null || value === undefined ? "–" : String(value); }
  }
  function poll() {
    fetch(box.getAttribute("data-url"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var run = data.current;
        var bar = document.getElementById("progress-bar");
        if (!run || !bar) { return; }
        bar.max = run.total || 1;
        bar.value = run.total - run.left;
        set("progress-done", run.total - run.left);
        set("progress-total", run.total);
        set("progress-rate", run.rate_per_minute);
        set("progress-eta", run.eta_seconds);
      })
      .catch(function () {});
  }
  setInterval(poll, 2500);
})();

// The campaign form's variable chips: a click inserts the variable at the cursor of the text
// field last focused (the SMS text by default). Without scripts the chips are a plain list.
(function () {
  "use strict";
  var form = document.getElementById("campaign-words");
  if (!form) { return; }
  var target = document.getElementById("template_sms");
  form.addEventListener("focusin", function (event) {
    if (event.target.classList && event.target.classList.contains("chip-target")) { target = event.target; }
  });
  form.addEventListener("click", function (event) {
    var chip = event.target.closest ? event.target.closest("button.chip") : null;
    if (!chip || !target) { return; }
    event.preventDefault();
    var text = chip.getAttribute("data-insert");
    var start = target.selectionStart || 0;
    var end = target.selectionEnd || start;
    target.value = target.value.slice(0, start) + text + target.value.slice(end);
    target.focus();
    target.selectionStart = target.selectionEnd = start + text.length;
  });
}());

// The campaign form's stored templates: choosing one fills its channel's editor (the form is
// sent with its "use" button; without scripts, press that button).
(function () {
  "use strict";
  var form = document.getElementById("campaign-words");
  if (!form) { return; }
  form.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.classList || !select.classList.contains("stored-choice") || !select.value) { return; }
    var button = document.getElementById(select.id.replace("stored_", "stored-") + "-use");
    if (button) { button.click(); }
  });
})();

// The campaign form's live preview: as the texts or the firm change, the form is previewed
// (action=preview, nothing stored) and the page's preview box replaced with the answer's.
(function () {
  "use strict";
  var form = document.getElementById("campaign-words");
  var box = document.getElementById("campaign-form-preview");
  if (!form || !box || !window.DOMParser) { return; }
  var timer = null;
  var sequence = 0;
  function refresh() {
    var mine = ++sequence;
    var data = new FormData(form);
    data.set("action", "preview");
    data.delete("credit_codes_upload");
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        if (mine !== sequence) { return; }
        var page = new DOMParser().parseFromString(html, "text/html");
        var shown = page.getElementById("campaign-form-preview");
        var error = page.getElementById("campaign-error");
        box.hidden = !shown || shown.hidden;
        box.innerHTML = shown ? shown.innerHTML : "";
        if (error) { box.hidden = false; box.innerHTML = ""; box.appendChild(error); }
      })
      .catch(function () {});
  }
  form.addEventListener("input", function (event) {
    if (event.target.type === "file") { return; }
    clearTimeout(timer);
    timer = setTimeout(refresh, 500);
  });
})();
