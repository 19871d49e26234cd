"""FastAPI dependencies shared by the routers (``Annotated`` aliases)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.db.engine import Database
from api.services.grids import GridCache
from api.settings import Settings

__all__ = ["DatabaseDep", "GridCacheDep", "SettingsDep"]


def _database(request: Request) -> Database:
    return request.app.state.database


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _grid_cache(request: Request) -> GridCache:
    return request.app.state.grid_cache


DatabaseDep = Annotated[Database, Depends(_database)]
SettingsDep = Annotated[Settings, Depends(_settings)]
GridCacheDep = Annotated[GridCache, Depends(_grid_cache)]
