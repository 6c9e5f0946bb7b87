// The notice form: a warning's fields (urgency, severity, certainty, areas: CAP 1.2) are shown
// only while the chosen kind is a warning (its option carries data-warning).
(function () {
  var kind = document.getElementById("kind");
  var fields = document.getElementById("warning-fields");
  if (!kind || !fields) { return; }
  function toggle() {
    var option = kind.options[kind.selectedIndex];
    fields.hidden = !(option && option.dataset.warning === "1");
  }
  kind.addEventListener("change", toggle);
  toggle();
})();
