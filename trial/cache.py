"""The cache backend: Django's Redis cache, for which an unreachable Redis is a miss, not an error.

The cache holds only what can be recomputed (the endpoints, their figures, the patient timeline),
so with Redis down a page computes without it and answers, slower, instead of a 500. One backend
class rather than a try/except at every call site; django-redis has this as an option
(DJANGO_REDIS_IGNORE_EXCEPTIONS) but would replace Django's own backend for this alone.
/healthz reports the cache as degraded (`cache_available`).
"""
import logging
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# A failure is logged at most this often (seconds) by each process: a page can read the cache many times.
LOG_EVERY_SECONDS = 60


class FaultTolerantRedisCache(RedisCache):
    _last_logged = 0.0

    def _failed(self, operation: str, error: Exception) -> None:
        now = time.monotonic()
        if now - type(self)._last_logged >= LOG_EVERY_SECONDS:
            type(self)._last_logged = now
            log.warning("Cache unavailable (%s: %s): computing without it.", operation, error)

    def available(self) -> bool:
        """Whether Redis answers now (for /healthz)."""
        try:
            return bool(self._cache.get_client(write=False).ping())
        except RedisError:
            return False


def _tolerant(name: str, on_error):
    method = getattr(RedisCache, name)

    def tolerant(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except RedisError as error:
            self._failed(name, error)
            return on_error(*args, **kwargs)

    tolerant.__name__ = tolerant.__qualname__ = name
    tolerant.__doc__ = method.__doc__
    return tolerant


# What each operation answers when Redis does not: a miss, or "not stored".
for _name, _on_error in {
    "get": lambda key, default=None, version=None: default,
    "get_many": lambda keys, version=None: {},
    "has_key": lambda key, version=None: False,
    "set": lambda *args, **kwargs: None,
    "add": lambda *args, **kwargs: False,
    "touch": lambda *args, **kwargs: False,
    "set_many": lambda data, *args, **kwargs: list(data),
    "delete": lambda *args, **kwargs: False,
    "delete_many": lambda *args, **kwargs: None,
    "clear": lambda *args, **kwargs: False,
}.items():
    setattr(FaultTolerantRedisCache, _name, _tolerant(_name, _on_error))


def cache_available() -> bool:
    """Whether the default cache answers; a cache that is not Redis (memory) always does."""
    from django.core.cache import caches

    backend = caches["default"]
    return backend.available() if isinstance(backend, FaultTolerantRedisCache) else True
