/* Render every .bpmn-canvas with the bpmn-js viewer: completed steps, current steps and their due dates. */
(function () {
  'use strict';
  function show(el) {
    var states = JSON.parse(el.getAttribute('data-states') || '{}');
    var due = JSON.parse(el.getAttribute('data-due') || '{}');
    var viewer = new BpmnJS({ container: el });
    fetch(el.getAttribute('data-diagram-url'), { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) { throw new Error('diagram ' + r.status); } return r.text(); })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get('canvas');
        var overlays = viewer.get('overlays');
        var registry = viewer.get('elementRegistry');
        canvas.zoom('fit-viewport');
        Object.keys(states).forEach(function (id) {
          if (!registry.get(id)) { return; }
          canvas.addMarker(id, 'cb-' + states[id]);
        });
        Object.keys(due).forEach(function (id) {
          if (!registry.get(id)) { return; }
          var badge = document.createElement('div');
          badge.className = 'cb-due' + (due[id].overdue ? ' cb-overdue' : '');
          badge.textContent = (due[id].overdue ? 'Overdue: ' : 'Due ') + due[id].text;
          overlays.add(id, { position: { top: -22, left: 0 }, html: badge });
        });
        el.setAttribute('data-rendered', 'true');
      })
      .catch(function (err) {
        el.setAttribute('data-rendered', 'error');
        el.textContent = 'The diagram could not be shown: ' + err.message;
      });
  }
  document.querySelectorAll('.bpmn-canvas').forEach(show);
})();
