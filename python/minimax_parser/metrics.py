"""Counters, gauges and histograms rendered in the Prometheus text exposition format (version
0.0.4), without a client library: just what the proxy's ``GET /metrics`` needs.

Updates are plain attribute arithmetic, meant to run on one thread (the proxy's event loop).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TypeVar

__all__ = ["CONTENT_TYPE", "Counter", "Gauge", "Histogram", "Registry"]

#: The ``Content-Type`` of the text exposition format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

LabelValues = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"  # as the Prometheus client libraries write it
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)) + "}"


class _Metric:
    type_ = ""

    def __init__(self, name: str, help_: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_
        self.labelnames = tuple(labelnames)

    def _key(self, labels: dict[str, str]) -> LabelValues:
        if set(labels) != set(self.labelnames):
            wanted = ", ".join(self.labelnames) or "no labels"
            raise ValueError(f"{self.name} takes {wanted}, got {sorted(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.type_}"]

    def samples(self) -> Iterable[str]:
        raise NotImplementedError


class Counter(_Metric):
    """A value that only goes up, per label set."""

    type_ = "counter"

    def __init__(self, name: str, help_: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help_, labelnames)
        self.values: dict[LabelValues, float] = {}
        if not self.labelnames:
            self.values[()] = 0.0

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self._key(labels)
        self.values[key] = self.values.get(key, 0.0) + amount

    def declare(self, **labels: str) -> None:
        """Shows this label set (at 0) before its first increment."""
        self.values.setdefault(self._key(labels), 0.0)

    def samples(self) -> Iterable[str]:
        for key, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.labelnames, key)} {_number(value)}"


class Gauge(Counter):
    """A value that goes up and down, per label set."""

    type_ = "gauge"

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        self.values[key] = self.values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, **labels: str) -> None:
        self.inc(-amount, **labels)

    def set(self, value: float, **labels: str) -> None:
        self.values[self._key(labels)] = value


class Histogram(_Metric):
    """Observations counted into cumulative buckets (``le``), with their sum and count."""

    type_ = "histogram"

    def __init__(
        self, name: str, help_: str, buckets: Sequence[float], labelnames: Sequence[str] = ()
    ) -> None:
        super().__init__(name, help_, labelnames)
        if "le" in self.labelnames:
            raise ValueError("'le' is the bucket label")
        self.bounds = sorted(float(b) for b in buckets if not math.isinf(b))
        self.counts: dict[LabelValues, list[int]] = {}
        self.sums: dict[LabelValues, float] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        counts = self.counts.setdefault(key, [0] * (len(self.bounds) + 1))
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                counts[i] += 1
                break
        else:
            counts[-1] += 1
        self.sums[key] = self.sums.get(key, 0.0) + value

    def samples(self) -> Iterable[str]:
        names = (*self.labelnames, "le")
        for key, counts in sorted(self.counts.items()):
            total = 0
            for bound, n in zip([*self.bounds, math.inf], counts, strict=True):
                total += n
                yield f"{self.name}_bucket{_labels(names, (*key, _number(bound)))} {total}"
            labels = _labels(self.labelnames, key)
            yield f"{self.name}_sum{labels} {_number(self.sums[key])}"
            yield f"{self.name}_count{labels} {total}"


_M = TypeVar("_M", bound=_Metric)


class Registry:
    """The metrics of one application, rendered together."""

    def __init__(self) -> None:
        self._metrics: list[_Metric] = []

    def counter(self, name: str, help_: str, labelnames: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, help_, labelnames))

    def gauge(self, name: str, help_: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self._add(Gauge(name, help_, labelnames))

    def histogram(
        self, name: str, help_: str, buckets: Sequence[float], labelnames: Sequence[str] = ()
    ) -> Histogram:
        return self._add(Histogram(name, help_, buckets, labelnames))

    def _add(self, metric: _M) -> _M:
        if any(m.name == metric.name for m in self._metrics):
            raise ValueError(f"metric {metric.name} registered twice")
        self._metrics.append(metric)
        return metric

    def render(self) -> str:
        """The exposition text: ``# HELP``, ``# TYPE`` and the samples of each metric."""
        lines: list[str] = []
        for metric in self._metrics:
            lines += metric.header()
            lines += metric.samples()
        return "\n".join(lines) + "\n"
