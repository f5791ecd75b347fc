"""What every HQ report does alike: percentiles, and CSV that Excel opens with Chinese intact."""

import csv
import io
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic_core
from fastapi import Response
from pydantic import BaseModel


def percentile(values: list[float], p: int) -> float | None:
    # The same definition as /service, so HQ compares like with like.
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return round(statistics.quantiles(values, n=100, method="inclusive")[p - 1], 3)


def _csv_cell(value: object) -> object:
    # Excel runs a cell that starts like a formula; names come from store menus, not HQ.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def json_or_csv(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The 200 of a report for `responses=`: its rows as JSON, or (format=csv) as CSV."""
    return {
        200: {
            "model": list[model],  # type: ignore[valid-type]
            "description": "The report's rows: JSON, or CSV with format=csv",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }


Row = BaseModel | Mapping[str, Any]


def json_rows(rows: Sequence[Row]) -> Response:
    """A report's rows as JSON, serialised by pydantic-core in one call. FastAPI's own path for
    a route without a response model (jsonable_encoder, row by row in Python) takes seconds
    for the 180,000 rows of a month of 500 stores by hour (docs/benchmarks.md)."""
    return Response(pydantic_core.to_json(rows), media_type="application/json")


def csv_response(rows: Sequence[Row], model: type[BaseModel], filename: str) -> Response:
    out = io.StringIO()
    # The BOM is how Excel knows the file is UTF-8; without it Chinese names are mojibake.
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=list(model.model_fields))
    writer.writeheader()
    writer.writerows(
        {k: _csv_cell(v) for k, v in (r.model_dump() if isinstance(r, BaseModel) else r).items()}
        for r in rows
    )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
