"""Altair chart builders. Pure functions of small frames; selection parameters are named so pages can read
`st.altair_chart(..., on_select="rerun")` events by name."""

from __future__ import annotations

import altair as alt
import pandas as pd

from analysis.types import Category
from db.queries import UNCATEGORIZED

HEATMAP_SELECTION = "cell"
BAR_SELECTION = "bar"
CATEGORY_ORDER = [c.value for c in Category] + [UNCATEGORIZED]


def height_for(rows: int, per_row: int = 40, extra: int = 80, minimum: int = 160) -> int:
    """Pixel height for a chart with `rows` discrete rows. Pass it to `st.altair_chart(height=...)`: Streamlit
    does not always honour a layered spec's own height."""
    return max(minimum, per_row * rows + extra)


def accuracy_heatmap(acc_df: pd.DataFrame) -> alt.LayerChart:
    """Model x benchmark accuracy; published and regraded as adjacent columns per benchmark."""
    df = acc_df.copy()
    df["column"] = df["benchmark"] + " · " + df["kind"]
    columns = sorted(df["column"].unique())
    models = df.sort_values(["size_b", "model"])["model"].drop_duplicates().tolist()
    select = alt.selection_point(name=HEATMAP_SELECTION, fields=["model", "benchmark"], on="click")
    base = alt.Chart(df).encode(
        x=alt.X("column:N", sort=columns, title=None,
                axis=alt.Axis(labelAngle=-30, labelLimit=220, labelOverlap=False, orient="top")),
        y=alt.Y("model:N", sort=models, title=None),
    )
    rect = base.mark_rect(stroke="white").encode(
        color=alt.Color("accuracy:Q", scale=alt.Scale(domain=[0, 100], scheme="blues"), title="accuracy %"),
        opacity=alt.condition(select, alt.value(1.0), alt.value(0.45)),
        tooltip=["model", "benchmark", "kind", alt.Tooltip("accuracy:Q", format=".2f"), "n"],
    ).add_params(select)
    text = base.mark_text(fontSize=13).encode(
        text=alt.Text("accuracy:Q", format=".2f"),
        color=alt.condition("datum.accuracy > 60", alt.value("white"), alt.value("black")),
    )
    return alt.layer(rect, text)


def failures_by_category(counts_df: pd.DataFrame, by: str) -> alt.Chart:
    """Horizontal stacked bars of failures per `by` (model or benchmark), coloured by category."""
    df = counts_df.groupby([by, "category"], as_index=False)["failures"].sum()
    order = (
        counts_df.sort_values("size_b")[by].drop_duplicates().tolist() if by == "model" else sorted(df[by].unique())
    )
    select = alt.selection_point(name=BAR_SELECTION, fields=[by, "category"], on="click")
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y(f"{by}:N", sort=order, title=None),
            x=alt.X("failures:Q", title="failures"),
            color=alt.Color("category:N", sort=CATEGORY_ORDER, scale=alt.Scale(scheme="tableau20")),
            order=alt.Order("category:N"),
            opacity=alt.condition(select, alt.value(1.0), alt.value(0.5)),
            tooltip=[by, "category", "failures"],
        )
        .add_params(select)
    )


def domain_accuracy(domain_df: pd.DataFrame) -> alt.Chart:
    """Pooled accuracy per model and domain (columns: model, size_b, domain, kind, accuracy)."""
    models = domain_df.sort_values("size_b")["model"].drop_duplicates().tolist()
    return (
        alt.Chart(domain_df)
        .mark_bar()
        .encode(
            x=alt.X("model:N", sort=models, title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("domain:N"),
            y=alt.Y("accuracy:Q", title="accuracy %", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("domain:N"),
            tooltip=["model", "domain", "kind", alt.Tooltip("accuracy:Q", format=".2f"), "n"],
        )
    )


def accuracy_by_size(acc_df: pd.DataFrame) -> alt.Chart:
    """The same benchmark across model sizes: accuracy against parameters (log scale)."""
    df = acc_df.dropna(subset=["size_b"])
    return (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X("size_b:O", title="parameters (billions)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("accuracy:Q", title="accuracy %", scale=alt.Scale(zero=False)),
            color=alt.Color("benchmark:N"),
            strokeDash=alt.StrokeDash("kind:N"),
            tooltip=["model", "benchmark", "kind", alt.Tooltip("accuracy:Q", format=".2f")],
        )
    )


def flip_rates(rates_df: pd.DataFrame) -> alt.LayerChart:
    """Flip rate per model with its confidence interval (columns: model, size_b, rate, low, high in percent)."""
    models = rates_df.sort_values("size_b")["model"].tolist()
    base = alt.Chart(rates_df).encode(x=alt.X("model:N", sort=models, title=None, axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar(opacity=0.8).encode(
        y=alt.Y("rate:Q", title="flip rate %"),
        tooltip=["model", alt.Tooltip("rate:Q", format=".2f"), alt.Tooltip("low:Q", format=".2f"),
                 alt.Tooltip("high:Q", format=".2f")],
    )
    rule = base.mark_rule(strokeWidth=2, color="black").encode(y=alt.Y("low:Q", title=""), y2="high:Q")
    return alt.layer(bars, rule)


def category_shift(shift_df: pd.DataFrame) -> alt.Chart:
    """Failures per category for two runs side by side (columns: category, run, failures)."""
    return (
        alt.Chart(shift_df)
        .mark_bar()
        .encode(
            x=alt.X("category:N", sort=CATEGORY_ORDER, title=None,
                    axis=alt.Axis(labelAngle=-30, labelLimit=200, labelOverlap=False)),
            xOffset=alt.XOffset("run:N"),
            y=alt.Y("failures:Q"),
            color=alt.Color("run:N", title=None, legend=alt.Legend(orient="top", labelLimit=400)),
            tooltip=["run", "category", "failures"],
        )
    )


STATUS_COLORS = alt.Scale(domain=["open", "mitigated"], range=["#e45756", "#54a24b"])


def limitation_trend(trend_df: pd.DataFrame) -> alt.FacetChart:
    """Small multiples, one per benchmark: a limitation's failure rate per model, models in generation then size
    order, one line per family and size joining its generations (columns: series, benchmark, generation, model,
    order, failures, responses, rate)."""
    ordered = trend_df.sort_values("order")
    models = ordered["model"].drop_duplicates().tolist()
    series = ordered["series"].drop_duplicates().tolist()  # 7B before 13B, not in string order
    base = alt.Chart().encode(
        x=alt.X("model:N", sort=models, title=None,
                axis=alt.Axis(labelAngle=-35, labelLimit=160, labelOverlap=False)),
        y=alt.Y("rate:Q", title="failure rate %", scale=alt.Scale(zero=True)),
        color=alt.Color("series:N", sort=series, title="family · size", scale=alt.Scale(scheme="tableau10"),
                        legend=alt.Legend(orient="top")),
    )
    line = base.mark_line(point=alt.OverlayMarkDef(size=70)).encode(
        detail="series:N",
        tooltip=["model", "generation", "benchmark", "failures", "responses",
                 alt.Tooltip("rate:Q", format=".2f", title="rate %")],
    )
    labels = base.mark_text(dy=-11, fontSize=11).encode(text=alt.Text("rate:Q", format=".1f"))
    return (
        alt.layer(line, labels, data=trend_df)
        .properties(width=alt.Step(60), height=180)
        .facet(column=alt.Column("benchmark:N", title=None, header=alt.Header(labelFontSize=12)))
        .resolve_scale(x="independent")
    )


def limitation_failures(limitations_df: pd.DataFrame) -> alt.Chart:
    """Failures in the latest runs per limitation, coloured open / mitigated (columns: slug, failures, status,
    counted from)."""
    df = limitations_df.assign(failures=limitations_df["failures"].fillna(0))
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y("slug:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220, labelOverlap=False)),
            x=alt.X("failures:Q", title="failures in the latest runs"),
            color=alt.Color("status:N", scale=STATUS_COLORS, title=None, legend=alt.Legend(orient="top")),
            tooltip=["limitation", "status", "failures", "counted from"],
        )
    )
