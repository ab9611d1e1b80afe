"""Bounded HTTP for openml-python 0.15: every request gets a timeout, transient failures retry.

openml-python 0.15.1 sends its REST calls with `requests` and no timeout (a stalled server hangs
the call forever), and downloads parquet files with a MinIO client whose default timeouts are five
minutes with five retries. It retries only connection errors, checksum mismatches and OpenML's
error 107; a read timeout or a gateway's HTML 5xx page escapes its retry loop.

`bounded_transport` swaps, for the duration of a `with` block, the `requests` and `minio` names
inside `openml._api_calls` (nowhere else) for thin wrappers that:

* give every request a (connect, read) timeout;
* turn a read timeout and a 5xx answer that is not an OpenML error document into
  `ServerUnavailable`, a `requests.ConnectionError`, so openml's own retry policy
  (`connection_n_retries`, `retry_policy`) applies to them;
* turn a 4xx answer that is not an OpenML error document into `NotOpenML` (not retried);
* give the MinIO client the same timeouts and at most the configured number of attempts.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import minio
import requests
import urllib3


class ServerUnavailable(requests.exceptions.ConnectionError):
    """The server answered with a 5xx (not an OpenML error document) or not within the timeout."""


class NotOpenML(requests.exceptions.HTTPError):
    """A 4xx answer that is not an OpenML error document: OPENML_SERVER is not an OpenML API."""


class _BoundedSession(requests.Session):
    def __init__(self, connect_timeout: float, read_timeout: float):
        super().__init__()
        self._timeout = (connect_timeout, read_timeout)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.exceptions.ConnectTimeout:
            raise  # already a ConnectionError: the server is unreachable
        except requests.exceptions.Timeout as exc:
            raise ServerUnavailable(f"no answer within {self._timeout[1]:g} s from {url}") from exc
        if response.status_code >= 500 and "oml:error" not in response.text[:2000]:
            raise ServerUnavailable(f"HTTP {response.status_code} from {url}", response=response)
        if response.status_code >= 400 and "oml:error" not in response.text[:2000]:
            raise NotOpenML(f"HTTP {response.status_code} from {url}", response=response)
        return response


class _ModuleProxy:
    """Looks like a module: the overridden names, everything else from the real module."""

    def __init__(self, module: Any, **overrides: Any):
        self._module = module
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def _bounded_minio(
    *args: Any, connect_timeout: float, read_timeout: float, attempts: int, **kwargs: Any
) -> minio.Minio:
    timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
    retries = urllib3.Retry(
        total=max(0, attempts - 1), backoff_factor=0.5, status_forcelist=[500, 502, 503, 504]
    )
    given = kwargs.pop("http_client", None)
    if isinstance(given, urllib3.ProxyManager):
        client = urllib3.ProxyManager(given.proxy.url, timeout=timeout, retries=retries)
    else:
        client = urllib3.PoolManager(timeout=timeout, retries=retries)
    return minio.Minio(*args, http_client=client, **kwargs)


_lock = threading.RLock()


@contextmanager
def bounded_transport(connect_timeout: float, read_timeout: float, attempts: int) -> Iterator[None]:
    """Within the block, openml's HTTP calls are bounded in time; one block per process at once."""
    from openml import _api_calls

    with _lock:
        saved = (_api_calls.requests, _api_calls.minio)
        _api_calls.requests = _ModuleProxy(
            requests,
            Session=functools.partial(_BoundedSession, connect_timeout, read_timeout),
        )
        _api_calls.minio = _ModuleProxy(
            minio,
            Minio=functools.partial(
                _bounded_minio,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                attempts=attempts,
            ),
        )
        try:
            yield
        finally:
            _api_calls.requests, _api_calls.minio = saved
