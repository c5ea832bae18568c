/* Security keys and passkeys (WebAuthn): adding one on the account page, answering the second step of a login.
   The server sends the options as JSON with base64url byte strings; the browser's API wants ArrayBuffers. */
(function () {
  'use strict';

  function toBytes(text) {
    var b64 = text.replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) { b64 += '='; }
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer), raw = '';
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (data) { data.ok = response.ok; return data; });
    });
  }

  function credentialJSON(credential) {
    var r = credential.response, out = {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(), response: {
        clientDataJSON: toText(r.clientDataJSON)
      }
    };
    if (credential.authenticatorAttachment) { out.authenticatorAttachment = credential.authenticatorAttachment; }
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      if (r.getTransports) { out.response.transports = r.getTransports(); }
    } else {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      if (r.userHandle) { out.response.userHandle = toText(r.userHandle); }
    }
    return out;
  }

  function say(box, text) {
    var message = box.querySelector('[data-webauthn-message]');
    if (message) { message.textContent = text; }
  }

  function unsupported(box) {
    if (window.PublicKeyCredential) { return false; }
    say(box, 'This browser cannot use security keys here. Use a code from your authenticator app instead.');
    return true;
  }

  // The second step of a login.
  document.querySelectorAll('[data-webauthn-login]').forEach(function (box) {
    var csrf = box.getAttribute('data-csrf');
    box.querySelector('[data-webauthn-start]').addEventListener('click', function () {
      if (unsupported(box)) { return; }
      say(box, '');
      post(box.getAttribute('data-options-url'), csrf).then(function (options) {
        if (!options.ok) { throw new Error(options.error); }
        options.challenge = toBytes(options.challenge);
        (options.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
        delete options.ok;
        return navigator.credentials.get({ publicKey: options });
      }).then(function (credential) {
        return post(box.getAttribute('data-answer-url'), csrf, { credential: credentialJSON(credential) });
      }).then(function (answer) {
        if (answer.next && (answer.ok || !answer.error)) { window.location.assign(answer.next); return; }
        say(box, answer.error);
        if (answer.next) { window.setTimeout(function () { window.location.assign(answer.next); }, 2500); }
      }).catch(function (error) {
        say(box, error && error.name === 'NotAllowedError'
          ? 'The key was not used (cancelled or timed out). Try again.' : String(error && error.message || error));
      });
    });
  });

  // Adding a key on the account page.
  document.querySelectorAll('[data-webauthn-register]').forEach(function (form) {
    var csrf = form.getAttribute('data-csrf');
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (unsupported(form)) { return; }
      say(form, '');
      var label = form.querySelector('[name=label]').value;
      post(form.getAttribute('data-options-url'), csrf).then(function (options) {
        if (!options.ok) { throw new Error(options.error); }
        options.challenge = toBytes(options.challenge);
        options.user.id = toBytes(options.user.id);
        (options.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
        delete options.ok;
        return navigator.credentials.create({ publicKey: options });
      }).then(function (credential) {
        return post(form.getAttribute('action'), csrf, { credential: credentialJSON(credential), label: label });
      }).then(function (answer) {
        if (answer.ok) { window.location.assign(answer.next); return; }
        say(form, answer.error);
      }).catch(function (error) {
        say(form, error && error.name === 'InvalidStateError' ? 'That key is already registered.'
          : error && error.name === 'NotAllowedError' ? 'The key was not used (cancelled or timed out). Try again.'
          : String(error && error.message || error));
      });
    });
  });
}());
