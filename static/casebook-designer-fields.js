/* The Casebook panel's form fields of a step (camunda:formData): listed by label with their type in words; added,
   edited, moved and removed through bpmn-js commands. Used by casebook-designer-panel.js. */
(function () {
  'use strict';

  var TYPE_WORDS = { string: 'text', long: 'whole number', boolean: 'yes/no', date: 'date', enum: 'choice' };
  var LIMITS = ['min', 'max', 'minlength', 'maxlength'];   // meaning depends on the type: dropped when it changes

  function rules(f) { return f.validation ? f.validation.get('constraints') : []; }
  function rule(f, name) { return rules(f).filter(function (c) { return c.name === name; })[0] || null; }
  function props(f) { return f.properties ? f.properties.get('values') : []; }
  function prop(f, id) { return (props(f).filter(function (p) { return p.id === id; })[0] || {}).value; }
  function on(value) { return ['true', '1', 'yes'].indexOf(String(value || '').toLowerCase()) >= 0; }

  /** “text · required”: what a lead needs to know about a field at a glance. */
  function meta(f) {
    var kind = f.type === 'string' && on(prop(f, 'multiline')) ? 'long text'
      : f.type === 'enum' && on(prop(f, 'multiple')) ? 'several choices' : TYPE_WORDS[f.type] || f.type || 'text';
    return [kind].concat(rule(f, 'required') ? ['required'] : [], rule(f, 'readonly') ? ['shown only'] : []).join(' \u00b7 ');
  }

  function section(api, element) {
    var h = api.h, bo = element.businessObject, set = api.set, run = api.run;
    var data = api.findExt(bo, 'camunda:FormData'), fields = data ? data.get('fields') : [];
    if (api.openField() && fields.indexOf(api.openField()) < 0) { api.openField(null); }

    function uniqueId(base, taken, self) {
      var id = base, n = 2;
      while (taken.some(function (x) { return x !== self && x.id === id; }) || api.idTaken(id)) { id = base + '_' + n++; }
      return id;
    }

    /** A constraint present (true), with a value (text) or gone (false or empty), as commands. */
    function setRule(f, name, config) {
      var cmds = [], existing = rule(f, name);
      if (config === false || config === '') {
        if (!existing) { return cmds; }
        var rest = rules(f).filter(function (c) { return c !== existing; });
        cmds.push(rest.length ? set(element, f.validation, { constraints: rest }) : set(element, f, { validation: undefined }));
        return cmds;
      }
      var value = config === true ? undefined : config;
      if (existing) {
        if (existing.config !== value) { cmds.push(set(element, existing, { config: value })); }
        return cmds;
      }
      var validation = f.validation;
      if (!validation) {
        validation = api.create('camunda:Validation', { constraints: [] }, f);
        cmds.push(set(element, f, { validation: validation }));
      }
      var made = api.create('camunda:Constraint', value === undefined ? { name: name } : { name: name, config: value },
        validation);
      cmds.push(set(element, validation, { constraints: validation.get('constraints').concat([made]) }));
      return cmds;
    }

    /** A field property (help, multiline, multiple, options) set, or removed when empty. */
    function setProp(f, id, value) {
      var existing = props(f).filter(function (p) { return p.id === id; })[0];
      if (value === undefined || value === '') {
        if (!existing) { return; }
        var rest = props(f).filter(function (p) { return p !== existing; });
        run([rest.length ? set(element, f.properties, { values: rest }) : set(element, f, { properties: undefined })]);
      } else if (existing) {
        run([set(element, existing, { value: value })]);
      } else {
        var cmds = [], holder = f.properties;
        if (!holder) {
          holder = api.create('camunda:Properties', { values: [] }, f);
          cmds.push(set(element, f, { properties: holder }));
        }
        var made = api.create('camunda:Property', { id: id, value: value }, holder);
        cmds.push(set(element, holder, { values: holder.get('values').concat([made]) }));
        run(cmds);
      }
    }

    function setType(f, type) {
      var cmds = [set(element, f, { type: type })];
      var kept = rules(f).filter(function (c) { return LIMITS.indexOf(c.name) < 0; });
      if (kept.length !== rules(f).length) {
        cmds.push(kept.length ? set(element, f.validation, { constraints: kept }) : set(element, f, { validation: undefined }));
      }
      var drop = (type === 'string' ? [] : ['multiline']).concat(type === 'enum' ? [] : ['multiple', 'options']);
      var left = props(f).filter(function (p) { return drop.indexOf(p.id) < 0; });
      if (left.length !== props(f).length) {
        cmds.push(left.length ? set(element, f.properties, { values: left }) : set(element, f, { properties: undefined }));
      }
      if (type !== 'enum' && f.get('values').length) { cmds.push(set(element, f, { values: [] })); }
      run(cmds);
    }

    function move(f, i, delta) {
      var order = fields.slice();
      order.splice(i, 1);
      order.splice(i + delta, 0, f);
      api.focusNext('cbp-ff-' + (i + delta) + (i + delta === 0 ? '-down' : '-up'));
      run([set(element, data, { fields: order })]);
    }

    function choices(f, i) {
      var values = f.get('values');
      var box = h('fieldset', { className: 'cb-group' }, [h('legend', { className: 'h6', text: 'Choices' })]);
      var list = h('ol', { className: 'list-unstyled mb-1' });
      values.forEach(function (v, j) {
        var n = j + 1, base = 'cbp-ff-' + i + '-choice-' + j;
        list.appendChild(h('li', { className: 'cb-pair' }, [
          api.control(base + '-name', 'Choice ' + n, v.name, null, function (value) {
            var change = { name: api.text(value) };
            if (api.fresh.has(v)) { change.id = uniqueId(api.slug(value), values, v); }
            run([set(element, v, change)]);
          }),
          api.control(base + '-id', 'Choice ' + n + ' id', v.id, null, function (value) {
            if (!api.text(value)) { return; }
            api.fresh.delete(v);
            run([set(element, v, { id: value.trim() })]);
          }, { code: true }),
          api.button('Remove choice ' + n, function () {
            api.focusNext('cbp-ff-' + i + '-add-choice');
            run([set(element, f, { values: values.filter(function (x) { return x !== v; }) })]);
          }, { className: 'btn btn-sm btn-outline-danger mb-2' })]));
      });
      box.appendChild(list);
      box.appendChild(api.button('Add a choice', function () {
        var n = values.length + 1;
        var made = api.create('camunda:Value', { id: uniqueId('choice_' + n, values), name: 'Choice ' + n }, f);
        api.fresh.add(made);
        api.focusNext('cbp-ff-' + i + '-choice-' + values.length + '-name');
        run([set(element, f, { values: values.concat([made]) })]);
      }, { id: 'cbp-ff-' + i + '-add-choice', className: 'btn btn-sm btn-outline-secondary mb-2' }));
      box.appendChild(api.control('cbp-ff-' + i + '-options', 'Or read the choices from the process data', prop(f, 'options'),
        'Optional: ${...} giving [id, label] pairs when the step appears, e.g. ${shareable_cases}.',
        function (value) { setProp(f, 'options', api.text(value)); }, { code: true }));
      box.appendChild(api.checkbox('cbp-ff-' + i + '-multiple', 'More than one can be chosen', on(prop(f, 'multiple')), null,
        function (yes) { setProp(f, 'multiple', yes ? 'true' : undefined); }));
      return box;
    }

    function limits(f, i) {
      var words = f.type === 'string'
        ? [['minlength', 'Shortest answer (characters)'], ['maxlength', 'Longest answer (characters)']]
        : f.type === 'long' ? [['min', 'Lowest number'], ['max', 'Highest number']]
          : f.type === 'date' ? [['min', 'Earliest date (YYYY-MM-DD)'], ['max', 'Latest date (YYYY-MM-DD)']] : [];
      return words.map(function (w) {
        return api.control('cbp-ff-' + i + '-' + w[0], w[1], (rule(f, w[0]) || {}).config, null,
          function (value) { run(setRule(f, w[0], (value || '').trim())); }, { code: true });
      });
    }

    function editor(f, i) {
      var base = 'cbp-ff-' + i, parts = [
        api.control(base + '-label', 'Label', f.label, 'What the person doing the step reads.', function (value) {
          var change = { label: api.text(value) };
          if (api.fresh.has(f) && api.text(value)) { change.id = uniqueId(api.slug(value), fields, f); }
          run([set(element, f, change)]);
        }),
        api.control(base + '-id', 'Id (the name the answer is kept under)', f.id,
          'Letters, digits and _. Conditions and later steps use it: once deployed, change the label, not the id.',
          function (value) {
            if (!api.text(value)) { return; }
            api.fresh.delete(f);
            run([set(element, f, { id: value.trim() })]);
          }, { code: true }),
        api.control(base + '-type', 'Type', f.type || 'string', null, function (value) { setType(f, value); },
          { choices: api.types.concat(api.types.some(function (t) { return t[0] === f.type; }) || !f.type ? []
            : [[f.type, f.type + ' (not known to Casebook)']]) }),
        api.checkbox(base + '-required', 'Required', !!rule(f, 'required'), null,
          function (yes) { run(setRule(f, 'required', yes)); }),
        api.checkbox(base + '-readonly', 'Shown only (read-only)', !!rule(f, 'readonly'),
          'The person sees the default value and cannot change it.', function (yes) { run(setRule(f, 'readonly', yes)); }),
        api.control(base + '-default', 'Default value', f.defaultValue,
          'Optional; ${...} fills it from the process data when the step appears.',
          function (value) { run([set(element, f, { defaultValue: api.text(value) })]); }, { code: true }),
        api.control(base + '-help', 'Help text', prop(f, 'help'), 'Shown under the field.',
          function (value) { setProp(f, 'help', api.text(value)); })];
      if (f.type === 'string') {
        parts.push(api.checkbox(base + '-multiline', 'Several lines', on(prop(f, 'multiline')), null,
          function (yes) { setProp(f, 'multiline', yes ? 'true' : undefined); }));
      }
      parts = parts.concat(limits(f, i));
      if (f.type === 'enum') { parts.push(choices(f, i)); }
      return h('div', { id: base, className: 'cb-field-editor' }, parts);
    }

    function item(f, i) {
      var label = f.label || f.id || '(no label)', open = api.openField() === f, base = 'cbp-ff-' + i;
      function named(text) {   // visible "Edit", heard "Edit “Crime reference number”"
        return [text, h('span', { className: 'sr-only', text: ' \u201c' + label + '\u201d' })];
      }
      var edit = h('button', { type: 'button', id: base + '-edit', className: 'btn btn-outline-secondary',
        'aria-expanded': open ? 'true' : 'false', 'aria-controls': open ? base : null }, named('Edit'));
      edit.addEventListener('click', function () { api.openField(open ? null : f); api.rerender(); });
      var up = h('button', { type: 'button', id: base + '-up', className: 'btn btn-outline-secondary', disabled: i === 0 },
        named('Up'));
      up.addEventListener('click', function () { move(f, i, -1); });
      var down = h('button', { type: 'button', id: base + '-down', className: 'btn btn-outline-secondary',
        disabled: i === fields.length - 1 }, named('Down'));
      down.addEventListener('click', function () { move(f, i, 1); });
      var remove = h('button', { type: 'button', id: base + '-remove', className: 'btn btn-outline-danger' }, named('Remove'));
      remove.addEventListener('click', function () {
        if (open) { api.openField(null); }
        api.focusNext('cbp-ff-add');
        run([set(element, data, { fields: fields.filter(function (x) { return x !== f; }) })]);
      });
      return h('li', { className: 'cb-field', 'data-field-id': f.id || '' }, [
        h('div', { className: 'cb-field-head' }, [h('span', { className: 'cb-field-label', text: label }),
          h('span', { className: 'cb-field-meta', text: meta(f) })]),
        h('div', { className: 'btn-group btn-group-sm', role: 'group', 'aria-label': 'Field \u201c' + label + '\u201d' },
          [edit, up, down, remove]),
        open ? editor(f, i) : null]);
    }

    var box = h('fieldset', { className: 'cb-group' }, [h('legend', { className: 'h6', text: 'Form fields' })]);
    if (!fields.length) {
      box.appendChild(h('p', { className: 'small text-muted mb-1', text: 'No form: the step is done with one button.' }));
    }
    box.appendChild(h('ol', { id: 'cbp-fields', className: 'list-unstyled mb-2' }, fields.map(item)));
    box.appendChild(api.button('Add a field', function () {
      var cmds = [], holder = api.ensureExt(element, bo, 'camunda:FormData', { fields: [] }, cmds);
      var made = api.create('camunda:FormField',
        { id: uniqueId('new_field', holder.get('fields')), label: 'New field', type: 'string' }, holder);
      cmds.push(set(element, holder, { fields: holder.get('fields').concat([made]) }));
      api.fresh.add(made);
      api.openField(made);
      api.focusNext('cbp-ff-' + fields.length + '-label');
      run(cmds);
    }, { id: 'cbp-ff-add' }));
    return box;
  }

  window.CasebookPanelForms = { section: section, meta: meta };
})();
