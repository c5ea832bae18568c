// Casebook: behaviour that would otherwise be inline (the Content-Security-Policy allows no inline script).
(function () {
  'use strict';
  document.addEventListener('click', function (event) {
    if (event.target.closest('[data-print]')) { window.print(); return; }
    var target = event.target.closest('[data-model-action], [data-confirm], [data-no-follow]');
    if (!target) { return; }
    if (target.hasAttribute('data-no-follow')) {
      event.preventDefault();   // Flask-Admin's own handler (filters.js) does the work
    } else if (target.hasAttribute('data-model-action')) {
      // Flask-Admin's "With selected" actions (admin/js/actions.js defines modelActions on list pages).
      event.preventDefault();
      if (window.modelActions) { window.modelActions.execute(target.getAttribute('data-model-action')); }
    } else if (!window.confirm(target.getAttribute('data-confirm'))) {
      event.preventDefault();
    }
  });
  // A form that came back with problems: the summary takes focus (screen readers read it; its links go to
  // each field).
  // Flask-Admin's own forms mark a field with .is-invalid only: tie each to its message for screen readers.
  document.querySelectorAll('.is-invalid:not([aria-invalid])').forEach(function (field, n) {
    var message = field.parentNode.querySelector('.invalid-feedback');
    field.setAttribute('aria-invalid', 'true');
    if (message) {
      message.id = message.id || 'field-error-' + n;
      field.setAttribute('aria-describedby', message.id);
    }
  });
  var summary = document.querySelector('[data-error-summary]');
  if (summary) { summary.focus(); }
}());
