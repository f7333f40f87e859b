// Shows the tenant's password rules as the user types (the server enforces
// them again). No inline script: the pages' CSP allows only this file.
(function () {
  "use strict";
  var pw = document.getElementById("password");
  var box = document.getElementById("pw-rules");
  if (!pw || !box) { return; }
  var email = document.getElementById("email");
  var status = document.getElementById("pw-status");
  var min = parseInt(box.getAttribute("data-min"), 10) || 8;
  var max = parseInt(box.getAttribute("data-max"), 10) || 128;
  function count(s) { return Array.from(s.normalize ? s.normalize("NFKC") : s).length; }
  function mark(rule, ok) {
    var li = box.querySelector('[data-rule="' + rule + '"]');
    if (li) { li.className = ok ? "ok" : "todo"; }
    return ok;
  }
  function check() {
    var v = pw.value, n = count(v), all = true;
    all = mark("min", n >= min) && all;
    all = mark("max", n <= max) && all;
    if (email) {
      var e = email.value.trim().toLowerCase(), local = e.split("@")[0];
      var bad = e !== "" && (v.toLowerCase().indexOf(e) >= 0 || (local.length >= 4 && v.toLowerCase().indexOf(local) >= 0));
      all = mark("identifier", v !== "" && !bad) && all;
    }
    if (status) { status.textContent = all ? "\u2713" : ""; }
  }
  pw.addEventListener("input", check);
  if (email) { email.addEventListener("input", check); }
  check();
})();
