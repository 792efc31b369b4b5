// Conditional fields of the Switchboard web form. The page works without
// this script: every field is shown and the server ignores those whose
// condition does not hold. With it, a field shown "only when" another has a
// value appears only then, and while hidden its inputs are disabled so the
// browser neither checks nor sends them.
(function () {
  'use strict';
  document.documentElement.classList.add('js');

  function update(form) {
    // Conditions point at earlier fields, so one pass in document order
    // settles chains of them.
    var wrappers = form.querySelectorAll('[data-when-field]');
    for (var i = 0; i < wrappers.length; i++) {
      var wrapper = wrappers[i];
      var name = wrapper.getAttribute('data-when-field');
      var source = form.elements.namedItem(name);
      var sourceWrapper = document.getElementById('w-' + name);
      var sourceOn = !sourceWrapper || !sourceWrapper.hidden;
      var value = source && !source.disabled ? String(source.value || '').trim() : '';
      var on = sourceOn && value === wrapper.getAttribute('data-when-value');
      wrapper.hidden = !on;
      var controls = wrapper.querySelectorAll('input, select, textarea');
      for (var j = 0; j < controls.length; j++) {
        controls[j].disabled = !on;
      }
    }
  }

  function start() {
    var forms = document.querySelectorAll('.sb-form form');
    for (var i = 0; i < forms.length; i++) {
      (function (form) {
        update(form);
        form.addEventListener('input', function () { update(form); });
        form.addEventListener('change', function () { update(form); });
      })(forms[i]);
    }
    var summary = document.getElementById('errors');
    if (summary) {
      summary.focus();
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
