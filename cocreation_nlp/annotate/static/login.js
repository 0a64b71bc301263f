"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const token = document.getElementById("token");
    try {
      const res = await CC.api("POST", "/api/login", {
        name: document.getElementById("name").value,
        token: token ? token.value : "",
        next: new URLSearchParams(window.location.search).get("next") || "",
      });
      // The server answers with one of the app's own pages (never another
      // site, whatever ?next= holds); check again here before following it.
      const pages = ["/label", "/adjudicate", "/agreement", "/passages"];
      window.location.assign(pages.includes(res.next) ? res.next : "/label");
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
});
