"""OGC API - Features: landing page, conformance, collections, items, one item."""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from api.auth import Principal, current_principal
from api.concurrency import etag
from api.deps import DatabaseDep
from api.problems import responses
from api.services import features

router = APIRouter(tags=["ogc"])

GEOJSON = "application/geo+json"
#: Largest page of ``/items``; a bigger ``limit`` is clamped to it (OGC API - Features 7.15.3).
MAX_LIMIT = 10_000
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]


class Link(BaseModel):
    """A web link (RFC 8288) as OGC API uses it."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class Landing(BaseModel):
    """The landing page."""

    title: str
    description: str
    links: list[Link]


class Conformance(BaseModel):
    """Conformance classes this API implements."""

    conformsTo: list[str]  # noqa: N815 (OGC member name)


class CollectionInfo(BaseModel):
    """One collection's description."""

    id: str
    title: str
    description: str
    itemType: str = "feature"  # noqa: N815
    crs: list[str]
    extent: dict[str, Any]
    links: list[Link]


class Collections(BaseModel):
    """Every collection."""

    collections: list[CollectionInfo]
    links: list[Link]


class FeatureCollectionOut(BaseModel):
    """A page of features (GeoJSON) with OGC paging members."""

    model_config = ConfigDict(extra="allow")

    type: str = "FeatureCollection"
    features: list[dict[str, Any]]
    numberMatched: int  # noqa: N815
    numberReturned: int  # noqa: N815
    timeStamp: str  # noqa: N815
    links: list[Link]


class FeatureOut(BaseModel):
    """One GeoJSON feature."""

    model_config = ConfigDict(extra="allow")

    type: str = "Feature"
    id: str
    geometry: dict[str, Any]
    properties: dict[str, Any]
    links: list[Link] = []


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _collection_info(
    request: Request, collection: features.Collection, extent: dict[str, Any]
) -> CollectionInfo:
    base = _base(request)
    return CollectionInfo(
        id=collection.id,
        title=collection.title,
        description=collection.description,
        crs=["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        extent=extent,
        links=[
            Link(href=f"{base}/collections/{collection.id}", rel="self", type="application/json"),
            Link(href=f"{base}/collections/{collection.id}/items", rel="items", type=GEOJSON),
        ],
    )


@router.get("/", response_model=Landing, summary="Landing page")
def landing(request: Request) -> Landing:
    """Links to the API description, conformance and collections (no token needed)."""
    base = _base(request)
    return Landing(
        title="patrolgrid",
        description="Grids, incidents, workflow, hotspots and patrol plans (OGC API - Features).",
        links=[
            Link(href=f"{base}/", rel="self", type="application/json"),
            Link(
                href=f"{base}/openapi.json",
                rel="service-desc",
                type="application/vnd.oai.openapi+json;version=3.0",
            ),
            Link(href=f"{base}/conformance", rel="conformance", type="application/json"),
            Link(href=f"{base}/collections", rel="data", type="application/json"),
        ],
    )


@router.get("/conformance", response_model=Conformance, summary="Conformance classes")
def conformance() -> Conformance:
    """The OGC API - Features Part 1 classes implemented (no token needed)."""
    return Conformance(conformsTo=CONFORMANCE)


@router.get(
    "/collections",
    response_model=Collections,
    summary="Feature collections",
    responses=responses(401),
)
def collections(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    database: DatabaseDep,
) -> Collections:
    """The collections the caller may read (volunteers do not see ``incidents``).

    Each extent is the real one of the data in the caller's scope (bbox and time interval).
    """
    features.only_parameters(request.query_params, ("f",))
    visible = [
        c
        for c in features.COLLECTIONS.values()
        if c.id != "incidents" or principal.role != "volunteer"
    ]
    with database.sessions() as session:
        extents = [features.extent(session, c, principal) for c in visible]
    return Collections(
        collections=[
            _collection_info(request, c, e) for c, e in zip(visible, extents, strict=True)
        ],
        links=[Link(href=f"{_base(request)}/collections", rel="self", type="application/json")],
    )


CollectionId = Annotated[str, Path(description="`grids` or `incidents`", max_length=64)]


@router.get(
    "/collections/{collectionId}",
    response_model=CollectionInfo,
    summary="One collection",
    responses=responses(400, 401, 403, 404),
)
def collection(
    request: Request,
    collectionId: CollectionId,  # noqa: N803 (OGC parameter name)
    principal: Annotated[Principal, Depends(current_principal)],
    database: DatabaseDep,
) -> CollectionInfo:
    """A collection's description with its real extent in the caller's scope."""
    features.only_parameters(request.query_params, ("f",))
    found = features.collection_or_404(collectionId)
    features._check_access(found, principal)
    with database.sessions() as session:
        return _collection_info(request, found, features.extent(session, found, principal))


@router.get(
    "/collections/{collectionId}/items",
    response_class=JSONResponse,
    summary="Features of a collection",
    responses={
        200: {
            "description": "A page of features",
            "content": {GEOJSON: {"schema": FeatureCollectionOut.model_json_schema()}},
        },
        **responses(400, 401, 403, 404),
    },
)
async def items(
    request: Request,
    collectionId: CollectionId,  # noqa: N803
    principal: Annotated[Principal, Depends(current_principal)],
    database: DatabaseDep,
    bbox: Annotated[
        str | None, Query(description="minx,miny,maxx,maxy in lon/lat (CRS84)", max_length=200)
    ] = None,
    datetime: Annotated[
        str | None,
        Query(description="RFC 3339 instant or interval start/end ('..' open)", max_length=100),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, description=f"Page size; above {MAX_LIMIT} it is clamped to {MAX_LIMIT}")
    ] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
    level: Annotated[
        str | None,
        Query(description="grids only: one level", pattern="^(district|street|community|grid)$"),
    ] = None,
) -> JSONResponse:
    """Features filtered by ``bbox`` and ``datetime`` in the database, paged with ``next`` links.

    A query parameter not listed here is a 400 problem (OGC API - Features).
    """
    features.only_parameters(
        request.query_params, ("bbox", "datetime", "limit", "offset", "level", "f")
    )
    found = features.collection_or_404(collectionId)
    limit = min(limit, MAX_LIMIT)
    box = features.parse_bbox(bbox)
    interval = features.parse_datetime(datetime)

    def query() -> tuple[list[dict[str, Any]], int]:
        with database.sessions() as session:
            return features.items(
                session,
                found,
                principal,
                bbox=box,
                interval=interval,
                limit=limit,
                offset=offset,
                level=level,
            )

    page, matched = await run_in_threadpool(query)
    url = request.url
    links = [Link(href=str(url), rel="self", type=GEOJSON)]
    if offset + len(page) < matched:
        links.append(
            Link(
                href=str(url.include_query_params(offset=offset + limit, limit=limit)),
                rel="next",
                type=GEOJSON,
            )
        )
    if offset > 0:
        links.append(
            Link(
                href=str(url.include_query_params(offset=max(0, offset - limit), limit=limit)),
                rel="prev",
                type=GEOJSON,
            )
        )
    body = {
        "type": "FeatureCollection",
        "features": page,
        "numberMatched": matched,
        "numberReturned": len(page),
        "timeStamp": _dt.datetime.now(_dt.UTC).isoformat(),
        "links": [link.model_dump(exclude_none=True) for link in links],
    }
    return JSONResponse(body, media_type=GEOJSON)


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    response_class=JSONResponse,
    summary="One feature",
    responses={
        200: {
            "description": "The feature",
            "content": {GEOJSON: {"schema": FeatureOut.model_json_schema()}},
        },
        **responses(400, 401, 403, 404),
    },
)
def item(
    request: Request,
    collectionId: CollectionId,  # noqa: N803
    featureId: Annotated[str, Path(max_length=128)],  # noqa: N803
    principal: Annotated[Principal, Depends(current_principal)],
    database: DatabaseDep,
) -> JSONResponse:
    """One feature in the caller's scope."""
    features.only_parameters(request.query_params, ("f",))
    found = features.collection_or_404(collectionId)
    with database.sessions() as session:
        body = features.feature(session, found, principal, featureId)
    base = _base(request)
    body["links"] = [
        {"href": str(request.url), "rel": "self", "type": GEOJSON},
        {"href": f"{base}/collections/{found.id}", "rel": "collection", "type": "application/json"},
    ]
    version = body["properties"].get("version") if found.id == "incidents" else None
    headers = None if version is None else {"ETag": etag(version)}
    return JSONResponse(body, media_type=GEOJSON, headers=headers)
