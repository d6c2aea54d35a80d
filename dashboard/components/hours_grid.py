"""Calling hours as a weekly picture: 7 days × 24 hours, parts of hours filled to the minute."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from core.agent import hours_view
from core.agent.models import CallingHours

_OPEN = "#2f6fde"
_CLOSED = "#eef0f4"


def figure(hours: CallingHours | dict[str, Any], title: str = "") -> go.Figure:
    """The week as a grid: a light cell per hour, its open part drawn in blue."""
    cells = hours_view.coverage(hours)
    days = list(hours_view.DAY_SHORT.values())
    hover = [[f"{days[d]} {c.hour:02d}:00–{(c.hour + 1) % 24:02d}:00 · "
              f"{round(c.fraction * 60)} of 60 minutes open" for c in row] for d, row in enumerate(cells)]
    fig = go.Figure(go.Heatmap(
        z=[[c.fraction for c in row] for row in cells], x=list(range(24)), y=list(range(7)),
        colorscale=[[0, _CLOSED], [1, _CLOSED]], showscale=False, xgap=1, ygap=1,
        hovertext=hover, hoverinfo="text", zmin=0, zmax=1,
    ))
    # Each open part of an hour is a bar inside its cell (09:30–10:00 fills the right half).
    for d, row in enumerate(cells):
        for cell in row:
            for start, end in cell.segments:
                fig.add_shape(type="rect", x0=cell.hour - 0.5 + start, x1=cell.hour - 0.5 + end,
                              y0=d - 0.42, y1=d + 0.42, fillcolor=_OPEN, line_width=0, layer="above")
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15}} if title else None,
        height=250, margin={"l": 10, "r": 10, "t": 36 if title else 8, "b": 30},
        plot_bgcolor="white", paper_bgcolor="rgba(0,0,0,0)",
    )
    fig.update_xaxes(tickmode="array", tickvals=list(range(24)), ticktext=[str(h) for h in range(24)],
                     range=[-0.5, 23.5], showgrid=False, zeroline=False, fixedrange=True,
                     title_text="Hour of the day")
    fig.update_yaxes(tickmode="array", tickvals=list(range(7)), ticktext=days, autorange="reversed",
                     showgrid=False, zeroline=False, fixedrange=True)
    return fig


def show(hours: CallingHours | dict[str, Any], *, key: str, title: str = "") -> None:
    """The weekly picture with its sentence and whose time zone applies."""
    st.plotly_chart(figure(hours, title), width="stretch", key=key,
                    config={"displayModeBar": False})
    st.caption(f"{hours_view.describe_hours(hours)} In the candidate's local time.")
