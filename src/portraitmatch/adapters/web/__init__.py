"""The HTTP service: ``create_app(settings, engine=None)`` builds a FastAPI application."""

from portraitmatch.adapters.web.app import create_app

__all__ = ["create_app"]
