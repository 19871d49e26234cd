"""Offline web assets: Leaflet and its plugins, read from installed Python packages.

Police intranets have no internet, so a map page may not load anything from a CDN. The
JavaScript and CSS come from pinned PyPI packages that ship the upstream dist files:

- Leaflet 1.9.4: ``django-js-lib-leaflet`` (``js_lib_leaflet/static/js_lib_leaflet/``),
- Leaflet.markercluster 1.4.1: ``XStatic-Leaflet-MarkerCluster``,
- Leaflet.heat: the minified copy that ``folium`` itself ships in ``folium/templates/``.

:func:`inline_html` rewrites a rendered folium page: every ``<script src>`` and stylesheet
``<link>`` that folium points at a CDN is replaced by the local file's contents (CSS images
become ``data:`` URIs), links to libraries this package never uses (jQuery, Bootstrap,
Font Awesome, awesome-markers) are dropped, and any other remote reference is an error.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import MapsError

__all__ = ["ASSETS", "Asset", "asset_text", "inline_html", "our_script"]


@dataclass(frozen=True)
class Asset:
    """One local file standing in for a CDN file.

    Parameters
    ----------
    package
        Import name of the package that ships the file.
    relpath
        Path of the file inside that package.
    kind
        ``"js"`` or ``"css"``.
    """

    package: str
    relpath: str
    kind: str


#: CDN file name (the last path segment folium links to) -> local asset.
ASSETS: dict[str, Asset] = {
    "leaflet.js": Asset("js_lib_leaflet", "static/js_lib_leaflet/leaflet.js", "js"),
    "leaflet.css": Asset("js_lib_leaflet", "static/js_lib_leaflet/leaflet.css", "css"),
    "leaflet.markercluster.js": Asset(
        "xstatic.pkg.leaflet_markercluster", "data/leaflet.markercluster.js", "js"
    ),
    "MarkerCluster.css": Asset(
        "xstatic.pkg.leaflet_markercluster", "data/MarkerCluster.css", "css"
    ),
    "MarkerCluster.Default.css": Asset(
        "xstatic.pkg.leaflet_markercluster", "data/MarkerCluster.Default.css", "css"
    ),
    "leaflet_heat.min.js": Asset("folium", "templates/leaflet_heat.min.js", "js"),
}

#: Libraries folium links by default that the maps built here never use.
UNUSED = (
    "jquery",
    "bootstrap",
    "awesome-markers",
    "awesome_markers",
    "fontawesome",
    "leaflet.awesome.rotate",
)

_SCRIPT_RE = re.compile(r'<script\s+src="(?P<url>[^"]+)"\s*>\s*</script>')
_LINK_RE = re.compile(r'<link\s+rel="stylesheet"\s+href="(?P<url>[^"]+)"\s*/?>')
_CSS_URL_RE = re.compile(r"url\((?P<q>['\"]?)(?P<path>images/[^)'\"]+)(?P=q)\)")


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        msg = (
            f"offline map asset package {package!r} is not installed; "
            "reinstall patrolgrid (pip install -e .) to get its pinned dependencies"
        )
        raise MapsError(msg)
    return Path(spec.origin).parent


def _asset_path(asset: Asset) -> Path:
    path = _package_dir(asset.package) / asset.relpath
    if not path.is_file():
        msg = f"offline map asset {path} is missing from package {asset.package!r}"
        raise MapsError(msg)
    return path


@functools.cache
def asset_text(name: str) -> str:
    """Contents of one asset, CSS images inlined as ``data:`` URIs.

    Parameters
    ----------
    name
        A key of :data:`ASSETS`, e.g. ``"leaflet.js"``.

    Returns
    -------
    str
        The file's text, safe to inline in a ``<script>`` or ``<style>`` element.
    """
    asset = ASSETS[name]
    path = _asset_path(asset)
    text = path.read_text(encoding="utf-8")
    if asset.kind == "css":

        def data_uri(match: re.Match[str]) -> str:
            image = path.parent / match["path"]
            if not image.is_file():
                return match[0]
            encoded = base64.b64encode(image.read_bytes()).decode("ascii")
            return f"url(data:image/png;base64,{encoded})"

        text = _CSS_URL_RE.sub(data_uri, text)
    # A literal "</script>" inside inlined code would end the element early.
    return text.replace("</script>", "<\\/script>")


@functools.cache
def our_script(name: str) -> str:
    """Text of one of this package's own static files (``maps/static/<name>``)."""
    return (Path(__file__).parent / "static" / name).read_text(encoding="utf-8")


def _local_name(url: str) -> str | None:
    last = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return last if last in ASSETS else None


def _is_unused(url: str) -> bool:
    lowered = url.lower()
    return any(token in lowered for token in UNUSED)


def inline_html(html: str) -> str:
    """Replace a rendered page's CDN links by inlined local copies.

    Parameters
    ----------
    html
        A page rendered by folium (``Map.get_root().render()``).

    Returns
    -------
    str
        The same page with no remote script or stylesheet left.

    Raises
    ------
    MapsError
        When the page links a remote file that has no local copy here, or uses a library
        that was dropped (``L.AwesomeMarkers``: use ``DivIcon`` or circle markers).
    """

    def script(match: re.Match[str]) -> str:
        url = match["url"]
        name = _local_name(url)
        if name is not None and ASSETS[name].kind == "js":
            return f"<script>{asset_text(name)}</script>"
        if _is_unused(url):
            return ""
        msg = f"map page links the script {url} that has no offline copy in maps.assets.ASSETS"
        raise MapsError(msg)

    def link(match: re.Match[str]) -> str:
        url = match["url"]
        name = _local_name(url)
        if name is not None and ASSETS[name].kind == "css":
            return f"<style>{asset_text(name)}</style>"
        if _is_unused(url):
            return ""
        msg = f"map page links the stylesheet {url} that has no offline copy in maps.assets.ASSETS"
        raise MapsError(msg)

    out = _LINK_RE.sub(link, _SCRIPT_RE.sub(script, html))
    if "L.AwesomeMarkers" in out:
        msg = "map uses folium.Icon (awesome-markers), which is not available offline; use DivIcon"
        raise MapsError(msg)
    return out
