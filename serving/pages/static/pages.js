// ssc-response pages: the only script. The pages work without it; it adds the running mRSS total
// on the one-patient form and the print button on the result page.
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
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input.mrss-site").forEach(function (input) {
      input.addEventListener("input", updateSum);
    });
    updateSum();
    var print = document.getElementById("print");
    if (print) { print.addEventListener("click", function () { window.print(); }); }
  });
})();
