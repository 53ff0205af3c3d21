"""Bounded `limit`/`offset` query parameters for every paginated list.

Without an upper bound an offset such as 99999999999999999999 reaches the database and fails there (a
500); with one it is a 422 naming the parameter.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

MAX_LIMIT = 1000
MAX_OFFSET = 10_000_000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1 to {MAX_LIMIT}")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"Items to skip, 0 to {MAX_OFFSET}")]
