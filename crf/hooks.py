"""What the CRF floor asks of the apps above it, registered by them.

The floor (`crf`) imports no app above it, yet three steps of a CRF's life
belong to records kept upstairs, in `monitoring`: a data manager's lock of a
visit, a patient or the trial forbids an edit; an edit that changes a value
clears the source verification of those values and voids the signatures that
covered them; and an acknowledged soft check files a protocol deviation. The
upper app registers a callback for each in its `AppConfig.ready()`
(`monitoring/apps.py`); `crf_save` and `crf_record` call them. A floor without
the callbacks would save a locked form or lose a deviation, so
`hooks_missing()` names what is unregistered and the `crf` app's system check
reports it.
"""
from collections.abc import Callable, Sequence
from typing import Any

# crf → why it may not be changed now ("" when nothing upstairs forbids it).
LockCheck = Callable[[Any], str]
# (crf, changed field names, reason, by) → None, after a save that changed values.
ValuesChanged = Callable[..., None]
# (crf, soft checks, reason, by) → the deviations filed.
DeviationRecorder = Callable[..., Sequence[Any]]

_lock_checks: list[LockCheck] = []
_values_changed: list[ValuesChanged] = []
_deviation_recorders: list[DeviationRecorder] = []


def _add(registry: list[Any], callback: Any) -> None:
    if callback not in registry:  # ready() may run twice (tests, management commands)
        registry.append(callback)


def register_lock_check(callback: LockCheck) -> None:
    _add(_lock_checks, callback)


def register_values_changed(callback: ValuesChanged) -> None:
    _add(_values_changed, callback)


def register_deviation_recorder(callback: DeviationRecorder) -> None:
    _add(_deviation_recorders, callback)


def lock_checks() -> tuple[LockCheck, ...]:
    return tuple(_lock_checks)


def values_changed_callbacks() -> tuple[ValuesChanged, ...]:
    return tuple(_values_changed)


def deviation_recorders() -> tuple[DeviationRecorder, ...]:
    return tuple(_deviation_recorders)


def hooks_missing() -> list[str]:
    return [name for name, registry in (("lock check", _lock_checks), ("values changed", _values_changed),
                                        ("deviation recorder", _deviation_recorders)) if not registry]
