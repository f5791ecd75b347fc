"""Why a member operation is refused: a code a program reads, one bilingual message."""

from edge.orders.errors import OrderError


class MemberNotFound(LookupError):
    pass


def error(status: int, code: str, zh: str, en: str) -> OrderError:
    return OrderError(status, code, f"{zh} / {en}")


def already_member() -> OrderError:
    return error(
        409,
        "already_member",
        "这个手机号已是会员，请登录",
        "This number is a member already: sign in instead",
    )


def coupon_used() -> OrderError:
    return error(409, "coupon_used", "这张券已经用过了", "This coupon has been used already")
