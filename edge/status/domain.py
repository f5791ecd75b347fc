"""The status domain: the hub's health and statistics pages."""

from fastapi import APIRouter

from edge.core.domain import Domain


class StatusDomain(Domain):
    name = "status"

    @classmethod
    def router(cls) -> APIRouter:
        from edge.status.routes import router

        return router
