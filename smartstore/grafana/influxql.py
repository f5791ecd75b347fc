"""What every dashboard shares: the data source, the InfluxQL target, the region and store
variables and the names of the measurements the panels read (one place, from the code that
writes them)."""

from typing import Any, Final

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from cloud.const import M_HUB_STATUS, M_ORDERS, M_PAYMENTS, M_SALES
from edge.telemetry.points import (
    M_CALL_RESPONSES,
    M_CALLS,
    M_DEVICE_ALARMS,
    M_DEVICE_TELEMETRY,
    M_HUB_INGEST,
)

# dashboards/provisioning/datasources/influxdb.yaml gives the data source this uid.
DATASOURCE_UID: Final = "smartstore-influx"
DATASOURCE: Final = DataSourceRef(type_val="influxdb", uid=DATASOURCE_UID)
FOLDER: Final = "Smartstore"  # the provisioning folder of the dashboards and the alert rules
TAG: Final = "smartstore"

# Measurements written by the hubs (edge/telemetry/points.py) and by HQ (cloud/const.py).
HUB_MEASUREMENTS: Final = (M_DEVICE_TELEMETRY, M_CALLS, M_CALL_RESPONSES, M_HUB_INGEST)
MEASUREMENTS: Final = (*HUB_MEASUREMENTS, M_DEVICE_ALARMS, M_SALES, M_ORDERS, M_PAYMENTS)
MEASUREMENTS_ALL: Final = (*MEASUREMENTS, M_HUB_STATUS)

# The filter every panel applies: the stores picked in the `store` variable (All: every one
# of the regions picked in the `region` variable).
STORE: Final = '"store" =~ /^$store$/'
REGION: Final = '"region" =~ /^$region$/'  # the store variable's filter


class InfluxQL(cogvariants.Dataquery):
    """A raw InfluxQL target (the SDK has no InfluxDB query type)."""

    def __init__(self, ref_id: str, query: str, alias: str, result_format: str) -> None:
        self.ref_id, self.query, self.alias, self.result_format = (
            ref_id,
            query,
            alias,
            result_format,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "refId": self.ref_id,
            "datasource": {"type": "influxdb", "uid": DATASOURCE_UID},
            "rawQuery": True,
            "query": self.query,
            "alias": self.alias,
            "resultFormat": self.result_format,
        }


class Q(cogbuilder.Builder[InfluxQL]):
    def __init__(self, query: str, alias: str = "", ref_id: str = "A", table: bool = False) -> None:
        self._query = InfluxQL(ref_id, query, alias, "table" if table else "time_series")

    def build(self) -> InfluxQL:
        return self._query


# Where HQ says which region each store is in: the `region` tag of `hub_status` (written
# every round by cloud/fleet_influx.py from the stores table; absent for a store with none).
REGIONS_FROM: Final = M_HUB_STATUS


def region_variable() -> dashboard.QueryVariable:
    """The regions of HQ's stores, several at once, All by default. It filters the `store`
    variable (store_variable), and so every panel, which all filter on `$store`: a panel
    needs no region filter of its own, and the hubs' own points (which carry no region) are
    filtered too. All is `.*`, which also matches a store with no region."""
    return (
        dashboard.QueryVariable("region")
        .label("Region")
        .datasource(DATASOURCE)
        .query(f'SHOW TAG VALUES FROM "{REGIONS_FROM}" WITH KEY = "region"')
        .refresh(VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(VariableOption(selected=True, text=["All"], value=["$__all"]))
    )


def store_variable(measurement: str) -> dashboard.QueryVariable:
    """The stores that wrote `measurement` (or that HQ reports on in `hub_status`) in the
    regions picked, several at once, All by default. Put region_variable() before it."""
    sources = ", ".join(f'"{m}"' for m in dict.fromkeys((measurement, REGIONS_FROM)))
    query = f'SHOW TAG VALUES FROM {sources} WITH KEY = "store" WHERE {REGION}'
    return (
        dashboard.QueryVariable("store")
        .label("Store")
        .datasource(DATASOURCE)
        .query(query)
        .refresh(VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .current(VariableOption(selected=True, text=["All"], value=["$__all"]))
    )
