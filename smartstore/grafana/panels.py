"""Panel shapes the dashboards repeat: bars per hour, lines, a stat, a table."""

from grafana_foundation_sdk.builders import common, dashboard, stat, table, timeseries
from grafana_foundation_sdk.models.common import (
    BigValueColorMode,
    BigValueGraphMode,
    BigValueTextMode,
    GraphDrawStyle,
    LegendDisplayMode,
    LegendPlacement,
    SortOrder,
    StackingMode,
    TooltipDisplayMode,
)
from grafana_foundation_sdk.models.dashboard import (
    DataTransformerConfig,
    DynamicConfigValue,
    FieldColorModeId,
    Threshold,
    ThresholdsMode,
)

from smartstore.grafana.influxql import DATASOURCE, Q

YUAN = "currencyCNY"  # revenue fields are integer fen: queries divide by 100


def thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    """(from value, colour) steps; the first from None (the base)."""
    return (
        dashboard.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=v, color=c) for v, c in steps])
    )


def _legend(*calcs: str) -> common.VizLegendOptions:
    return (
        common.VizLegendOptions()
        .show_legend(True)
        .display_mode(LegendDisplayMode.TABLE)
        .placement(LegendPlacement.RIGHT)
        .calcs(list(calcs))
    )


def series(
    title: str,
    description: str,
    targets: list[Q],
    *,
    unit: str = "short",
    bars: bool = False,
    stacked: bool = False,
    calcs: tuple[str, ...] = ("sum",),
    width: int = 12,
    height: int = 9,
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(list(targets))
        .unit(unit)
        .min(0)
        .span(width)
        .height(height)
        .color_scheme(dashboard.FieldColor().mode(FieldColorModeId.PALETTE_CLASSIC))
        .legend(_legend(*calcs))
        .tooltip(
            common.VizTooltipOptions().mode(TooltipDisplayMode.MULTI).sort(SortOrder.DESCENDING)
        )
        .stacking(
            common.StackingConfig().mode(StackingMode.NORMAL if stacked else StackingMode.NONE)
        )
    )
    if bars:
        panel = panel.draw_style(GraphDrawStyle.BARS).fill_opacity(80).line_width(1)
    else:
        panel = panel.draw_style(GraphDrawStyle.LINE).fill_opacity(10).line_width(2)
    return panel


def big_number(
    title: str,
    description: str,
    target: Q,
    steps: dashboard.ThresholdsConfig,
    *,
    unit: str = "short",
    width: int = 6,
    height: int = 8,
) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(target)
        .unit(unit)
        .decimals(0)
        .no_value("0")
        .span(width)
        .height(height)
        .thresholds(steps)
        .color_scheme(dashboard.FieldColor().mode(FieldColorModeId.THRESHOLDS))
        .reduce_options(common.ReduceDataOptions().values(False).calcs(["lastNotNull"]))
        .text_mode(BigValueTextMode.VALUE_AND_NAME)
        .color_mode(BigValueColorMode.VALUE)
        .graph_mode(BigValueGraphMode.NONE)
    )


def rows(
    title: str,
    description: str,
    targets: list[Q],
    *,
    sort_by: str | None = None,
    descending: bool = True,
    units: dict[str, str] | None = None,
    width: int = 12,
    height: int = 9,
    by_time: bool = False,
) -> table.Panel:
    """A table of InfluxQL `table` results; several targets are merged on their tags. The
    Time column is hidden unless the rows are per hour or day (`by_time`): a query without
    GROUP BY time() answers the range's start there, which means nothing to HQ."""
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(list(targets))
        .span(width)
        .height(height)
        .filterable(True)
    )
    if not by_time:
        panel = panel.with_transformation(
            DataTransformerConfig(id_val="organize", options={"excludeByName": {"Time": True}})
        )
    if len(targets) > 1:
        panel = panel.with_transformation(DataTransformerConfig(id_val="merge", options={}))
    for name, unit in (units or {}).items():
        panel = panel.override_by_name(name, [DynamicConfigValue(id_val="unit", value=unit)])
    if sort_by is not None:
        panel = panel.sort_by(
            [common.TableSortByFieldState().display_name(sort_by).desc(descending)]
        )
    return panel
