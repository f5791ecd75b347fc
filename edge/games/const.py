"""The games domain's numbers, in one place (docs/games.md says why each is what it is)."""

from typing import Final

# A paid bill may be played for this long after it was paid (a diner plays at the table, on
# the way out at most; a photographed QR code the next day plays nothing).
PLAY_WINDOW_S: Final = 2 * 3600.0
# Requests a table, or one phone, may make per minute to anything that gives value away
# (plays, answers, claims, stamps). A real party taps a few times.
PLAYS_PER_TABLE_PER_MINUTE: Final = 20
PLAYS_PER_SESSION_PER_MINUTE: Final = 10
# Farming: this many new members (joined within the window) playing at one table within the
# window is not a family dinner; the next play is held for staff with the reason.
FARM_WINDOW_S: Final = 10 * 60.0
FARM_NEW_MEMBERS_PER_TABLE: Final = 3
# One phone playing for this many different members in a day is one person with many accounts.
MEMBERS_PER_SESSION_PER_DAY: Final = 2
# Members who join, take the welcome coupon and never pay: this many new members (joined
# within the window) on one phone without a paid bill here, each holding a coupon, is one
# person taking welcome coupons with new phone numbers; the next such member's play is held.
# The window is the games cookie's life: a phone is known that long.
FARM_UNPAID_WINDOW_S: Final = 30 * 86_400.0
FARM_UNPAID_MEMBERS_PER_PHONE: Final = 2
# The phone's games cookie (random, HttpOnly): "per phone session" limits count by it.
SESSION_COOKIE: Final = "ss_games"
SESSION_COOKIE_S: Final = 30 * 86_400.0
QUIZ_CHOICES: Final = 4
# Flagged plays a staff page lists at once.
FLAGGED_LIST_MAX: Final = 200
# A stamp card counts the member's stamps from other stores as HQ last told them: the Games
# tab and a stamp ask HQ again when its answer is older than this (a lookup waits at most
# 2 s, and not at all for 30 s after HQ failed to answer: edge/members/hq.py).
CARD_FRESH_S: Final = 5.0
# The draw process (edge/games/drawer.py): a spin it has not answered in this long (the
# database's busy timeout is 10 s) means it is stuck; it is killed and the hub decides.
DRAW_ANSWER_S: Final = 15.0
# A process that ended is started again at the next spin, not sooner than this after the last
# start (one that dies at once is not restarted in a loop); meanwhile the hub decides.
DRAW_PROCESS_RESPAWN_S: Final = 30.0
# How long the hub's stop waits for it to end before killing it.
DRAW_PROCESS_STOP_S: Final = 5.0
