// Small improvements; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // A table that scrolls sideways in its own box (phones, tablets) can be scrolled from the keyboard.
  for (const box of document.querySelectorAll("main table.table, main .table-responsive, main .scroll-box")) {
    if (box.scrollWidth > box.clientWidth && !box.hasAttribute("tabindex")) {
      box.tabIndex = 0;
    }
  }
});
