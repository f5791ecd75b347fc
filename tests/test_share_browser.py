"""Invite a friend on phones, in headless Chromium against a real hub (no HQ: offline): the
member tab shows the member's share code and what both earn; the friend opens the invite link,
whose code fills the join form, joins and pays a first bill; the friend's tab holds the reward
coupon and the inviter's tab shows the points and the friend rewarded, in Chinese and English."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from contract.campaigns import CampaignsConfig
from tests.games import games_kitchen, share, store_config
from tests.ordering import TEA
from tests.test_members_pages import phone, scan_table, watched

pytestmark = pytest.mark.browser


def test_the_member_tab_invites_a_friend_who_joins_by_the_link_and_both_earn(
    browser: Browser, tmp_path: Path, store: str
) -> None:
    config = store_config(CampaignsConfig(campaigns=[share()]))
    with games_kitchen(tmp_path, store, config) as k:
        ann = phone(browser, "zh-CN")
        friend = phone(browser, "en-US")
        try:
            with watched(ann) as problems, watched(friend) as friend_problems:
                # Ann joins on her table's page and opens her member tab: her invitation.
                scan_table(ann, k, "A1")
                ann.locator("#member-btn").click()
                sheet = ann.locator("#member-sheet")
                sheet.locator("#join-phone").fill("13800138000")
                sheet.locator("#join-consent").check()
                sheet.locator("#join-btn").click()
                box = sheet.locator("#m-invite-box")
                expect(box).to_be_visible()
                expect(box).to_contain_text("邀请好友")
                expect(box).to_contain_text("好友首次结账后：您得 200 积分，好友得 满100减20")
                expect(box).to_contain_text("今天还可邀请 5 位好友")
                code = sheet.locator("#m-invite-code").inner_text()
                assert code.startswith("SSI1-")

                # The friend opens Ann's link at their own table: the code is filled in.
                friend.goto(k.hub.base_url + k.table_path("A2") + "?invite=" + code)
                expect(friend.locator('[data-dish="tea"]')).to_be_visible()
                friend.locator("#member-btn").click()
                fsheet = friend.locator("#member-sheet")
                expect(fsheet.locator("#join-invite")).to_have_value(code)
                fsheet.locator("#join-phone").fill("13912345678")
                fsheet.locator("#join-consent").check()
                fsheet.locator("#join-btn").click()
                expect(fsheet.locator("#m-invite-box")).to_contain_text("Invite a friend")
                expect(fsheet.locator("#m-coupons")).not_to_contain_text("20 off 100")

                # The friend's first bill is paid at A2.
                r = k.diner.post(
                    f"/api/diner/{k.token('A2')}/orders", json={"key": "k" * 20, "lines": [TEA]}
                )
                assert r.status_code == 201, r.text
                k.staff.post("/api/tables/A2/pay", json={"method": "cash"}).raise_for_status()
                expect(friend.locator("#feedback-sheet")).to_be_visible()
                friend.locator("#fb-skip").click()
                friend.locator("#member-btn").click()
                expect(fsheet.locator("#m-coupons")).to_contain_text("20 off 100")

                # Ann opens her tab again: 200 points, and her friend rewarded.
                ann.reload()
                ann.locator("#member-btn").click()
                expect(sheet.locator("#m-points")).to_have_text("200 积分")
                expect(sheet.locator("#m-friends")).to_contain_text(
                    "139****5678 · 已首次结账，奖励已发放"
                )
            assert problems == [] and friend_problems == []
        finally:
            ann.context.close()
            friend.context.close()
