// Casebook: drop a file onto an upload form's drop zone to fill its file input (the input works alone without
// JavaScript). The size is checked here only to say so at once; the server decides.
(function () {
  'use strict';
  function sizeText(n) {
    if (n < 1024) { return n + ' bytes'; }
    if (n < 1048576) { return (n / 1024).toFixed(1) + ' KB'; }
    return (n / 1048576).toFixed(1) + ' MB';
  }
  function wire(zone) {
    if (zone.getAttribute('data-drop-ready')) { return; }
    zone.setAttribute('data-drop-ready', '1');
    var input = zone.querySelector('input[type=file]');
    var status = zone.querySelector('[data-drop-status]');
    var max = parseInt(zone.getAttribute('data-max-bytes') || '0', 10);
    var original = status ? status.textContent : '';
    function show() {
      var file = input.files && input.files[0];
      if (!status) { return; }
      if (!file) { status.textContent = original; status.className = 'form-text text-muted'; return; }
      if (max && file.size > max) {
        status.textContent = file.name + ' is ' + sizeText(file.size) + ', larger than the ' + sizeText(max) +
          ' limit: it will be refused.';
        status.className = 'form-text text-danger';
      } else {
        status.textContent = 'Ready to upload: ' + file.name + ' (' + sizeText(file.size) + ').';
        status.className = 'form-text text-success';
      }
    }
    function over(event) {
      event.preventDefault();
      zone.style.borderColor = '#007bff';
    }
    function leave() { zone.style.borderColor = ''; }
    zone.addEventListener('dragenter', over);
    zone.addEventListener('dragover', over);
    zone.addEventListener('dragleave', leave);
    zone.addEventListener('drop', function (event) {
      event.preventDefault();
      leave();
      var files = event.dataTransfer && event.dataTransfer.files;
      if (!files || !files.length) { return; }
      try {
        var one = new DataTransfer();   // one file per upload: the first one dropped
        one.items.add(files[0]);
        input.files = one.files;
      } catch (e) {
        input.files = files;
      }
      show();
    });
    input.addEventListener('change', show);
  }
  function wireAll() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-drop-zone]'), wire);
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', wireAll);
  } else {
    wireAll();
  }
}());
