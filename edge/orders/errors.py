"""Why an order is refused: a code a program reads, one bilingual message a diner reads."""

from typing import Any


class OrderError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def detail(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


def bad_token() -> OrderError:
    return OrderError(
        403,
        "bad_token",
        "二维码无效或已过期，请联系服务员 / This QR code is not valid, please ask staff",
    )


def table_closed(table: str) -> OrderError:
    return OrderError(
        409,
        "table_closed",
        f"{table} 桌已关闭，请联系服务员 / Table {table} is closed, please ask staff",
    )


def rate_limited() -> OrderError:
    return OrderError(
        429, "rate_limited", "操作太频繁，请稍后再试 / Too many requests, please wait a minute"
    )
