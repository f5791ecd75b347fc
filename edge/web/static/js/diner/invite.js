// Invite a friend, on the member tab: the member's share code (signed by the hub: nobody can
// make one for someone else), what both earn when the friend pays a first bill, and the
// friends who joined with it. A link with ?invite=<code> opens the table page with the join
// form's code filled in; at the restaurant a friend can also type it at their own table.
import { $, h } from "../dom.js";
import { t, nm, onLangChange } from "../i18n.js";
import { call } from "../api.js";
import { API, state, on } from "./state.js";
import { msg } from "./ui.js";

let invite = null; // the hub's answer for the member signed in here
let asking = false;

const memberId = () => (state.member && state.member.member ? state.member.member.id : "");

function rewardText(r) {
  const parts = [];
  if (r && r.points) parts.push(t("points", r.points));
  if (r && r.coupon) parts.push(nm(r.coupon));
  return parts.join(" + ");
}

function link(code) {
  const url = new URL(location.href);
  url.search = "";
  url.hash = "";
  url.searchParams.set("invite", code);
  return url.toString();
}

function render() {
  const box = $("m-invite-box");
  box.hidden = !(memberId() && invite && invite.campaign && invite.member === memberId());
  if (box.hidden) return;
  $("m-invite-title").textContent = nm(invite.campaign);
  $("m-invite-text").textContent = t("inviteRewards", rewardText(invite.inviter), rewardText(invite.friend));
  $("m-invite-code").textContent = invite.code;
  $("m-invite-left").textContent = t("inviteLeft", invite.left_today);
  $("m-friends").replaceChildren(
    ...invite.friends.map((f) =>
      h("li", f.rewarded ? "friend rewarded" : "friend", `${f.phone} · ${t(f.rewarded ? "friendRewarded" : "friendWaiting")}`),
    ),
  );
}

async function load() {
  const id = memberId();
  if (!id) {
    invite = null;
    render();
    return;
  }
  if (asking) return;
  asking = true;
  const r = await call("GET", `${API}/member/invite`);
  asking = false;
  if (r.ok && r.data) invite = { ...r.data, member: id };
  render();
}

async function copy() {
  if (!invite || !invite.code) return;
  const text = link(invite.code);
  try {
    if (navigator.share) await navigator.share({ title: nm(invite.campaign), url: text });
    else await navigator.clipboard.writeText(text);
    msg(t("inviteCopied"), "ok");
  } catch {
    msg(text, "ok", 12000); // no clipboard here (a page over plain http): show it to copy by hand
  }
}

const given = new URLSearchParams(location.search).get("invite");
if (given) $("join-invite").value = given.slice(0, 80);
$("m-invite-copy").addEventListener("click", copy);
on("member", load);
onLangChange(render);
