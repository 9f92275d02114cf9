"""The table quota by node type, as the Management Guide's "Quotas and limits in Amazon Redshift" lists it:
https://docs.aws.amazon.com/redshift/latest/mgmt/amazon-redshift-limits.html ("Tables for large cluster node
type" 9,900; xlarge 9,900; xlplus 9,900 with a single node and 20,000 with several; 4xlarge, 8xlarge and
16xlarge 200,000)."""

from __future__ import annotations

import pytest

from local_stack.cli import table_quota_line
from local_stack.redshift import quota
from local_stack.settings import PROJECT_ROOT, SettingsError, load_settings


@pytest.mark.parametrize(
    ("node_type", "nodes", "tables"),
    [
        ("dc2.large", 1, 9_900),
        ("dc2.large", 4, 9_900),
        ("ra3.large", 2, 9_900),
        ("ds2.xlarge", 2, 9_900),
        ("ra3.xlplus", 1, 9_900),
        ("ra3.xlplus", 2, 20_000),
        ("ra3.4xlarge", 2, 200_000),
        ("dc2.8xlarge", 2, 200_000),
        ("ds2.8xlarge", 2, 200_000),
        ("ra3.16xlarge", 2, 200_000),
        ("RA3.4XLARGE", 2, 200_000),
    ],
)
def test_the_documented_quota_of_each_node_type(node_type, nodes, tables):
    assert quota.max_tables(node_type, nodes) == tables


@pytest.mark.parametrize("node_type", ["dc2.huge", "large", "dc2.", "ra3.2xlarge", ""])
def test_an_unknown_node_type_is_refused_naming_the_known_sizes(node_type):
    with pytest.raises(ValueError, match=r"Unknown Redshift node type .*large, xlarge, xlplus, 4xlarge"):
        quota.max_tables(node_type)


def test_the_default_is_the_infra_dags_default_cluster():
    from sparkify.infra.cluster_request import DEFAULT_NODE_TYPE, DEFAULT_NODES

    default = quota.quota_from({})
    assert (default.node_type, default.number_of_nodes) == (DEFAULT_NODE_TYPE, DEFAULT_NODES)
    assert default.max_tables == 9_900 and not default.overridden


def test_the_settings_choose_the_node_type_the_nodes_or_an_explicit_quota():
    chosen = quota.quota_from({quota.NODE_TYPE_VARIABLE: "ra3.xlplus", quota.NUMBER_OF_NODES_VARIABLE: "1"})
    assert (chosen.node_type, chosen.max_tables) == ("ra3.xlplus", 9_900)
    explicit = quota.quota_from({quota.MAX_TABLES_VARIABLE: "1,000"})
    assert (explicit.node_type, explicit.max_tables, explicit.overridden) == ("dc2.large", 1_000, True)
    assert explicit.describe() == f"1,000 tables ({quota.MAX_TABLES_VARIABLE})"
    for bad in ({quota.MAX_TABLES_VARIABLE: "0"}, {quota.MAX_TABLES_VARIABLE: "many"}):
        with pytest.raises(ValueError, match=quota.MAX_TABLES_VARIABLE):
            quota.quota_from(bad)


def test_load_settings_reads_the_node_type_and_reports_a_bad_one(monkeypatch):
    monkeypatch.delenv(quota.MAX_TABLES_VARIABLE, raising=False)
    monkeypatch.delenv(quota.NUMBER_OF_NODES_VARIABLE, raising=False)
    monkeypatch.setenv(quota.NODE_TYPE_VARIABLE, "ra3.16xlarge")
    assert load_settings(env_file=PROJECT_ROOT / ".env").table_quota.max_tables == 200_000
    monkeypatch.setenv(quota.NODE_TYPE_VARIABLE, "dc2.gigantic")
    with pytest.raises(SettingsError, match="dc2.gigantic"):
        load_settings(env_file=PROJECT_ROOT / ".env")


def test_status_names_the_running_quota_and_a_setting_not_yet_applied(monkeypatch):
    monkeypatch.delenv(quota.MAX_TABLES_VARIABLE, raising=False)
    monkeypatch.delenv(quota.NUMBER_OF_NODES_VARIABLE, raising=False)
    monkeypatch.setenv(quota.NODE_TYPE_VARIABLE, "ra3.4xlarge")
    settings = load_settings(env_file=PROJECT_ROOT / ".env")
    assert table_quota_line(settings, None) == (
        f"  table quota: 200,000 tables (ra3.4xlarge x 4); set {quota.NODE_TYPE_VARIABLE} to change it"
    )
    assert table_quota_line(settings, ("ra3.4xlarge", 200_000)) == table_quota_line(settings, None)
    stale = table_quota_line(settings, ("dc2.large", 9_900))
    assert stale.startswith("  table quota: 9,900 tables (dc2.large); the settings ask for 200,000 tables")
    assert "make down" in stale
