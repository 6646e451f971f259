/* Accessibility: tie jupyterquiz's answer fields to their labels.
 *
 * jupyterquiz draws numeric and string questions as <label class="InpLabel">Type ... here:</label>
 * followed by <input class="Input-text" id="...">, without the label's "for" attribute, so the
 * field has no accessible name (axe-core: label, WCAG 4.1.2). Quizzes are drawn by scripts
 * (some after loading their questions), so the labels are tied whenever the page changes.
 */
(function () {
  "use strict";

  function labelQuizInputs() {
    document.querySelectorAll("label.InpLabel:not([for])").forEach(function (label) {
      var input = label.nextElementSibling;
      if (input && input.tagName === "INPUT" && input.id) {
        label.htmlFor = input.id;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    labelQuizInputs();
    new MutationObserver(labelQuizInputs).observe(document.body, {
      childList: true,
      subtree: true,
    });
  });
})();
