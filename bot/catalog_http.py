"""Catalog work the bot process does besides chatting: publishing our catalog read-only over HTTP, so that
another platform can aggregate it, and the scheduled syncs of catalog sources.

Published when CATALOG_HTTP_PORT is set (GET and HEAD only, on CATALOG_HTTP_LISTEN (127.0.0.1) : that port,
behind the HTTPS proxy; @ids start with CATALOG_PUBLIC_URL):
    /api/dfc/catalog.jsonld                        every approved vendor's available products, DFC JSON-LD
    /api/dfc/enterprises/{vendor}/catalog.jsonld   one vendor's
    /schema-org/catalog.jsonld                     the same as schema.org Product/Offer JSON-LD
A document is built once per state of the catalog (its revision, the latest product change, the number of
products) and served from memory until that moves; an ETag lets aggregators ask "changed?" cheaply.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime

from aiohttp import web
from sqlalchemy import func, select

from bootstrap import App
from bot.periodic import PeriodicJob
from catalog.models import CatalogRevision, Product
from catalog.sources import export_catalog, public_base_url
from catalog.sync import SyncReport, default_fetcher, options_for, sync_all
from marketplace.clock import utcnow
from marketplace.errors import NotFound

log = logging.getLogger(__name__)
DFC_PATH = "/api/dfc/catalog.jsonld"
DFC_VENDOR_PATH = "/api/dfc/enterprises/{vendor}/catalog.jsonld"
SCHEMA_ORG_PATH = "/schema-org/catalog.jsonld"
VENDOR = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
CACHED_DOCUMENTS = 256  # whole catalog + one per vendor, in two formats: plenty for a town
CONTENT_TYPE = "application/ld+json"


class CatalogHttp:
    """The read-only catalog endpoint, a service of the bot process (started and stopped with it)."""

    name = "catalog-http"

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 8090, base_url: str | None = None) -> None:
        self.app, self.host, self.port = app, host, port
        self.base_url = (base_url or public_base_url({})).rstrip("/")
        self._runner: web.AppRunner | None = None
        self._cache: dict[tuple[str, str], tuple[tuple[object, ...], bytes, str]] = {}

    def _state(self) -> tuple[object, ...]:
        with self.app.db.uow() as uow:
            revision = uow.session.scalar(select(CatalogRevision.revision).where(CatalogRevision.id == 1)) or 0
            latest, count = uow.session.execute(select(func.max(Product.updated_at), func.count(Product.id))).one()
        return revision, str(latest), count

    def document(self, format: str, vendor: str = "") -> tuple[bytes, str]:
        """The JSON-LD bytes and their ETag, from the cache while the catalog has not moved."""
        state = self._state()
        cached = self._cache.get((format, vendor))
        if cached is not None and cached[0] == state:
            return cached[1], cached[2]
        with self.app.db.uow() as uow:
            document = export_catalog(uow, format, self.base_url, vendor or None, self.app.settings.vat_rates)
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if len(self._cache) >= CACHED_DOCUMENTS:
            self._cache.clear()
        self._cache[(format, vendor)] = (state, body, etag)
        return body, etag

    async def _serve(self, request: web.Request, format: str, vendor: str = "") -> web.StreamResponse:
        try:
            body, etag = await asyncio.to_thread(self.document, format, vendor)
        except NotFound:  # an unknown, pending or suspended vendor: nothing to publish, nothing to tell
            return web.json_response({"error": "not found"}, status=404)
        headers = {"ETag": etag, "Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type=CONTENT_TYPE, charset="utf-8", headers=headers)

    async def dfc(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "dfc")

    async def dfc_vendor(self, request: web.Request) -> web.StreamResponse:
        vendor = request.match_info["vendor"]
        if not VENDOR.match(vendor):
            return web.json_response({"error": "not found"}, status=404)
        return await self._serve(request, "dfc", vendor)

    async def schema_org(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "schema-org")

    def web_app(self) -> web.Application:
        webapp = web.Application(client_max_size=1024)  # GET only: no body to read
        for path, handler in ((DFC_PATH, self.dfc), (DFC_VENDOR_PATH, self.dfc_vendor),
                              (SCHEMA_ORG_PATH, self.schema_org)):  # fmt: skip
            webapp.router.add_get(path, handler)  # HEAD too; any other method is answered 405
        return webapp

    async def start(self) -> None:
        self._runner = web.AppRunner(self.web_app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("catalog published on http://%s:%s%s", self.host, self.port, DFC_PATH)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class CatalogSyncJob(PeriodicJob):
    """Every `interval` seconds, sync the sources whose schedule (`source add --every 6h`) says it is time;
    their outcome is recorded on each source (`admin_cli.py source list`). A service of the bot process."""

    name = "catalog-sync"

    def __init__(
        self,
        app: App,
        interval: float = 300.0,
        first_delay: float = 30.0,
        allow_private: bool = False,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__()
        self.app, self.interval, self.first_delay, self._now = app, interval, first_delay, now
        self.allow_private = allow_private

    def _sync(self) -> list[SyncReport]:
        return sync_all(
            self.app.db, scheduled_only=True, now=self._now(),
            fetcher=default_fetcher(self.allow_private), options=options_for(self.app.settings),
        )  # fmt: skip

    async def run_once(self) -> list[SyncReport]:
        reports = await asyncio.to_thread(self._sync)
        for report in reports:
            log.info("scheduled sync of %s: %s", report.source, report.outcome)
        return reports



def catalog_services(app: App, env: Mapping[str, str]) -> list[CatalogHttp | CatalogSyncJob]:
    """The scheduled syncs always; the published catalog when CATALOG_HTTP_PORT names a port (a deployment
    chooses to publish, and which port its proxy forwards)."""
    services: list[CatalogHttp | CatalogSyncJob] = [
        CatalogSyncJob(app, allow_private=env.get("SMARTKET_SYNC_PRIVATE_HOSTS") == "1")
    ]
    port = env.get("CATALOG_HTTP_PORT", "")
    if port.isdigit():
        host = env.get("CATALOG_HTTP_LISTEN", "127.0.0.1")
        services.append(CatalogHttp(app, host, int(port), public_base_url(env)))
    elif port:
        log.error("CATALOG_HTTP_PORT=%r is not a port number; the catalog is not published", port)
    return services
