"""Why a play is refused: a code a program reads, one bilingual message (the diner's page
shows it as is). Each changes nothing: raised before anything is written."""

from edge.orders.errors import OrderError


def error(status: int, code: str, zh: str, en: str) -> OrderError:
    return OrderError(status, code, f"{zh} / {en}")


def no_campaign() -> OrderError:
    return error(404, "no_campaign", "没有这个活动", "There is no such campaign")


def not_running() -> OrderError:
    return error(409, "campaign_closed", "活动不在进行中", "This campaign is not running now")


def paused() -> OrderError:
    return error(409, "campaign_paused", "本店暂停了这个活动", "This store paused the campaign")


def pay_first() -> OrderError:
    return error(409, "pay_first", "结账后才能玩哦", "You can play once the bill is paid")


def bill_played() -> OrderError:
    return error(409, "bill_played", "这张账单已经玩过了", "This bill has been played already")


def sign_in() -> OrderError:
    return error(401, "member_required", "请先登录会员", "Sign in as a member to play")


def not_eligible(zh: str, en: str) -> OrderError:
    return error(403, "not_eligible", zh, en)


def limit(zh: str, en: str) -> OrderError:
    return error(429, "play_limit", zh, en)


def play_mismatch() -> OrderError:
    return error(
        409, "play_mismatch", "这个游戏编号已用于别的游戏", "This play id belongs to another play"
    )


def not_asked() -> OrderError:
    return error(
        409, "not_asked", "没有等待回答的问题", "There is no question waiting for this answer"
    )


def already_member_claimed() -> OrderError:
    return error(409, "already_claimed", "您已经领过这个活动的礼物", "You took this gift already")


def stamped() -> OrderError:
    return error(
        409, "table_stamped", "这张桌子已经为您的卡盖过章", "This table stamped your card already"
    )


def rate_limited() -> OrderError:
    return error(429, "rate_limited", "操作太频繁，请稍后再试", "Too many requests, please wait")
