// Passkeys on the hosted pages: sign in (a button, and conditional-UI
// autofill on the identifier field), the second-factor page, and adding a
// passkey on the account page. Served from /assets/passkey.js so the
// pages keep a CSP without inline script. Each page marks its passkey
// block with data-passkey="first|second|register" and the endpoints.
(function () {
  'use strict';
  var box = document.querySelector('[data-passkey]');
  if (!box || !window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  box.hidden = false;
  var mode = box.getAttribute('data-passkey');
  var errorEl = document.getElementById('passkey-error');

  function b64uToBuf(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) { s += '='; }
    var b = atob(s), a = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) { a[i] = b.charCodeAt(i); }
    return a.buffer;
  }
  function bufToB64u(buf) {
    var a = new Uint8Array(buf), s = '';
    for (var i = 0; i < a.length; i++) { s += String.fromCharCode(a[i]); }
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function fields(extra) {
    var f = new URLSearchParams();
    f.set('csrf', box.getAttribute('data-csrf'));
    f.set('ui_locales', document.documentElement.lang || 'en');
    var id = box.getAttribute('data-id');
    if (id) { f.set('id', id); }
    var remember = document.getElementById('remember');
    if (remember && remember.checked) { f.set('remember', '1'); }
    var pw = document.getElementById('passkey-password');
    if (pw && pw.value) { f.set('current_password', pw.value); }
    var cc = document.getElementById('passkey-code');
    if (cc && cc.value) { f.set('current_code', cc.value); }
    for (var k in extra) { if (Object.prototype.hasOwnProperty.call(extra, k)) { f.set(k, extra[k]); } }
    return f;
  }
  function post(url, extra) {
    return fetch(url, { method: 'POST', body: fields(extra), credentials: 'same-origin' }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { throw new Error(j.error || 'failed'); }
        return j;
      });
    });
  }
  function ids(list) {
    (list || []).forEach(function (c) { c.id = b64uToBuf(c.id); });
  }
  function credentialJSON(c) {
    var r = c.response, o = {
      id: c.id, rawId: bufToB64u(c.rawId), type: c.type,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: bufToB64u(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      o.response.attestationObject = bufToB64u(r.attestationObject);
      if (r.getTransports) { o.response.transports = r.getTransports(); }
    } else {
      o.response.authenticatorData = bufToB64u(r.authenticatorData);
      o.response.signature = bufToB64u(r.signature);
      if (r.userHandle) { o.response.userHandle = bufToB64u(r.userHandle); }
    }
    return JSON.stringify(o);
  }
  function fail(err) {
    if (err && err.name === 'AbortError') { return; }
    if (errorEl) {
      errorEl.textContent = box.getAttribute('data-error');
      errorEl.hidden = false;
    }
    box.setAttribute('data-state', 'failed');
  }
  function done(j) {
    box.setAttribute('data-state', 'done');
    if (j.redirect) { window.location.assign(j.redirect); }
  }
  var begin = box.getAttribute('data-begin'), finish = box.getAttribute('data-finish');
  var pending = null;

  function authenticate(mediation) {
    if (pending) { pending.abort(); }
    var ctl = new AbortController();
    pending = ctl;
    return post(begin, { mode: mode }).then(function (j) {
      var pk = j.options.publicKey;
      pk.challenge = b64uToBuf(pk.challenge);
      ids(pk.allowCredentials);
      var req = { publicKey: pk, signal: ctl.signal };
      if (mediation) { req.mediation = mediation; }
      return navigator.credentials.get(req).then(function (c) {
        return post(finish, { mode: mode, ticket: j.ticket, credential: credentialJSON(c) });
      });
    }).then(done, fail);
  }

  function register() {
    var nameEl = document.getElementById('passkey-name');
    return post(begin, {}).then(function (j) {
      var pk = j.options.publicKey;
      pk.challenge = b64uToBuf(pk.challenge);
      pk.user.id = b64uToBuf(pk.user.id);
      ids(pk.excludeCredentials);
      return navigator.credentials.create({ publicKey: pk }).then(function (c) {
        return post(finish, { ticket: j.ticket, name: nameEl ? nameEl.value : '', credential: credentialJSON(c) });
      });
    }).then(done, fail);
  }

  var button = document.getElementById('passkey-button');
  if (button) {
    button.addEventListener('click', function () {
      if (mode === 'register') { register(); } else { authenticate(null); }
    });
  }
  // Conditional UI: passkeys offered in the identifier field's autofill.
  if (mode === 'first' && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
      if (ok) { authenticate('conditional'); }
    }, function () {});
  }
}());
