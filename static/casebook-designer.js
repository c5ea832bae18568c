/* The process designer: bpmn-js modeler with the Casebook panel (the full Camunda panel behind a toggle), zoom,
   undo; validate, save (version-checked), deploy; problems named by element, in plain words. */
(function () {
  'use strict';
  var root = document.querySelector('.designer');
  if (!root) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var status = document.getElementById('designer-status');
  var problemsBox = document.getElementById('designer-problems');
  var version = parseInt(root.getAttribute('data-version'), 10);
  var modeler = CaseBpmn.createModeler(document.getElementById('canvas'), document.getElementById('properties'));
  var marked = [];
  var unsaved = false;   // changes since the last save or deploy: leaving the page asks first
  var commandStack = modeler.get('commandStack');
  window.casebookModeler = modeler;
  CasebookPanel.attach(modeler, document.getElementById('casebook-panel'));
  modeler.on('commandStack.changed', function () {
    unsaved = true;
    document.getElementById('btn-undo').disabled = !commandStack.canUndo();
    document.getElementById('btn-redo').disabled = !commandStack.canRedo();
  });
  document.getElementById('btn-undo').addEventListener('click', function () { commandStack.undo(); });
  document.getElementById('btn-redo').addEventListener('click', function () { commandStack.redo(); });

  // Casebook reads few of BPMN's properties: the full Camunda panel is there for the rest, folded away.
  var advanced = document.getElementById('btn-advanced');
  advanced.addEventListener('click', function () {
    var open = advanced.getAttribute('aria-expanded') !== 'true';
    advanced.setAttribute('aria-expanded', open ? 'true' : 'false');
    document.getElementById('properties').hidden = !open;
    document.getElementById('casebook-panel').hidden = open;
  });

  function zoomBy(factor) {
    var canvas = modeler.get('canvas');
    canvas.zoom(canvas.zoom() * factor);
  }
  document.getElementById('zoom-in').addEventListener('click', function () { zoomBy(1.25); });
  document.getElementById('zoom-out').addEventListener('click', function () { zoomBy(1 / 1.25); });
  document.getElementById('zoom-fit').addEventListener('click', function () { modeler.get('canvas').zoom('fit-viewport'); });
  // A long process fitted whole has unreadable text: open it at a readable size from its start instead
  // (Whole process still shows all of it).
  function openReadable() {
    var canvas = modeler.get('canvas');
    canvas.zoom('fit-viewport');
    if (canvas.zoom() >= 0.7) { return; }
    var start = modeler.get('elementRegistry').filter(function (e) { return e.type === 'bpmn:StartEvent'; })[0];
    canvas.zoom(0.8);
    if (start) {
      var box = canvas.viewbox();
      canvas.viewbox({ x: start.x - 160, y: start.y - box.height / 3, width: box.width, height: box.height });
    }
  }
  window.addEventListener('beforeunload', function (event) {
    if (unsaved) { event.preventDefault(); event.returnValue = ''; }
  });

  function say(text, kind) {
    status.className = 'small mb-2 text-' + (kind || 'muted');
    status.textContent = text;
  }
  function post(url, body) {
    return fetch(url, { method: 'POST', credentials: 'same-origin', body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf } })
      .then(function (r) { return r.json().then(function (data) { return { status: r.status, data: data }; }); });
  }
  function currentXml() { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); }
  function clearMarks() {
    var canvas = modeler.get('canvas');
    marked.forEach(function (id) { try { canvas.removeMarker(id, 'cb-error'); } catch (e) { /* gone */ } });
    marked = [];
  }
  function focusElement(id) {
    var registry = modeler.get('elementRegistry');
    var element = registry.get(id);
    if (!element) { return; }
    modeler.get('selection').select(element);
    modeler.get('canvas').scrollToElement(element);
  }
  function showProblems(problems, warnings) {
    clearMarks();
    problemsBox.innerHTML = '';
    var all = (problems || []).map(function (p) { return [p, 'danger']; })
      .concat((warnings || []).map(function (p) { return [p, 'warning']; }));
    if (!all.length) { return; }
    var list = document.createElement('ul');
    list.className = 'list-unstyled mb-0';
    list.setAttribute('id', 'problem-list');
    all.forEach(function (pair) {
      var p = pair[0], li = document.createElement('li');
      var element = p.element_id ? modeler.get('elementRegistry').get(p.element_id) : null;
      li.className = 'text-' + pair[1];
      // Lead with the element as the panel names it (Step “Contact the victim”), then where, then what.
      var who = element ? CasebookPanel.describe(element)
        : p.element_name ? '\u201c' + p.element_name + '\u201d' : (p.element_id || '');
      var where = p.line ? (who ? ' (line ' + p.line + ')' : 'Line ' + p.line) : '';
      if (element) {
        var a = document.createElement('a');
        a.href = '#'; a.textContent = who; a.setAttribute('data-element-id', p.element_id);
        a.addEventListener('click', function (ev) { ev.preventDefault(); focusElement(p.element_id); });
        li.appendChild(a);
        modeler.get('canvas').addMarker(p.element_id, 'cb-error');
        marked.push(p.element_id);
      } else if (who) {
        li.appendChild(document.createTextNode(who));
      }
      var message = who || where ? ': ' + p.message : p.message.charAt(0).toUpperCase() + p.message.slice(1);
      li.appendChild(document.createTextNode(where + message));
      list.appendChild(li);
    });
    problemsBox.appendChild(list);
  }

  fetch(root.getAttribute('data-xml-url'), { credentials: 'same-origin' })
    .then(function (r) { return r.text(); })
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () { openReadable(); root.setAttribute('data-ready', 'true'); })
    .catch(function (err) { say('The draft could not be opened: ' + err.message, 'danger'); });

  document.getElementById('btn-validate').addEventListener('click', function () {
    currentXml().then(function (xml) { return post(root.getAttribute('data-validate-url'), { xml: xml }); })
      .then(function (res) {
        showProblems(res.data.problems, res.data.warnings);
        say(res.data.ok ? 'Valid: ready to deploy.' + (res.data.warnings.length ? ' See the warnings.' : '')
          : res.data.problems.length + ' problem(s): select one to see the element.', res.data.ok ? 'success' : 'danger');
      });
  });
  document.getElementById('btn-save').addEventListener('click', function () {
    currentXml().then(function (xml) { return post(root.getAttribute('data-save-url'), { xml: xml, version: version }); })
      .then(function (res) {
        if (res.status === 200) {
          version = res.data.version;
          document.getElementById('draft-version').textContent = version;
          unsaved = false;
          say('Draft saved (version ' + version + ').', 'success');
        } else { say(res.data.error || 'Not saved.', 'danger'); }
      });
  });
  document.getElementById('btn-deploy').addEventListener('click', function () {
    var note = document.getElementById('change-note');   // required: the server says so after the diagram's checks
    if (!window.confirm('Deploy this version? It takes effect for new cases once a lead of another organisation approves it.')) { return; }
    currentXml().then(function (xml) { return post(root.getAttribute('data-deploy-url'), { xml: xml, version: version, note: note.value }); })
      .then(function (res) {
        if (res.data.version && !res.data.ok) {
          version = res.data.version;
          document.getElementById('draft-version').textContent = version;
        }
        if (res.status === 201 || res.status === 200) {
          unsaved = false;
          showProblems([], []);
          status.className = 'small mb-2 text-success';
          status.textContent = 'Deployed ' + res.data.key + ' version ' + res.data.version + '. ' +
            (res.data.approval === 'pending'
              ? 'It takes effect when a lead of another organisation approves it on the Processes screen. ' : '');
          var a = document.createElement('a');
          a.href = res.data.impact_url; a.textContent = 'See the impact on running cases';
          status.appendChild(a);
        } else if (res.status === 422) {
          showProblems(res.data.problems, []);
          say('Not deployed: fix the problems below (your draft is saved; nothing live changed).', 'danger');
        } else { say(res.data.error || 'Not deployed.', 'danger'); }
      });
  });
  document.getElementById('btn-download').addEventListener('click', function () {
    currentXml().then(function (xml) {
      var a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([xml], { type: 'application/xml' }));
      a.download = (document.getElementById('draft-key').textContent || 'draft') + '.bpmn';
      document.body.appendChild(a); a.click(); a.remove();
    });
  });
})();
