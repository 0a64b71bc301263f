"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const token = document.getElementById("token");
    try {
      await CC.api("POST", "/api/login", {
        name: document.getElementById("name").value,
        token: token ? token.value : "",
      });
      const next = new URLSearchParams(window.location.search).get("next") || "/label";
      // Only same-site paths: never follow ?next= to another site.
      window.location.assign(/^\/(?!\/)/.test(next) ? next : "/label");
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
});
