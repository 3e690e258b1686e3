"""Limitations: the version-controlled seed file, and the GitHub issue body rendered for each one.

Everything here is pure. `db.limitations` turns database aggregates into a `LimitationReport`; this module
turns a report into markdown. Text that comes from problems or model output is untrusted: it goes through
`md_text` (prose) or `md_code` (answers, expressions) so it cannot ping people (`@user`), cross-reference
issues (`#12`), inject HTML or break a table. The body contains no timestamps, so the same data always renders
to the same text and the same `content_hash`.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.categorize.describe import describe_evidence
from analysis.types import Category, Domain, Flag

GITHUB_BODY_LIMIT = 65_536
# Room left under GitHub's limit for text a person wrote outside the managed block, and for safety.
DEFAULT_BODY_BUDGET = 60_000
DEFAULT_MILESTONE = "Bernoulli"
MANAGED_LABEL = "abel-triage"
MARKER_PREFIX = "<!-- abel-triage:limitation="
BLOCK_BEGIN = "<!-- abel-triage:begin -->"
BLOCK_END = "<!-- abel-triage:end -->"
FIXES_HEADING = "### Candidate fixes"
MAX_EXAMPLES = 5
QUESTION_EXCERPT_CHARS = 280
CODE_EXCERPT_CHARS = 120

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_MARKER_RE = re.compile(r"<!-- abel-triage:limitation=([a-z0-9][a-z0-9-]*) -->")
_CHECKBOX_RE = re.compile(r"^\s*[-*] \[( |x|X)\] (.+?)\s*$")
ZWJ = "\u200d"


class LimitationConfigError(ValueError):
    """The limitations seed file is missing, unreadable or invalid."""


@dataclass(frozen=True)
class CandidateFix:
    text: str
    done: bool = False


@dataclass(frozen=True)
class LimitationSpec:
    """One limitation as the seed file states it."""

    slug: str
    title: str
    description: str
    categories: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()  # every failure on a benchmark of these domains counts (generalization)
    candidate_fixes: tuple[CandidateFix, ...] = ()
    milestone: str = DEFAULT_MILESTONE
    close_threshold: int = 0
    adopt_issue: int | None = None

    @property
    def has_signal(self) -> bool:
        """Whether any automatic rule can attribute a failure to this limitation."""
        return bool(self.categories or self.flags or self.domains)


def default_limitations_path() -> Path:
    return Path(__file__).resolve().parent / "limitations.toml"


def _str_list(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LimitationConfigError(f"{where}: {key!r} must be a list of strings")
    return tuple(value)


def parse_limitations(data: Mapping[str, Any], *, source: str = "<limitations>") -> list[LimitationSpec]:
    """Validate the parsed TOML (a `[[limitation]]` array of tables) into specs."""
    entries = data.get("limitation")
    if not isinstance(entries, list) or not entries:
        raise LimitationConfigError(f"{source}: expected at least one [[limitation]] table")
    known_categories = {c.value for c in Category}
    known_flags = {f.value for f in Flag}
    known_domains = {d.value for d in Domain}
    specs: list[LimitationSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries, start=1):
        where = f"{source}: limitation #{i}"
        if not isinstance(entry, dict):
            raise LimitationConfigError(f"{where}: not a table")
        slug = entry.get("slug")
        if not isinstance(slug, str) or not _SLUG_RE.match(slug):
            raise LimitationConfigError(f"{where}: slug must match {_SLUG_RE.pattern}, got {slug!r}")
        where = f"{source}: limitation {slug!r}"
        if slug in seen:
            raise LimitationConfigError(f"{where}: duplicate slug")
        seen.add(slug)
        unknown_keys = set(entry) - {
            "slug", "title", "description", "categories", "flags", "domains", "candidate_fixes", "milestone",
            "close_threshold", "adopt_issue",
        }
        if unknown_keys:
            raise LimitationConfigError(f"{where}: unknown keys {sorted(unknown_keys)}")
        title = entry.get("title")
        if not isinstance(title, str) or not title.strip():
            raise LimitationConfigError(f"{where}: title is required")
        description = entry.get("description", "")
        if not isinstance(description, str):
            raise LimitationConfigError(f"{where}: description must be a string")
        categories = _str_list(entry, "categories", where)
        flags = _str_list(entry, "flags", where)
        domains = _str_list(entry, "domains", where)
        for value, known, what in (
            (categories, known_categories, "category"),
            (flags, known_flags, "flag"),
            (domains, known_domains, "domain"),
        ):
            bad = sorted(set(value) - known)
            if bad:
                raise LimitationConfigError(f"{where}: unknown {what} {bad}; known: {sorted(known)}")
        fixes = tuple(CandidateFix(text=normalize_fix_text(t)) for t in _str_list(entry, "candidate_fixes", where))
        milestone = entry.get("milestone", DEFAULT_MILESTONE)
        if not isinstance(milestone, str) or not milestone:
            raise LimitationConfigError(f"{where}: milestone must be a non-empty string")
        threshold = entry.get("close_threshold", 0)
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
            raise LimitationConfigError(f"{where}: close_threshold must be a non-negative integer")
        adopt = entry.get("adopt_issue")
        if adopt is not None and (not isinstance(adopt, int) or isinstance(adopt, bool) or adopt <= 0):
            raise LimitationConfigError(f"{where}: adopt_issue must be a positive issue number")
        specs.append(
            LimitationSpec(
                slug=slug, title=title.strip(), description=unwrap_paragraphs(description), categories=categories,
                flags=flags, domains=domains, candidate_fixes=fixes, milestone=milestone,
                close_threshold=threshold, adopt_issue=adopt,
            )
        )
    return specs


def unwrap_paragraphs(text: str) -> str:
    """Join hard-wrapped lines: GitHub shows every newline of an issue body as a line break."""
    paragraphs = []
    for para in re.split(r"\n\s*\n", text.strip()):
        lines: list[str] = []
        for line in para.splitlines():
            if lines and not re.match(r"\s*([-*+] |\d+[.)] )", line):
                lines[-1] = f"{lines[-1]} {line.strip()}"
            else:
                lines.append(line.rstrip())
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def load_limitations(path: Path | str | None = None) -> list[LimitationSpec]:
    """Read and validate the seed file (default: `analysis/limitations.toml`)."""
    p = Path(path) if path is not None else default_limitations_path()
    try:
        raw = p.read_bytes()
    except FileNotFoundError as exc:
        raise LimitationConfigError(f"limitations file not found: {p}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LimitationConfigError(f"{p}: not valid TOML: {exc}") from exc
    return parse_limitations(data, source=str(p))


# --- escaping -------------------------------------------------------------------------------------------------

_MD_PUNCT = re.compile(r"([\\`*_\[\]#|~$])")  # inline markup; `<`, `>` and `&` become entities
_BLOCK_START = re.compile(r"^(\d+)([.)])|^([-+=])")  # would start a list or a setext heading


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def md_text(text: str, *, limit: int | None = None) -> str:
    """Untrusted prose as inert, single-line markdown text.

    Newlines collapse to spaces (safe in table cells); `&`, `<` and `>` become entities (no HTML, no quote
    blocks); inline markup characters, `$` (math) and `|` are backslash-escaped, and so is a leading list
    marker; a zero-width joiner after `@` and `#` stops mentions and issue references, and after `://` / `www.`
    stops autolinks (which would cross-reference issues).
    """
    s = _one_line(text)
    if limit is not None:
        s = _clip(s, limit)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_PUNCT.sub(r"\\\1", s)
    s = _BLOCK_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1) else f"\\{m.group(3)}", s)
    s = s.replace("@", "@" + ZWJ).replace("\\#", "\\#" + ZWJ)
    s = s.replace("://", ":" + ZWJ + "//")
    s = re.sub(r"(?i)\bwww\\\.", lambda m: m.group(0)[:3] + ZWJ + m.group(0)[3:], s)
    return s


def md_code(text: str, *, limit: int = CODE_EXCERPT_CHARS, in_table: bool = False) -> str:
    """Untrusted short text as a code span: literal, never a mention, reference or HTML.

    The fence is one backtick longer than the longest backtick run inside; a space pads content that starts
    or ends with a backtick. In a table, `|` must still be escaped (GFM splits cells before parsing spans).
    """
    s = _clip(_one_line(text), limit)
    if not s:
        return "*(empty)*"
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    if s.startswith("`") or s.endswith("`") or (s.startswith(" ") and s.endswith(" ")):
        s = f" {s} "
    if in_table:
        s = s.replace("|", "\\|")
    return f"{fence}{s}{fence}"


# --- the report and its rendering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountCell:
    """Failures of one limitation in the latest run of one model on one benchmark."""

    model: str
    benchmark: str
    failures: int
    responses: int
    previous: int | None = None  # failures at the baseline sync, None when unknown

    @property
    def key(self) -> str:
        return f"{self.model}|{self.benchmark}"


@dataclass(frozen=True)
class TrendPoint:
    model: str
    generation: str
    failures: int
    responses: int


@dataclass(frozen=True)
class TrendSeries:
    """Runs of one model family and size on one benchmark, oldest generation first."""

    family: str
    size: str
    benchmark: str
    points: tuple[TrendPoint, ...]


@dataclass(frozen=True)
class Example:
    response_id: int
    model: str
    benchmark: str
    problem_key: str
    question: str
    category: str | None
    answer: str | None
    gold: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    first_error_step: int | None = None


@dataclass(frozen=True)
class LimitationReport:
    spec: LimitationSpec  # candidate_fixes carry the done-state from the database
    counts: tuple[CountCell, ...] = ()
    trends: tuple[TrendSeries, ...] = ()
    examples: tuple[Example, ...] = ()
    runs_considered: int = 0
    scales: tuple[TrendSeries, ...] = ()  # one generation across model sizes (`family` names the generation)

    @property
    def total_failures(self) -> int:
        return sum(c.failures for c in self.counts)


def _rate(failures: int, responses: int) -> str:
    return f"{100.0 * failures / responses:.1f}%" if responses else "–"


def _delta(cell: CountCell) -> str:
    if cell.previous is None:
        return "–"
    d = cell.failures - cell.previous
    return "±0" if d == 0 else f"{d:+d}"


def _trend_line(series: TrendSeries) -> str:
    names = [p.generation or p.model for p in series.points]
    if len(set(names)) < len(names):  # e.g. no size recorded: generations repeat, model names do not
        names = [p.model for p in series.points]
    chain = " → ".join(
        f"{md_text(name)} {_rate(p.failures, p.responses)} ({p.failures}/{p.responses})"
        for name, p in zip(names, series.points, strict=True)
    )
    first, last = series.points[0], series.points[-1]
    change = ""
    if first.responses and last.responses:
        pts = 100.0 * (last.failures / last.responses - first.failures / first.responses)
        change = f" (change {pts:+.1f} points)"
    size = f" {md_text(series.size)}" if series.size else ""
    return f"- **{md_text(series.family)}{size}** on {md_code(series.benchmark)}: {chain}{change}"


def _evidence_text(ex: Example) -> str:
    """The evidence in words (see `describe_evidence`), every value from the evidence escaped."""
    ev = ex.evidence or {}
    step = ev.get("step", ex.first_error_step)
    what = describe_evidence(ex.category, ev, code=lambda v: md_code(v, limit=80), text=lambda v: md_text(v, limit=160))
    return f"step {md_text(str(step))}: {what}" if step is not None else what


def response_link(response_id: int, dashboard_url: str | None) -> str:
    """The dashboard's link target for one response (`?response=<id>`), or plain text without a base URL."""
    if not dashboard_url:
        return f"response {response_id}"
    base = dashboard_url.rstrip("/")
    return f"[response {response_id}]({base}/?response={response_id})"


def _render_example(ex: Example, dashboard_url: str | None) -> str:
    cat = f" · {md_code(ex.category)}" if ex.category else ""
    answer = md_code(ex.answer) if ex.answer else "*(no answer)*"
    return "\n".join(
        [
            f"- **{md_text(ex.model)}** on {md_code(ex.benchmark)} problem {md_code(ex.problem_key, limit=60)}{cat}"
            f" — {response_link(ex.response_id, dashboard_url)}",
            f"  > {md_text(ex.question, limit=QUESTION_EXCERPT_CHARS)}",
            f"  - first error: {_evidence_text(ex)}",
            f"  - answered {answer}, gold {md_code(ex.gold)}",
        ]
    )


def marker(slug: str) -> str:
    return f"{MARKER_PREFIX}{slug} -->"


def find_marker(body: str | None) -> str | None:
    """The limitation slug a body's hidden marker names, if any."""
    m = _MARKER_RE.search(body or "")
    return m.group(1) if m else None


def render_fixes(fixes: Sequence[CandidateFix]) -> list[str]:
    if not fixes:
        return ["*(no candidate fixes listed yet)*"]
    return [f"- [{'x' if f.done else ' '}] {normalize_fix_text(f.text)}" for f in fixes]


def normalize_fix_text(text: str) -> str:
    return _one_line(text)


def render_block(report: LimitationReport, *, dashboard_url: str | None = None,
                 max_chars: int = DEFAULT_BODY_BUDGET) -> str:
    """The managed block of the issue body (between the begin/end comments), at most `max_chars` long.

    When the data is too large the counts table and then the examples are cut, with a note saying so; the
    rest (description, trend, fixes, marker) is always kept.
    """
    spec = report.spec
    max_chars = min(max_chars, GITHUB_BODY_LIMIT - 1)
    head = [BLOCK_BEGIN, marker(spec.slug), f"## {spec.title}", "", spec.description or "*(no description)*", ""]
    covers: list[str] = []
    if spec.categories:
        covers.append("categories " + ", ".join(md_code(c) for c in spec.categories))
    if spec.flags:
        covers.append("flags " + ", ".join(md_code(f) for f in spec.flags))
    if spec.domains:
        covers.append("every failure on " + ", ".join(md_code(d) for d in spec.domains) + " benchmarks")
    head.append(f"**Counted from:** {'; '.join(covers)}." if covers else
                "**No automatic signal yet:** no failure category, flag or benchmark domain maps to this "
                "limitation, so nothing is counted; it is tracked by hand until a benchmark or a judge measures it.")
    head.append("")

    counts_lines: list[str] = ["### Failures per model × benchmark", ""] if spec.has_signal else []
    counts_rows: list[str] = []
    if not spec.has_signal:
        pass
    elif not report.counts:
        counts_lines.append("No runs in the database yet.")
    else:
        # Rows with no failures now and none before say nothing (e.g. robustness flips on a benchmark
        # without variants); a row that dropped to zero stays, to show the change.
        shown = [c for c in report.counts if c.failures or c.previous]
        hidden = len(report.counts) - len(shown)
        counts_lines.append(
            "Latest run of each model on each benchmark; change is since the previous sync that changed a count."
            + (f" {hidden} model × benchmark pairs without failures are not shown." if hidden else "")
        )
        if shown:
            counts_lines += ["", "| model | benchmark | failures | of responses | share | change |",
                             "|---|---|---:|---:|---:|---:|"]
        else:
            counts_lines += ["", "No failures in the latest runs."]
        ordered = sorted(shown, key=lambda c: (-c.failures, c.model, c.benchmark))
        counts_rows = [
            f"| {md_text(c.model)} | {md_text(c.benchmark)} | {c.failures} | {c.responses} | "
            f"{_rate(c.failures, c.responses)} | {_delta(c)} |"
            for c in ordered
        ]

    trend_lines = ["", "### Trend across generations", ""] if spec.has_signal else []
    multi = [s for s in report.trends if len(s.points) >= 2]
    if not spec.has_signal:
        pass
    elif multi:
        trend_lines += [_trend_line(s) for s in multi]
    else:
        trend_lines.append("Only one generation per model family and size so far; the trend starts with the next.")
    scales = [s for s in report.scales if len(s.points) >= 2 and any(p.failures for p in s.points)]
    if spec.has_signal and scales:
        trend_lines += ["", "Across model sizes:", ""] + [_trend_line(s) for s in scales]

    fixes_lines = ["", FIXES_HEADING, "", *render_fixes(spec.candidate_fixes)]
    footer = ["", "<sub>Maintained by abel-triage: edit outside this block freely; tick fixes above.</sub>", BLOCK_END]

    example_blocks = [_render_example(ex, dashboard_url) for ex in report.examples[:MAX_EXAMPLES]]
    example_head = ["", "### Representative failures", ""] if spec.has_signal else []
    if not spec.has_signal:
        pass
    elif not example_blocks:
        example_head.append("No failures recorded.")

    def assemble(n_rows: int, n_examples: int) -> str:
        lines = head + counts_lines
        if counts_rows:
            lines += counts_rows[:n_rows]
            if n_rows < len(counts_rows):
                lines += ["", f"*… {len(counts_rows) - n_rows} more rows cut to fit GitHub's size limit; "
                              "see the dashboard.*"]
        lines += trend_lines + example_head + example_blocks[:n_examples]
        if n_examples < len(example_blocks):
            lines.append(f"*… {len(example_blocks) - n_examples} more examples cut to fit; see the dashboard.*")
        lines += fixes_lines + footer
        return "\n".join(lines)

    n_rows, n_examples = len(counts_rows), len(example_blocks)
    body = assemble(n_rows, n_examples)
    if len(body) <= max_chars:
        return body
    # Cut table rows first (binary search for the most that fit), then examples.
    fixed = len(assemble(0, n_examples))
    if fixed <= max_chars:
        lo, hi = 0, n_rows
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if len(assemble(mid, n_examples)) <= max_chars:
                lo = mid
            else:
                hi = mid - 1
        return assemble(lo, n_examples)
    for k in range(n_examples, -1, -1):
        body = assemble(0, k)
        if len(body) <= max_chars:
            return body
    # Only a pathological description or fixes list can get here: hard-cut, keeping the end marker.
    return body[: max_chars - len(BLOCK_END) - 2] + "\n" + BLOCK_END


def split_body(body: str | None) -> tuple[str, str | None, str]:
    """(text before the managed block, the block or None, text after it)."""
    text = (body or "").replace("\r\n", "\n")
    start = text.find(BLOCK_BEGIN)
    end = text.find(BLOCK_END, start + 1) if start >= 0 else -1
    if start < 0 or end < 0:
        return text, None, ""
    return text[:start], text[start : end + len(BLOCK_END)], text[end + len(BLOCK_END) :]


def merge_body(existing: str | None, block: str) -> str:
    """Put the managed block into an issue body, keeping whatever a person wrote around it.

    A body without a block (an adopted issue) keeps its text above the block.
    """
    before, old_block, after = split_body(existing)
    if old_block is None:
        before = before.rstrip()
        return f"{before}\n\n{block}" if before else block
    return f"{before}{block}{after}"


def body_budget(existing: str | None) -> int:
    """How long the managed block may be so that the whole body stays under GitHub's limit."""
    before, block, after = split_body(existing)
    outside = len(before) + len(after) + (0 if block is not None else 2)
    return max(2_000, min(DEFAULT_BODY_BUDGET, GITHUB_BODY_LIMIT - 1 - outside))


def parse_checkboxes(body: str | None) -> dict[str, bool]:
    """Candidate-fix checkbox states in the managed block's fixes section: text -> ticked."""
    _, block, _ = split_body(body)
    if block is None:
        return {}
    section = block.split(FIXES_HEADING, 1)
    if len(section) < 2:
        return {}
    states: dict[str, bool] = {}
    for line in section[1].splitlines():
        if line.startswith("### "):
            break
        m = _CHECKBOX_RE.match(line)
        if m:
            states[normalize_fix_text(m.group(2))] = m.group(1).lower() == "x"
    return states


def content_hash(title: str, body: str, labels: Sequence[str], milestone: str) -> str:
    """Hash of everything the sync writes to an issue; the body holds no timestamps, so this is stable."""
    h = hashlib.sha256()
    for part in (title, body, "\n".join(sorted(labels)), milestone):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def issue_labels(spec: LimitationSpec) -> tuple[str, ...]:
    """Labels a limitation's issue carries: the managed label, its own, and one per category."""
    return (MANAGED_LABEL, f"limitation:{spec.slug}", *(f"category:{c}" for c in spec.categories))
