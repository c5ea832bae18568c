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
        Object.keys(states).forEach(function (id) {
          if (!registry.get(id)) { return; }
          canvas.addMarker(id, 'cb-' + states[id]);
        });
        // The path taken: a flow out of a completed element into one the process reached.
        registry.filter(function (e) { return e.type === 'bpmn:SequenceFlow'; }).forEach(function (flow) {
          var from = flow.source && states[flow.source.id], to = flow.target && states[flow.target.id];
          if (from === 'completed' && to) { canvas.addMarker(flow.id, 'cb-taken'); }
        });
        var current = Object.keys(states).filter(function (id) {
          return registry.get(id) && (states[id] === 'ready' || states[id] === 'waiting' || states[id] === 'error');
        }).map(function (id) { return registry.get(id); });
        function focusCurrent() {
          if (!current.length) { canvas.zoom('fit-viewport', 'auto'); return; }
          // The current steps with room around them, at most at full size: readable text where the work is.
          var xs = current.map(function (e) { return e.x; }), ys = current.map(function (e) { return e.y; });
          var x2 = current.map(function (e) { return e.x + e.width; }), y2 = current.map(function (e) { return e.y + e.height; });
          var box = { x: Math.min.apply(null, xs) - 160, y: Math.min.apply(null, ys) - 120,
                      width: Math.max.apply(null, x2) - Math.min.apply(null, xs) + 320,
                      height: Math.max.apply(null, y2) - Math.min.apply(null, ys) + 240 };
          var size = canvas.getSize();
          var scale = Math.min(1, size.width / box.width, size.height / box.height);
          canvas.viewbox({ x: box.x + box.width / 2 - size.width / scale / 2,
                           y: box.y + box.height / 2 - size.height / scale / 2,
                           width: size.width / scale, height: size.height / scale });
        }
        focusCurrent();
        var bar = document.createElement('div');
        bar.className = 'btn-group btn-group-sm mb-1 cb-zoom';
        bar.setAttribute('role', 'group');
        bar.setAttribute('aria-label', 'Diagram zoom');
        [['Zoom in', function () { canvas.zoom(canvas.zoom() * 1.25); }],
         ['Zoom out', function () { canvas.zoom(canvas.zoom() / 1.25); }],
         ['Whole process', function () { canvas.zoom('fit-viewport', 'auto'); }],
         ['Current steps', focusCurrent]].forEach(function (pair) {
          var b = document.createElement('button');
          b.type = 'button';
          b.className = 'btn btn-outline-secondary';
          b.textContent = pair[0];
          b.addEventListener('click', pair[1]);
          bar.appendChild(b);
        });
        el.parentNode.insertBefore(bar, el);
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
