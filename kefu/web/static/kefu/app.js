// Small progressive enhancements; every page works without them.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("[data-autosubmit]")) el.form.requestSubmit();
  if (el.matches("[data-select-all]")) {
    document.querySelectorAll("input[name='ticket_ids']").forEach((box) => { box.checked = el.checked; });
  }
});
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});
// Agent assist: "Insert" puts a suggestion into the reply box (and remembers which template it came from,
// so that the reply counts for that template's A/B experiment).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-insert-reply]");
  if (!button) return;
  const form = document.querySelector(".composer form");
  const box = form && form.querySelector("textarea[name=body]");
  if (!box) return;
  const text = button.getAttribute("data-insert-reply");
  box.value = box.value ? box.value.replace(/\s*$/, "\n\n") + text : text;
  if (button.dataset.template) form.querySelector("input[name=template]").value = button.dataset.template;
  box.focus();
});
