"""Route modules of the HTTP API, each an ``APIRouter`` included by ``create_app``."""
