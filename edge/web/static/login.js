"use strict";
document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const error = document.getElementById("error");
  error.hidden = true;
  const body = {
    name: document.getElementById("name").value.trim(),
    pin: document.getElementById("pin").value,
  };
  try {
    const res = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.ok) {
      // Back where the staff member was going (only a path on this hub).
      const next = new URLSearchParams(location.search).get("next") || "/board";
      location.href = next.startsWith("/") && !next.startsWith("//") ? next : "/board";
      return;
    }
    const data = await res.json().catch(() => ({}));
    error.textContent = typeof data.detail === "string" ? data.detail : "登录失败 Login failed";
  } catch (e) {
    error.textContent = "无法连接 Cannot reach the hub";
  }
  error.hidden = false;
});
