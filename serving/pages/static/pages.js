// ssc-response pages: the only script. The pages work without it; it adds the running mRSS total
// on the one-patient form, the print button and the one-click copy of the prediction id on the
// result page and, on the auditor's list, the search for a prediction id pasted anywhere on the
// page. No inline scripts or handlers anywhere (the CSP allows this file only).
(function () {
  "use strict";
  function updateSum() {
    var sites = document.querySelectorAll("input.mrss-site");
    var output = document.getElementById("mrss-sum");
    if (!output) { return; }
    var total = 0, given = 0;
    sites.forEach(function (input) {
      var text = input.value.trim();
      if (text === "") { return; }
      var value = Number(text);
      if (Number.isInteger(value) && value >= 0 && value <= 3) { total += value; given += 1; }
    });
    output.textContent = given === 0 ? "—" : total + (given < sites.length ? " (" + given + " of " + sites.length + " sites)" : "");
  }
  function copyFallback(text) {
    // Outside a secure context (plain http to another host) there is no clipboard API.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    document.body.removeChild(area);
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  function copyText(button) {
    var text = button.getAttribute("data-copy");
    var status = document.getElementById(button.getAttribute("aria-describedby"));
    var copying = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(text) : copyFallback(text);
    copying.then(function () {
      if (status) { status.textContent = "Copied"; }
    }, function () {
      if (status) { status.textContent = "Copy failed: select the id and copy it"; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input.mrss-site").forEach(function (input) {
      input.addEventListener("input", updateSum);
    });
    updateSum();
    var print = document.getElementById("print");
    if (print) { print.addEventListener("click", function () { window.print(); }); }
    var predictionId = document.getElementById("q-prediction_id");
    if (predictionId) { document.addEventListener("paste", pastePredictionId); }
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () { copyText(button); });
    });
  });
  // The auditor's list: a prediction id pasted anywhere outside a text box is searched for.
  var UUID_TEXT = /[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/i;
  function pastePredictionId(event) {
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) { return; }
    var text = (event.clipboardData || window.clipboardData).getData("text") || "";
    var found = text.match(UUID_TEXT);
    if (!found) { return; }
    event.preventDefault();
    document.getElementById("q-prediction_id").value = found[0];
    document.getElementById("filters").submit();
  }
})();
