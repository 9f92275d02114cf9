"""The provider's RedshiftDeleteClusterOperator, with its final-snapshot arguments templated.

`sparkify_infra` decides them in `check_params` (from the run's params), so they arrive
as XCom references, which Airflow resolves only in template fields.
"""

from __future__ import annotations

from collections.abc import Sequence

from airflow.providers.amazon.aws.operators.redshift_cluster import RedshiftDeleteClusterOperator


class DeleteClusterOperator(RedshiftDeleteClusterOperator):
    """Delete a Redshift cluster; a final snapshot is taken unless `skip_final_cluster_snapshot` is true.

    :param skip_final_cluster_snapshot: whether to delete without a final snapshot (templated).
    :param final_cluster_snapshot_identifier: the final snapshot's name (templated).
    """

    template_fields: Sequence[str] = (
        *RedshiftDeleteClusterOperator.template_fields,
        "skip_final_cluster_snapshot",
        "final_cluster_snapshot_identifier",
    )
