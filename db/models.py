"""SQLAlchemy 2 typed models for the records in DESIGN.md ("Core records").

The schema itself is created by Alembic (`db/migrations`); these classes must stay in step with the latest
migration (a test compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite stores no offset and hands back naive datetimes; comparing those with the aware ones the code creates
    raises TypeError (e.g. when two human labels of one response are ranked). Values are stored in UTC and always
    come back aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Benchmark(Base):
    __tablename__ = "benchmark"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    domain: Mapped[str] = mapped_column(String(32))  # in_domain / out_of_domain / robustness
    answer_type: Mapped[str] = mapped_column(String(16))  # number / latex / choice / text
    description: Mapped[str] = mapped_column(Text, default="")
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    problems: Mapped[list[Problem]] = relationship(back_populates="benchmark")


class Problem(Base):
    __tablename__ = "problem"
    __table_args__ = (
        UniqueConstraint("benchmark_id", "key", name="uq_problem_benchmark_key"),
        Index("ix_problem_original", "original_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmark.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    question: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)  # [{"letter", "text"}, ...]
    reference_solution: Mapped[str | None] = mapped_column(Text, nullable=True)
    reference_answer: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    # The problem this one perturbs: kept as (benchmark, key) so it can be stated before the original is
    # loaded, and resolved to `original_id` once both exist.
    original_benchmark: Mapped[str | None] = mapped_column(String(64), nullable=True)
    original_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    original_id: Mapped[int | None] = mapped_column(
        ForeignKey("problem.id", ondelete="SET NULL"), nullable=True
    )

    benchmark: Mapped[Benchmark] = relationship(back_populates="problems")


class Model(Base):
    __tablename__ = "model"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)  # e.g. Abel-7B-001
    hf_id: Mapped[str | None] = mapped_column(String(256), nullable=True)  # e.g. GAIR/GAIRMath-Abel-7b
    family: Mapped[str] = mapped_column(String(64), default="")  # e.g. Abel
    size: Mapped[str] = mapped_column(String(32), default="")  # e.g. 7B
    size_b: Mapped[float | None] = mapped_column(Float, nullable=True)  # parameters in billions, to order
    generation: Mapped[str] = mapped_column(String(64), default="")  # Abel-001, Abel-002, Bernoulli
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class Run(Base):
    __tablename__ = "run"
    __table_args__ = (
        Index("ix_run_model", "model_id"),
        Index("ix_run_benchmark", "benchmark_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Identity of the run for idempotence and resume, e.g. "import:abel:gsm8k/7b" or a settings hash.
    run_key: Mapped[str] = mapped_column(String(256), unique=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"))
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmark.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))  # import / vllm / openai / synthetic
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # template, temperature, ...
    status: Mapped[str] = mapped_column(String(16), default="running")  # running / finished
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    code_version: Mapped[str] = mapped_column(String(64), default="")
    source_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    model: Mapped[Model] = relationship()
    benchmark: Mapped[Benchmark] = relationship()


class Response(Base):
    __tablename__ = "response"
    __table_args__ = (
        UniqueConstraint("run_id", "problem_id", "sample_index", name="uq_response_run_problem_sample"),
        Index("ix_response_run_correct", "run_id", "correct"),
        Index("ix_response_run_category", "run_id", "category"),
        Index("ix_response_category", "category"),
        Index("ix_response_problem", "problem_id"),
        Index("ix_response_status", "status"),
        # Covering index for the dashboard's per-run aggregates (accuracy, categories, review queue).
        Index(
            "ix_response_run_summary",
            "run_id", "correct", "published_correct", "category", "category_source", "category_confidence",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"))
    sample_index: Mapped[int] = mapped_column(Integer, default=0)
    prompt: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)
    finish_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)  # stop / length
    prompt_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    completion_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    # What the publisher said (imported runs only), so disagreements are visible.
    published_extracted: Mapped[str | None] = mapped_column(Text, nullable=True)
    published_correct: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Our grade; NULL status means "not graded yet".
    extracted: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    correct: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    grade_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    grader_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The effective primary category (human > judge > rule), kept here so dashboard aggregates over a
    # million responses need no per-row subquery over labels. Written only by db.labels.
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    category_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    category_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    run: Mapped[Run] = relationship()
    problem: Mapped[Problem] = relationship()


class CategoryLabel(Base):
    __tablename__ = "category_label"
    __table_args__ = (
        Index("ix_label_response", "response_id"),
        Index("ix_label_category", "category"),
        Index("ix_label_source", "source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))  # rule / judge / human
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    first_error_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    categorizer_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    author: Mapped[str | None] = mapped_column(String(128), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ResponseFlag(Base):
    __tablename__ = "response_flag"
    __table_args__ = (
        UniqueConstraint("response_id", "flag", name="uq_flag_response_flag"),
        Index("ix_flag_flag", "flag"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"))
    flag: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Limitation(Base):
    __tablename__ = "limitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[list[Any]] = mapped_column(JSON, default=list)
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    domains: Mapped[list[Any]] = mapped_column(JSON, default=list)  # every failure on these domains counts
    candidate_fixes: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"text", "done"}]
    milestone: Mapped[str] = mapped_column(String(128), default="Bernoulli")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open / mitigated
    close_threshold: Mapped[int] = mapped_column(Integer, default=0)
    adopt_issue: Mapped[int | None] = mapped_column(Integer, nullable=True)
    issue_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    issue_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    issue_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
