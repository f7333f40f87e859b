// Applications pages: a file input with data-into="ID" reads the chosen
// file (SAML metadata) into the textarea #ID, so the form posts it as
// text; without script, the metadata can be pasted instead.
(function () {
  "use strict";
  function init() {
    var inputs = document.querySelectorAll("input[type=file][data-into]");
    for (var i = 0; i < inputs.length; i++) {
      inputs[i].addEventListener("change", function (ev) {
        var input = ev.target;
        var target = document.getElementById(input.getAttribute("data-into"));
        var file = input.files && input.files[0];
        if (!target || !file) {
          return;
        }
        var reader = new FileReader();
        reader.onload = function () {
          target.value = String(reader.result);
        };
        reader.readAsText(file);
      });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
