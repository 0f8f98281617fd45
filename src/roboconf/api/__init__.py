"""The REST API of the DM service (FastAPI): ``create_app(service)``."""

from roboconf.api.app import create_app
from roboconf.api.deps import ApiSettings

__all__ = ["ApiSettings", "create_app"]
