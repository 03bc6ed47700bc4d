// holdfast: progressive enhancements only; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Confirm destructive actions marked with data-confirm.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  }

  // On narrow screens the main menu folds behind one button (styles in app.css, under 640px).
  // Without this script the menu simply stays open.
  const menu = document.querySelector(".menu-button");
  const nav = document.getElementById("mainnav");
  if (menu && nav) {
    const setOpen = (open) => {
      menu.setAttribute("aria-expanded", String(open));
      document.documentElement.classList.toggle("menu-open", open);
    };
    document.documentElement.classList.add("menu-folds");
    setOpen(false);
    menu.addEventListener("click", () => setOpen(menu.getAttribute("aria-expanded") !== "true"));
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && menu.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        menu.focus();
      }
    });
  }
});
