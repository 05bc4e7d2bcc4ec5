// Progressive enhancement of the "Check grade" step: once an input changes after
// the grade was shown, the shown grade no longer describes the inputs, so the
// confirm button is withdrawn until the grade is checked again. The server
// enforces the same rule without JavaScript. The notice's text comes translated from the page
// (data-stale-text on the preview), so this file holds no words of its own.
document.addEventListener("DOMContentLoaded", () => {
  const confirm = document.querySelector("[data-testid=confirm-save]");
  const preview = document.querySelector("[data-testid=grade-preview]");
  if (!confirm || !preview) return;
  const form = confirm.closest("form");
  const stale = () => {
    confirm.hidden = true;
    preview.classList.replace("alert-info", "alert-warning");
    preview.querySelector("span:last-child").textContent = preview.dataset.staleText;
  };
  form.addEventListener("input", stale, { once: true });
  form.addEventListener("change", stale, { once: true });
});
