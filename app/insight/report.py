"""The view model of the insight pages: the figures of a scope as the templates, the CSV and the PDF show
them. Built from the domain's figures by app/insight/source.py; plain data, no database.

Every figure that counts cases has a `figure` key: the drill-down list asks the domain for the cases
behind that key in the same scope, so the list always holds exactly the cases the number counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    """A headline number. `kind`: count, seconds or percent (how it is printed)."""

    figure: str
    label: str
    value: float | None
    kind: str = "count"
    cases: int | None = None  # how many cases are behind it (the count itself for counts)
    note: str = ""


@dataclass(frozen=True)
class Day:
    day: str
    filed: int
    closed: int


@dataclass(frozen=True)
class StateTime:
    key: str
    label: str
    visits: int
    median_s: float | None
    p90_s: float | None
    share: float | None  # of the total time spent in states, 0..1
    kind: str = "working"


@dataclass(frozen=True)
class SlaRow:
    """SLA compliance of one group (a target kind, a queue or a week)."""

    group: str
    label: str
    due: int
    met: int
    breached: int
    figure_breached: str = ""

    @property
    def compliance(self) -> float | None:
        return self.met / self.due if self.due else None


@dataclass(frozen=True)
class QueueBacklog:
    queue: str
    label: str
    open: int
    median_age_s: float | None
    oldest_s: float | None


@dataclass(frozen=True)
class Throughput:
    group: str  # queue slug or agent e-mail
    label: str
    closed: int
    figure: str


@dataclass
class Report:
    """Everything a dashboard shows for one scope."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    days: list[Day] = field(default_factory=list)
    states: list[StateTime] = field(default_factory=list)
    sla_by_kind: list[SlaRow] = field(default_factory=list)
    sla_by_queue: list[SlaRow] = field(default_factory=list)
    sla_by_week: list[SlaRow] = field(default_factory=list)
    backlog: list[QueueBacklog] = field(default_factory=list)
    by_queue: list[Throughput] = field(default_factory=list)
    by_agent: list[Throughput] = field(default_factory=list)
    waiting_s: float = 0.0
    working_s: float = 0.0

    def figure(self, key: str) -> Figure | None:
        return next((f for f in self.figures if f.figure == key), None)


@dataclass(frozen=True)
class Bottleneck:
    """A state, handoff or transition ranked by the waiting time it added, with last period's figure."""

    kind: str  # state, handoff, transition
    label: str
    total_s: float
    median_s: float | None
    count: int
    previous_total_s: float | None
    figure: str = ""

    @property
    def trend(self) -> float | None:
        """Change against the previous period, as a fraction (+0.25: a quarter more waiting)."""
        if not self.previous_total_s:
            return None
        return (self.total_s - self.previous_total_s) / self.previous_total_s


@dataclass(frozen=True)
class Variant:
    path: tuple[str, ...]
    labels: tuple[str, ...]
    count: int
    share: float
    median_cycle_s: float | None
    happy: bool = False
    figure: str = ""


@dataclass(frozen=True)
class Conformance:
    """Cases that left the expected path, by why."""

    label: str
    cases: int
    figure: str
    detail: str = ""


@dataclass
class Mined:
    """The process map's edges, the variants and the conformance of a scope."""

    edges: list  # list[app.insight.maps.MapEdge]
    labels: dict[str, str]
    variants: list[Variant]
    conformance: list[Conformance]
    cases: int = 0


@dataclass(frozen=True)
class Comparison:
    """One KPI for two versions: values, their difference and the cases behind each side."""

    label: str
    kind: str
    a: float | None
    b: float | None
    a_cases: int
    b_cases: int
    figure: str = ""
    better: str = "lower"  # which direction is an improvement: lower, higher or none

    @property
    def difference(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a
