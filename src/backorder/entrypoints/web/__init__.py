"""Server-rendered web pages (issue 5): the operator app under /ui, customer pages under /my."""

from .app import mount_web

__all__ = ["mount_web"]
