// Solves the login challenge the server asks for after many attempts from
// one place: finds a counter whose SHA-256 over "challenge.counter" starts
// with the asked number of zero bits (about 2^bits hashes). It starts when
// the page loads, so the answer is usually ready before the password is
// typed; a submit waits for it. Loaded with the page's CSP nonce.
(function () {
  "use strict";
  var form = document.querySelector("form[data-challenge]");
  if (!form || !window.crypto || !window.crypto.subtle || !window.TextEncoder) { return; }
  var challenge = form.getAttribute("data-challenge");
  var bits = parseInt(form.getAttribute("data-bits"), 10) || 16;
  var out = form.querySelector('input[name="pow"]');
  var enc = new TextEncoder();
  var done = false;
  function zeros(buf) {
    var b = new Uint8Array(buf), n = 0;
    for (var i = 0; i < b.length; i++) {
      if (b[i] === 0) { n += 8; continue; }
      return n + Math.clz32(b[i]) - 24;
    }
    return n;
  }
  async function solve() {
    for (var i = 0; i < 4294967296; i++) {
      var h = await window.crypto.subtle.digest("SHA-256", enc.encode(challenge + "." + i));
      if (zeros(h) >= bits) { return String(i); }
    }
    return "";
  }
  var solving = solve().then(function (s) { out.value = s; done = true; });
  form.addEventListener("submit", function (ev) {
    if (done) { return; }
    ev.preventDefault();
    solving.then(function () { form.submit(); });
  });
})();
