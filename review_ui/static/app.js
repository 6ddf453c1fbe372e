// Small behaviours htmx does not cover: keyboard shortcuts, resetting the chat box after sending.
// No inline scripts anywhere (the Content-Security-Policy forbids them).
(function () {
  "use strict";

  function typing(event) {
    const t = event.target;
    return t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
  }

  function rows() { return Array.from(document.querySelectorAll("tr.queue-row")); }

  function selected() { return document.querySelector("tr.queue-row.selected"); }

  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
    if (row) {
      row.classList.add("selected");
      row.setAttribute("aria-selected", "true");
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const i = all.indexOf(selected());
    select(all[Math.min(all.length - 1, Math.max(0, i + step))] || all[0]);
  }

  function submitForm(form) {
    if (!form) return;
    if (window.htmx) { window.htmx.trigger(form, "submit"); } else { form.requestSubmit(); }
  }

  // Approving asks first, and only for the draft that is open: "a" (or the Approve button) opens the
  // confirmation; nothing is sent until its "Yes, approve" is pressed. A disabled button (findings
  // still stand) opens nothing.
  function askToApprove() {
    const opener = document.getElementById("approve-open");
    const dialog = document.getElementById("approve-dialog");
    if (!opener || opener.disabled || !dialog) return;
    if (!dialog.open) dialog.showModal();
    const confirm = document.getElementById("approve-confirm");
    if (confirm) confirm.focus();
  }

  document.addEventListener("submit", function (event) {
    if (event.target && event.target.id === "approve-open-form") { event.preventDefault(); askToApprove(); }
  });

  document.addEventListener("click", function (event) {
    const cancel = event.target && event.target.closest && event.target.closest("#approve-cancel");
    const dialog = document.getElementById("approve-dialog");
    if (cancel && dialog && dialog.open) {
      event.preventDefault();
      dialog.close();
      const opener = document.getElementById("approve-open");
      if (opener) opener.focus();
    }
  });

  function focusField(id) {
    const field = document.getElementById(id);
    if (field) { field.scrollIntoView({ block: "center" }); field.focus(); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    if (document.querySelector("dialog[open]")) return;  // a dialog has the keyboard (Escape closes it)
    const dialog = document.getElementById("shortcuts");
    const inQueue = document.querySelector("[data-shortcuts='queue']");
    const inDetail = document.querySelector("[data-shortcuts='detail']");
    const key = event.key;
    if (key === "?") { if (dialog && !dialog.open) dialog.showModal(); event.preventDefault(); return; }
    if (inQueue) {
      const row = selected();
      if (key === "j") { move(1); } else if (key === "k") { move(-1); }
      else if (key === "Enter" && row) { window.location.href = row.dataset.href; }
      else if (key === "c" && row) { window.location.href = row.dataset.href + "?action=changes"; }
      else if (key === "x" && row) { window.location.href = row.dataset.href + "?action=reject"; }
      else { return; }
      event.preventDefault();
    } else if (inDetail) {
      if (key === "a") { askToApprove(); }
      else if (key === "c") { focusField("changes-comment"); }
      else if (key === "x") { focusField("reject-reason"); }
      else { return; }
      event.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    const detail = document.querySelector("[data-shortcuts='detail']");
    if (detail && detail.dataset.focus === "changes") focusField("changes-comment");
    if (detail && detail.dataset.focus === "reject") focusField("reject-reason");
    if (detail && detail.dataset.focus === "approve") {  // opened from the no-script link: make it modal
      const dialog = document.getElementById("approve-dialog");
      if (dialog && dialog.open) { dialog.close(); askToApprove(); }
    }
    if (document.querySelector("[data-shortcuts='queue']")) select(rows()[0]);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "queue") select(rows()[0]);
  });

  // A successful action makes an earlier error message stale: clear the alert area.
  document.addEventListener("htmx:afterRequest", function (event) {
    const flash = document.getElementById("flash");
    if (flash && event.detail.successful && event.detail.target !== flash) flash.innerHTML = "";
  });

  // A link to a folded part of the plan (an email's card, a flag) unfolds it: the target's <details>
  // opens, so the reader lands on the copy rather than on a closed summary line.
  function unfold(hash) {
    if (!hash || hash.length < 2) return;
    const target = document.getElementById(decodeURIComponent(hash.slice(1)));
    if (!target) return;
    const box = target.matches("details") ? target : target.querySelector(":scope > details");
    for (let el = box || target; el; el = el.parentElement) { if (el.tagName === "DETAILS") el.open = true; }
  }
  window.addEventListener("hashchange", function () { unfold(window.location.hash); });
  document.addEventListener("DOMContentLoaded", function () { unfold(window.location.hash); });
  document.addEventListener("click", function (event) {
    const link = event.target && event.target.closest && event.target.closest("a[href^='#']");
    if (link) unfold(link.getAttribute("href"));
  });

  // Clear the chat box once the message is stored.
  document.addEventListener("htmx:afterRequest", function (event) {
    const form = event.detail.elt;
    if (form && form.matches && form.matches("form[data-reset]") && event.detail.successful) form.reset();
  });
})();
