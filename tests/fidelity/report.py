"""The fidelity report: passes per area, failing cases and why, the documentation pages used."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from tests.fidelity.cases import AREAS
from tests.fidelity.drivers import PROTOCOLS


@dataclass
class Result:
    id: str
    area: str
    doc: str
    note: str = ""
    known_gap: str = ""  # why the emulator does not do this yet (the case is a strict xfail)
    problems: dict[str, str | None] = field(default_factory=dict)  # driver -> None when it passed

    @property
    def passed(self) -> bool:
        return len(self.problems) == len(PROTOCOLS) and all(p is None for p in self.problems.values())

    @property
    def gap(self) -> bool:
        """A known gap that failed as expected with every driver (one that passes is a failure: XPASS)."""
        return bool(self.known_gap) and all(
            p is not None and not p.startswith("call: [XPASS") for p in self.problems.values()
        )


@dataclass
class Report:
    results: dict[str, Result] = field(default_factory=dict)
    starter: list[tuple[str, str]] = field(default_factory=list)  # (test, outcome)
    starter_style: list[tuple[str, str]] = field(default_factory=list)  # the same, for the project's own SQL

    def record(self, info: dict[str, str], problem: str | None) -> None:
        new = Result(info["id"], info["area"], info["doc"], info.get("note", ""), info.get("known_gap", ""))
        result = self.results.setdefault(info["id"], new)
        result.problems[info["driver"]] = problem

    def table(self) -> list[str]:
        by_area: dict[str, list[Result]] = defaultdict(list)
        for result in self.results.values():
            by_area[result.area].append(result)
        drivers = sorted(PROTOCOLS)
        head = ["area", "cases", "pass", "known gaps"] + [f"{d} ({PROTOCOLS[d]})" for d in drivers]
        lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        totals = [0, 0, 0] + [0] * len(drivers)
        for area in [a for a in AREAS if a in by_area]:
            results = by_area[area]
            counts = [len(results), sum(r.passed for r in results), sum(r.gap for r in results)]
            counts += [sum(r.problems.get(d, "not run") is None for r in results) for d in drivers]
            totals = [t + c for t, c in zip(totals, counts, strict=True)]
            lines.append(f"| {area} | " + " | ".join(map(str, counts)) + " |")
        lines.append("| **all** | " + " | ".join(f"**{t}**" for t in totals) + " |")
        return lines

    def markdown(self) -> str:
        failing = [r for r in self.results.values() if not r.passed and not r.gap]
        gaps = sorted((r for r in self.results.values() if r.gap), key=lambda r: (AREAS.index(r.area), r.id))
        out = [
            "# Redshift fidelity",
            "",
            "Written by `make fidelity` (`tests/fidelity/`): each case is an example from the Amazon Redshift",
            "Database Developer Guide that needs no sample database, run through the local emulator with",
            "redshift_connector (extended query protocol) and psycopg2 (simple query protocol). A case passes",
            "when both clients get the result or the error the documentation shows. A known gap is a",
            "documented behaviour the emulator does not have yet: its case is expected to fail (a strict",
            "xfail, so that it fails the suite once it passes), and it is listed below with the reason.",
            "",
            *self.table(),
            "",
        ]
        if self.starter:
            out += ["## The official starter's SQL (`test_starter_sql.py`)", ""]
            out += [f"- `{name}`: {outcome}" for name, outcome in self.starter] + [""]
        if self.starter_style:
            passed = sum(1 for _, outcome in self.starter_style if outcome == "passed")
            out += [
                "## Starter-style SQL of the project's own (`test_starter_style_sql.py`)",
                "",
                "`tests/fidelity/starter_style/`: DDL with declared keys and Redshift's table attributes, and the "
                "five inserts written as the usual Sparkify starter writes them (`md5(sessionid || start_time)`, "
                "`extract(dayofweek …)`, `SELECT DISTINCT` users), run unmodified through both drivers over the "
                "sample bucket; every table's rows equal an independent computation from the files, duplicates "
                "included.",
                "",
                f"{passed} of {len(self.starter_style)} passed.",
                "",
            ]
            out += [f"- `{name}`: {outcome}" for name, outcome in self.starter_style if outcome != "passed"]
            out += [""]
        out += ["## Known gaps", ""]
        out += [f"- `{r.id}` ({r.area}, [doc]({r.doc})): {_one_line(r.known_gap)}" for r in gaps] or ["None."]
        out += ["", "## Failing cases", ""]
        if not failing:
            out.append("None.")
        for r in sorted(failing, key=lambda r: (AREAS.index(r.area), r.id)):
            why = "; ".join(f"{d}: {_one_line(p)}" for d, p in sorted(r.problems.items()) if p is not None)
            out.append(f"- `{r.id}` ({r.area}, [doc]({r.doc})): {why}")
        noted = sorted((r for r in self.results.values() if r.note), key=lambda r: r.id)
        if noted:
            out += ["", "## Expectations that follow a page's rules, not a printed example", ""]
            out += [f"- `{r.id}` ([doc]({r.doc})): {r.note}" for r in noted]
        out += ["", "## Documentation pages", ""]
        pages: dict[str, list[str]] = defaultdict(list)
        for r in self.results.values():
            pages[r.doc].append(r.id)
        out += [f"- <{doc}>: {len(ids)} case(s)" for doc, ids in sorted(pages.items())]
        return "\n".join(out) + "\n"


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"
