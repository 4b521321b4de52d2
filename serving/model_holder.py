"""The served model, swapped atomically when the registry alias moves.

Requests read :attr:`ModelHolder.current` once and keep that object for the whole request, so a
reload never changes the model under a request in flight: the new model is loaded and warmed
completely, then one reference assignment makes it current. Reloads are serialised by a lock;
readers take no lock (a reference read is atomic in CPython).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ssc_response.models.parity import ParityError
from ssc_response.models.registry import ModelVersionRef, ServedModel, load_served_model, resolve

log = logging.getLogger(__name__)

Loader = Callable[[str], ServedModel]
Resolver = Callable[[str], ModelVersionRef]


@dataclass(frozen=True)
class LoadedModel:
    """A warm model and when it was loaded."""

    served: ServedModel
    loaded_at: datetime


@dataclass(frozen=True)
class ReloadResult:
    """The model before and after a reload, and the URI followed from now on."""

    previous: ModelVersionRef
    current: ModelVersionRef
    followed_uri: str

    @property
    def changed(self) -> bool:
        return self.previous != self.current


class ModelHolder:
    """Holds the current model; ``reload`` swaps in a fully built new one."""

    def __init__(self, uri: str, loader: Loader = load_served_model,
                 resolver: Resolver = resolve,
                 on_swap: Callable[[ModelVersionRef], None] | None = None) -> None:
        self._uri = uri
        self._on_swap = on_swap
        self._loader = loader
        self._resolver = resolver
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    @property
    def uri(self) -> str:
        """The registry URI followed by reloads without an explicit target."""
        return self._uri

    @property
    def loaded(self) -> LoadedModel:
        """The current model and its load metadata; ``RuntimeError`` before the first load."""
        loaded = self._loaded
        if loaded is None:
            raise RuntimeError("no model loaded yet")
        return loaded

    @property
    def current(self) -> ServedModel:
        """The model to use for one request (read once per request)."""
        return self.loaded.served

    @property
    def ready(self) -> bool:
        return self._loaded is not None

    def load(self) -> ServedModel:
        """Load the followed URI (start-up); errors propagate so the service refuses to start."""
        self._swap_in(None)
        return self.current

    def reload(self, uri: str | None = None) -> ReloadResult:
        """Resolve ``uri`` (default: the followed URI) again and swap to it; follow it from now."""
        return self._swap_in(uri)

    def _swap_in(self, uri: str | None) -> ReloadResult:
        """Resolve, load and warm outside any request path, then swap one reference.

        The lock serialises reloads (and the poller), never requests.
        """
        with self._lock:
            target = uri or self._uri
            current = self._loaded
            ref = self._resolver(target)
            if current is None or current.served.ref != ref:  # else keep the warm model
                served = self._load(ref)
                _warm(served)
                self._loaded = LoadedModel(served, datetime.now(UTC))  # the atomic swap
                log.info("serving model %s version %s (run %s)", ref.name, ref.version,
                         ref.run_id)
                if self._on_swap is not None:
                    self._on_swap(ref)
            self._uri = target
            previous = ref if current is None else current.served.ref
            return ReloadResult(previous, ref, target)

    def _load(self, ref: ModelVersionRef) -> ServedModel:
        """Load a version; a model that fails its parity probes is refused, and said why (the
        message holds numbers of synthetic records only, never patient data)."""
        try:
            return self._loader(ref.uri)
        except ParityError as error:
            log.error("refusing model %s version %s: %s", ref.name, ref.version, error)
            raise

    def start_polling(self, interval_seconds: float) -> None:
        """Re-resolve the followed URI every ``interval_seconds`` in a daemon thread."""
        if interval_seconds <= 0 or self._poller is not None:
            return
        self._stop.clear()
        self._poller = threading.Thread(
            target=self._poll, args=(interval_seconds,), name="model-poller", daemon=True
        )
        self._poller.start()

    def stop_polling(self, timeout: float = 5.0) -> None:
        """Stop the poller (if any) and wait for it."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout)
            self._poller = None

    def _poll(self, interval_seconds: float) -> None:
        while not self._stop.wait(interval_seconds):
            try:
                self._swap_in(None)
            except Exception as error:  # a registry hiccup must not kill the poller
                log.warning("model poll failed (%s); still serving the previous model",
                            type(error).__name__)


def _warm(served: ServedModel) -> None:
    """Build the explainer and the input checks now, not in the first request."""
    served.model.warm()
