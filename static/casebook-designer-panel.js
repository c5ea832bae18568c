/* The designer's Casebook panel: for the selected element, only what Casebook reads (bpmn/README.md,
   workflows/engine/parse.py), in plain words. Every edit is a bpmn-js command: undo, redo and the page's
   unsaved-changes warning work as for drawing. window.CasebookPanel.attach(modeler, container). */
(function () {
  'use strict';

  var TYPES = [['string', 'Text'], ['long', 'Whole number'], ['boolean', 'Yes/no'], ['date', 'Date'], ['enum', 'Choice']];
  // Suggestions only: the server's check (workflows/operations.py) is the authority on what exists.
  var OPERATIONS = ['record_fact', 'start_process', 'add_organisation', 'record_consent', 'answer_share_request',
    'notify', 'set_risk_level', 'close_case', 'meeting_actions', 'update_meeting_action', 'generate_letter',
    'asb_threshold', 'marac_checks', 'check_answer', 'open_entitlements', 'close_entitlements', 'vcs_eligibility'];
  var KINDS = [
    ['bpmn:UserTask', 'Step'], ['bpmn:ServiceTask', 'Operation'], ['bpmn:ScriptTask', 'Script'],
    ['bpmn:CallActivity', 'Called process'], ['bpmn:SubProcess', 'Sub-process'], ['bpmn:ExclusiveGateway', 'Decision'],
    ['bpmn:InclusiveGateway', 'Decision'], ['bpmn:ParallelGateway', 'Split or join'], ['bpmn:Gateway', 'Gateway'],
    ['bpmn:SequenceFlow', 'Route'], ['bpmn:StartEvent', 'Start'], ['bpmn:EndEvent', 'End'], ['bpmn:BoundaryEvent', 'Event'],
    ['bpmn:Event', 'Event'], ['bpmn:Lane', 'Lane'], ['bpmn:Participant', 'Process'], ['bpmn:Process', 'Process'],
    ['bpmn:Collaboration', 'Process'], ['bpmn:Task', 'Task']];

  function is(bo, type) { return !!(bo && bo.$instanceOf && bo.$instanceOf(type)); }
  function timerOf(bo) {
    return ((bo && bo.eventDefinitions) || []).filter(function (d) { return is(d, 'bpmn:TimerEventDefinition'); })[0] || null;
  }

  /** What a lead calls an element, with its name: Step “Contact the victim”, Route from “A” to “B”. */
  function describe(element) {
    var bo = element.businessObject;
    var kind = (KINDS.filter(function (k) { return is(bo, k[0]); })[0] || [null, 'Element'])[1];
    if (timerOf(bo)) { kind = 'Timer'; }
    if (is(bo, 'bpmn:Collaboration') || (is(bo, 'bpmn:Process') && !bo.name)) { return 'The whole process'; }
    if (bo.name) { return kind + ' \u201c' + bo.name + '\u201d'; }
    if (is(bo, 'bpmn:SequenceFlow') && element.source && element.target) {
      var name = function (e) { return e.businessObject.name ? '\u201c' + e.businessObject.name + '\u201d' : e.id; };
      return 'Route from ' + name(element.source) + ' to ' + name(element.target);
    }
    return kind + ' ' + element.id;
  }

  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) { return; }
      if (k === 'text') { el.textContent = attrs[k]; } else if (k === 'className') { el.className = attrs[k]; } else {
        el.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
      }
    });
    (children || []).forEach(function (c) {
      if (c) { el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); }
    });
    return el;
  }

  /** A form control with its label and help (aria-describedby); `commit(value)` runs on change. */
  function control(id, label, value, help, commit, opts) {
    opts = opts || {};
    var input;
    if (opts.choices) {
      input = h('select', { id: id, className: 'form-control form-control-sm' }, opts.choices.map(function (c) {
        return h('option', { value: c[0], selected: c[0] === (value || '') ? true : null, text: c[1] });
      }));
    } else if (opts.lines) {
      input = h('textarea', { id: id, className: 'form-control form-control-sm', rows: opts.lines });
      input.value = value || '';
    } else {
      input = h('input', { id: id, className: 'form-control form-control-sm', type: 'text', list: opts.list,
        spellcheck: opts.code ? 'false' : null });
      input.value = value || '';
    }
    if (opts.code) { input.classList.add('cb-code'); }
    if (help) { input.setAttribute('aria-describedby', id + '-help'); }
    input.addEventListener('change', function () { commit(input.value); });
    return h('div', { className: 'form-group mb-2' }, [
      h('label', { 'for': id, className: 'mb-0 font-weight-bold', text: label }), input,
      help ? h('small', { id: id + '-help', className: 'form-text text-muted mt-0', text: help }) : null]);
  }

  function checkbox(id, label, checked, help, commit) {
    var input = h('input', { id: id, type: 'checkbox', className: 'form-check-input', checked: !!checked,
      'aria-describedby': help ? id + '-help' : null });
    input.addEventListener('change', function () { commit(input.checked); });
    return h('div', { className: 'form-check mb-2' }, [input,
      h('label', { 'for': id, className: 'form-check-label', text: label }),
      help ? h('small', { id: id + '-help', className: 'form-text text-muted mt-0', text: help }) : null]);
  }

  function button(text, click, attrs) {
    var b = h('button', Object.assign({ type: 'button', className: 'btn btn-sm btn-outline-secondary', text: text },
      attrs || {}));
    b.addEventListener('click', click);
    return b;
  }

  function slug(text) {
    var s = (text || '').toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40);
    return !s ? 'field' : /^[0-9]/.test(s) ? 'field_' + s : s;
  }

  function attach(modeler, container) {
    var modeling = modeler.get('modeling'), factory = modeler.get('bpmnFactory');
    var commandStack = modeler.get('commandStack'), registry = modeler.get('elementRegistry');
    var canvas = modeler.get('canvas'), moddle = modeler.get('moddle');
    var current = null, openField = null, pending = null;
    var fresh = new WeakSet();   // fields added in this session: their id follows their label
    var forms = window.CasebookPanelForms;

    // --- commands ------------------------------------------------------------------------------------------
    function set(element, target, props) {
      return { cmd: 'element.updateModdleProperties', context: { element: element, moddleElement: target, properties: props } };
    }
    function run(cmds) {
      if (!cmds.length) { return; }
      if (cmds.length === 1) { commandStack.execute(cmds[0].cmd, cmds[0].context); return; }
      commandStack.execute('properties-panel.multi-command-executor', cmds);   // one undo step
    }
    function create(type, attrs, parent) {
      var made = factory.create(type, attrs);
      made.$parent = parent;
      return made;
    }
    function findExt(bo, type) {
      var ext = bo.get('extensionElements');
      return ext ? (ext.get('values') || []).filter(function (v) { return is(v, type); })[0] || null : null;
    }
    /** The extension of that type, made (by commands added to cmds) when the element has none. */
    function ensureExt(element, bo, type, attrs, cmds) {
      var found = findExt(bo, type);
      if (found) { return found; }
      var ext = bo.get('extensionElements');
      if (!ext) {
        ext = create('bpmn:ExtensionElements', { values: [] }, bo);
        cmds.push(set(element, bo, { extensionElements: ext }));
      }
      var made = create(type, attrs, ext);
      cmds.push(set(element, ext, { values: (ext.get('values') || []).concat([made]) }));
      return made;
    }
    function removeExt(element, bo, item, cmds) {
      var ext = bo.get('extensionElements');
      cmds.push(set(element, ext, { values: ext.get('values').filter(function (v) { return v !== item; }) }));
    }
    function update(element, props) { modeling.updateProperties(element, props); }
    function text(value) { value = (value || '').trim(); return value === '' ? undefined : value; }
    function idTaken(id) {
      return !!(registry.get(id) || (moddle.ids && moddle.ids.assigned(id)));
    }

    function plain(doc) { return (doc.textFormat || 'text/plain') === 'text/plain'; }   // what Casebook shows
    function setDocumentation(element, bo, value) {
      var docs = (bo.get('documentation') || []).filter(function (d) { return !plain(d); });
      if (text(value)) { docs = [create('bpmn:Documentation', { text: value.trim() }, bo)].concat(docs); }
      run([set(element, bo, { documentation: docs })]);
    }
    function documentation(bo) {
      var doc = (bo.get('documentation') || []).filter(plain)[0];
      return doc ? doc.text : '';
    }

    /** A step's camunda:property (name/value), removed when emptied. */
    function taskProperty(bo, name) {
      var props = findExt(bo, 'camunda:Properties');
      return props ? (props.get('values').filter(function (p) { return p.name === name; })[0] || null) : null;
    }
    function setTaskProperty(element, name, value) {
      var bo = element.businessObject, cmds = [], existing = taskProperty(bo, name), props = findExt(bo, 'camunda:Properties');
      value = text(value);
      if (!value) {
        if (!existing) { return; }
        var rest = props.get('values').filter(function (p) { return p !== existing; });
        if (rest.length) { cmds.push(set(element, props, { values: rest })); } else { removeExt(element, bo, props, cmds); }
      } else if (existing) {
        cmds.push(set(element, existing, { value: value }));
      } else {
        props = ensureExt(element, bo, 'camunda:Properties', { values: [] }, cmds);
        var made = create('camunda:Property', { name: name, value: value }, props);
        cmds.push(set(element, props, { values: props.get('values').concat([made]) }));
      }
      run(cmds);
    }

    // --- sections per element type --------------------------------------------------------------------------
    function heading(element) {
      return h('h3', { className: 'h6 font-weight-bold mb-2', text: describe(element) });
    }
    function nameAndPurpose(element, nameLabel, nameHelp, docHelp) {
      var bo = element.businessObject;
      return [
        control('cbp-name', nameLabel, bo.name, nameHelp, function (v) { update(element, { name: text(v) }); }),
        control('cbp-doc', 'What this is for', documentation(bo), docHelp,
          function (v) { setDocumentation(element, bo, v); }, { lines: 3 })];
    }

    function userTask(element) {
      var bo = element.businessObject, meeting = taskProperty(bo, 'meeting');
      var parts = nameAndPurpose(element, 'Step name', 'Shown in My work, on the case page and in reports.',
        'Shown above the form: what the person doing the step should know.');
      parts.push(control('cbp-groups', 'Who does it', bo.get('camunda:candidateGroups'),
        'service:<code> (the organisation providing that service), a type such as police, organisation:<code>, or ' +
        '${...} from the process data. Add :manager (or another role) to narrow it. Empty: the lane decides.',
        function (v) { update(element, { 'camunda:candidateGroups': text(v) }); }, { code: true }));
      parts.push(control('cbp-assignee', 'Give it to this person (e-mail)', bo.get('camunda:assignee'),
        'Optional: they get the step if they work for the organisation it goes to.',
        function (v) { update(element, { 'camunda:assignee': text(v) }); }, { code: true }));
      parts.push(control('cbp-due', 'Due date', bo.get('camunda:dueDate'),
        'Optional: a date from the process data, e.g. ${add_working_days(referred_on, 5)}. A timer on the step ' +
        'sets its due date instead.', function (v) { update(element, { 'camunda:dueDate': text(v) }); }, { code: true }));
      parts.push(control('cbp-show', 'Show before the form', (taskProperty(bo, 'show') || {}).value,
        'Field ids of earlier steps, comma-separated, or safe_contact: shown under “Before you start”.',
        function (v) { setTaskProperty(element, 'show', v); }, { code: true }));
      var meet = h('fieldset', { className: 'cb-group' }, [h('legend', { className: 'h6', text: 'Meeting' })]);
      meet.appendChild(control('cbp-meeting', 'Done at a meeting of type', (meeting || {}).value,
        'A meeting type code (marac, vulnerable_persons_panel, ...) or ${...}: the step is listed on that panel\u2019s ' +
        'next meeting and completed there, not from My work. Empty: an ordinary step.',
        function (v) { setTaskProperty(element, 'meeting', v); }, { code: true }));
      if (meeting) {
        meet.appendChild(control('cbp-meeting-reason', 'Reason for listing', (taskProperty(bo, 'meeting_reason') || {}).value,
          'On the agenda and in the agenda pack; text, or ${...} from the process data.',
          function (v) { setTaskProperty(element, 'meeting_reason', v); }));
        meet.appendChild(control('cbp-meeting-research', 'Steps printed in the agenda pack',
          (taskProperty(bo, 'meeting_research') || {}).value, 'Ids of other steps of this process, comma-separated.',
          function (v) { setTaskProperty(element, 'meeting_research', v); }, { code: true }));
      }
      parts.push(meet);
      parts.push(forms.section(api, element));
      return parts;
    }

    function serviceTask(element) {
      var bo = element.businessObject, io = findExt(bo, 'camunda:InputOutput');
      var parts = nameAndPurpose(element, 'Name', 'Shown in the case history.',
        'What this operation does here, for other leads.');
      parts.push(control('cbp-topic', 'Operation', bo.get('camunda:topic'),
        'What Casebook does here, e.g. record_fact, notify, start_process (bpmn/README.md lists them).',
        function (v) { update(element, { 'camunda:type': text(v) ? 'external' : undefined, 'camunda:topic': text(v) }); },
        { list: 'cbp-operations', code: true }));
      parts.push(h('datalist', { id: 'cbp-operations' }, OPERATIONS.map(function (o) { return h('option', { value: o }); })));
      var params = io ? io.get('inputParameters') : [];
      var box = h('fieldset', { className: 'cb-group' }, [h('legend', { className: 'h6', text: 'Parameters' }),
        h('p', { className: 'small text-muted mb-1', text: 'Literal text, or ${...} for a value from the process data.' })]);
      params.forEach(function (p, i) {
        var n = i + 1;
        box.appendChild(h('div', { className: 'cb-pair' }, [
          control('cbp-param-' + i + '-name', 'Parameter ' + n + ' name', p.name, null, function (v) {
            if (text(v)) { run([set(element, p, { name: v.trim() })]); }
          }, { code: true }),
          control('cbp-param-' + i + '-value', 'Parameter ' + n + ' value', p.value, null, function (v) {
            run([set(element, p, { value: v })]);
          }, { code: true }),
          button('Remove parameter ' + n, function () {
            run([set(element, io, { inputParameters: io.get('inputParameters').filter(function (x) { return x !== p; }) })]);
          }, { className: 'btn btn-sm btn-outline-danger mb-2' })]));
      });
      box.appendChild(button('Add a parameter', function () {
        var cmds = [], target = ensureExt(element, bo, 'camunda:InputOutput', {}, cmds);
        var made = create('camunda:InputParameter', { name: 'parameter_' + (params.length + 1), value: '' }, target);
        cmds.push(set(element, target, { inputParameters: (target.get('inputParameters') || []).concat([made]) }));
        pending = 'cbp-param-' + params.length + '-name';
        run(cmds);
      }));
      parts.push(box);
      parts.push(control('cbp-result', 'Keep the answer as', bo.get('camunda:resultVariable'),
        'Optional: a plain name; the operation\u2019s answer goes into the process data under it.',
        function (v) { update(element, { 'camunda:resultVariable': text(v) }); }, { code: true }));
      return parts;
    }

    function scriptTask(element) {
      var bo = element.businessObject;
      var parts = nameAndPurpose(element, 'Name', null, 'What the script works out, for other leads.');
      parts.push(control('cbp-script', 'Script (Python)', bo.script,
        'Runs with the process data as variables; only the names listed in bpmn/README.md are available.',
        function (v) { update(element, { script: v, scriptFormat: bo.scriptFormat || 'python' }); }, { lines: 8, code: true }));
      return parts;
    }

    function gateway(element) {
      var bo = element.businessObject;
      var parts = nameAndPurpose(element, 'Question', 'Shown on the diagram, e.g. \u201cConsent given?\u201d.',
        'Notes for other leads: the rule and its source.');
      if (is(bo, 'bpmn:ParallelGateway')) {
        parts.push(h('p', { className: 'small text-muted', text: 'Splitting: every route out is taken at once. ' +
          'Joining: waits until every route in has arrived.' }));
        return parts;
      }
      var outgoing = element.outgoing || [];
      parts.push(control('cbp-default', 'Default route', bo.default ? bo.default.id : '',
        'Taken when no condition matches (it needs no condition: one it had is removed). Select a route on the ' +
        'diagram to write its condition.',
        function (v) {
          var flow = outgoing.filter(function (c) { return c.id === v; })[0];
          update(element, { 'default': flow ? flow.businessObject : undefined });
        }, { choices: [['', '(none)']].concat(outgoing.map(function (c) { return [c.id, describe(c)]; })) }));
      return parts;
    }

    function sequenceFlow(element) {
      var bo = element.businessObject, source = element.source && element.source.businessObject;
      var parts = [control('cbp-name', 'Label on the arrow', bo.name, 'The answer this route stands for, e.g. “Yes”.',
        function (v) { update(element, { name: text(v) }); })];
      var decides = is(source, 'bpmn:ExclusiveGateway') || is(source, 'bpmn:InclusiveGateway');
      var isDefault = decides && source.default === bo;
      if (decides) {
        parts.push(checkbox('cbp-is-default', 'The default route', isDefault,
          'Taken when no other route\u2019s condition matches. Every decision needs one, so every answer has a path.',
          function (on) {
            var cmds = [set(element.source, source, { 'default': on ? bo : undefined })];
            if (on && bo.conditionExpression) { cmds.push(set(element, bo, { conditionExpression: undefined })); }
            run(cmds);
          }));
      }
      if (decides && !isDefault || bo.conditionExpression) {
        parts.push(control('cbp-condition', 'Condition', bo.conditionExpression ? bo.conditionExpression.body : '',
          'Over the answers, e.g. ${consent == True} or risk_score >= 14.', function (v) {
            var expression = text(v) ? create('bpmn:FormalExpression', { body: v.trim() }, bo) : undefined;
            update(element, { conditionExpression: expression });
          }, { lines: 2, code: true }));
      }
      return parts;
    }

    function timerEvent(element) {
      var bo = element.businessObject, timer = timerOf(bo);
      var kind = timer.timeDate ? 'timeDate' : timer.timeCycle ? 'timeCycle' : 'timeDuration';
      var expr = timer[kind] ? timer[kind].body : '';
      var parts = nameAndPurpose(element, 'Name', 'Shown on the diagram, e.g. “2 working days”.', null);
      function setTimer(newKind, value) {
        var props = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
        props[newKind] = create('bpmn:FormalExpression', { body: value }, timer);
        run([set(element, timer, props)]);
      }
      parts.push(control('cbp-timer-kind', 'It fires', kind, null, function (v) { setTimer(v, expr); },
        { choices: [['timeDuration', 'After a time (duration)'], ['timeDate', 'At a date'],
          ['timeCycle', 'Repeatedly (cycle)']] }));
      parts.push(control('cbp-timer', kind === 'timeDate' ? 'Date' : kind === 'timeCycle' ? 'Cycle' : 'Duration', expr,
        kind === 'timeDate' ? 'From the process data, e.g. add_working_days(reported_on, 2) (England and Wales bank holidays).'
          : kind === 'timeCycle' ? 'E.g. R3/P1D: three times, a day apart.'
            : 'E.g. P2D (48 hours of calendar time), PT1H (an hour).',
        function (v) { setTimer(kind, v.trim()); }, { code: true }));
      if (is(bo, 'bpmn:BoundaryEvent')) {
        parts.push(checkbox('cbp-interrupting', 'Replaces the step when it fires', bo.cancelActivity !== false,
          'Ticked: the step is cancelled and the process goes on from the timer. Not ticked: a reminder or ' +
          'escalation beside the step. Either way the timer sets the step\u2019s due date.',
          function (on) { update(element, { cancelActivity: on }); }));
      }
      return parts;
    }

    function callActivity(element) {
      var bo = element.businessObject;
      var parts = nameAndPurpose(element, 'Name', null, null);
      parts.push(control('cbp-called', 'Process it runs', bo.calledElement,
        'The key of a deployed process (its file name without .bpmn); it must be deployed first.',
        function (v) { update(element, { calledElement: text(v) }); }, { code: true }));
      return parts;
    }

    function lane(element) {
      return [control('cbp-name', 'Agency', element.businessObject.name,
        'The steps in this lane go to this type of organisation unless they say who does it: Police, Victim Services, ' +
        'RJ Service, Council, Housing, Fire, Probation, Health, Panel.', function (v) { update(element, { name: text(v) }); })];
    }

    function processSection(element) {
      var bo = element.businessObject, proc = is(bo, 'bpmn:Participant') ? bo.processRef : is(bo, 'bpmn:Process') ? bo : null;
      if (!proc && is(bo, 'bpmn:Collaboration')) {
        proc = (bo.participants || []).map(function (p) { return p.processRef; }).filter(function (p) {
          return p && p.isExecutable; })[0] || null;
      }
      var parts = [h('p', { className: 'small text-muted',
        text: 'Select a step, route, decision or timer on the diagram to change it.' })];
      if (!proc) { return parts; }
      parts.push(h('p', { className: 'small mb-2' }, ['Key: ', h('code', { text: proc.id }),
        ' (the process\u2019s id; new cases find it by this key)']));
      parts.push(control('cbp-name', 'Process name', proc.name, 'Shown in Start a process and on the Processes screen.',
        function (v) {
          var cmds = [set(element, proc, { name: text(v) })];
          if (is(bo, 'bpmn:Participant') && bo.name === proc.name) { cmds.push(set(element, bo, { name: text(v) })); }
          run(cmds);
        }));
      parts.push(control('cbp-doc', 'What this process is for', documentation(proc), 'Its sources and known differences.',
        function (v) { setDocumentation(element, proc, v); }, { lines: 4 }));
      return parts;
    }

    function sectionsFor(element) {
      var bo = element.businessObject;
      if (is(bo, 'bpmn:UserTask')) { return userTask(element); }
      if (is(bo, 'bpmn:ServiceTask')) { return serviceTask(element); }
      if (is(bo, 'bpmn:ScriptTask')) { return scriptTask(element); }
      if (is(bo, 'bpmn:CallActivity')) { return callActivity(element); }
      if (is(bo, 'bpmn:Gateway')) { return gateway(element); }
      if (is(bo, 'bpmn:SequenceFlow')) { return sequenceFlow(element); }
      if (timerOf(bo)) { return timerEvent(element); }
      if (is(bo, 'bpmn:Lane')) { return lane(element); }
      if (is(bo, 'bpmn:Participant') || element === canvas.getRootElement()) { return processSection(element); }
      if (is(bo, 'bpmn:FlowNode')) {
        return nameAndPurpose(element, 'Name', 'Shown on the diagram.', null).concat([h('p', { className: 'small text-muted',
          text: 'Casebook reads nothing else here; All BPMN properties has the rest.' })]);
      }
      return [h('p', { className: 'small text-muted', text: 'Casebook reads nothing from this element.' })];
    }

    // --- rendering --------------------------------------------------------------------------------------------
    function render() {
      if (current && current !== canvas.getRootElement() && !registry.get(current.id)) { current = null; }
      var element = current || canvas.getRootElement();
      if (!element || !element.businessObject) { container.innerHTML = ''; return; }
      var focused = pending || (container.contains(document.activeElement) ? document.activeElement.id : null);
      var scroll = container.parentNode ? container.parentNode.scrollTop : 0;
      pending = null;
      container.innerHTML = '';
      container.setAttribute('data-element-id', element.id);
      container.appendChild(heading(element));
      sectionsFor(element).forEach(function (part) { container.appendChild(part); });
      if (container.parentNode) { container.parentNode.scrollTop = scroll; }
      var again = focused && document.getElementById(focused);
      if (again && container.contains(again)) { again.focus(); }
    }
    var scheduled = false;
    function later() {   // after the browser has moved focus (change fires before blur), so focus is kept
      if (scheduled) { return; }
      scheduled = true;
      window.setTimeout(function () { scheduled = false; render(); }, 0);
    }

    var api = {
      run: run, set: set, create: create, ensureExt: ensureExt, removeExt: removeExt, findExt: findExt, idTaken: idTaken,
      h: h, control: control, checkbox: checkbox, button: button, slug: slug, text: text, types: TYPES, fresh: fresh,
      openField: function (field) { if (arguments.length) { openField = field; } return openField; },
      focusNext: function (id) { pending = id; }, rerender: later
    };

    modeler.on('selection.changed', function (event) {
      var next = event.newSelection.length === 1 ? event.newSelection[0] : null;
      if (next && next.labelTarget) { next = next.labelTarget; }   // an event's or route's label: the element itself
      if (next !== current) { openField = null; }
      current = next;
      later();
    });
    modeler.on('commandStack.changed', later);
    modeler.on('root.set', later);   // into or out of a sub-process: nothing selected there yet
    modeler.on('import.done', function () { current = null; openField = null; later(); });
    return api;
  }

  window.CasebookPanel = { attach: attach, describe: describe };
})();
