"""The pages app as the plugin hands it to Airflow: imported on its first request.

Every Airflow process loads the plugin, workers too, for its extra links; only the API server
serves requests, so only it imports the app and the API server's modules behind it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send


class PagesApp:
    """An ASGI app that passes each request to sparkify.pages.app.app."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from sparkify.pages.app import app

        await app(scope, receive, send)
