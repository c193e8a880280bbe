// Progressive enhancement only: every page works without scripts.
document.addEventListener("click", function (e) {
  var b = e.target.closest("button.copy");
  if (!b) return;
  navigator.clipboard.writeText(b.getAttribute("data-copy")).then(function () {
    var was = b.textContent;
    b.textContent = "Copied";
    setTimeout(function () { b.textContent = was; }, 1500);
  });
});
