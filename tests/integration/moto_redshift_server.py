"""`python moto_redshift_server.py -H host -p port`: moto's server, plus Redshift's ModifyClusterIamRoles.

moto 5.2.5 does not implement that action (its server answers "not yet implemented"), and
sparkify_infra calls it to attach the IAM role to a cluster it finds without it. This adds
it the way moto's own actions are written: update the cluster's role ARNs, return the cluster.
"""

from __future__ import annotations

from moto.core.responses import ActionResult
from moto.redshift.responses import RedshiftResponse
from moto.server import main


def modify_cluster_iam_roles(self: RedshiftResponse) -> ActionResult:
    cluster = self.redshift_backend.describe_clusters(self._get_param("ClusterIdentifier"))[0]
    removed = set(self._get_param("RemoveIamRoles", []))
    kept = [arn for arn in cluster.iam_roles_arn if arn not in removed]
    cluster.iam_roles_arn = kept + [arn for arn in self._get_param("AddIamRoles", []) if arn not in kept]
    return ActionResult({"Cluster": cluster})


if __name__ == "__main__":
    if not hasattr(RedshiftResponse, "modify_cluster_iam_roles"):  # a later moto may have its own
        RedshiftResponse.modify_cluster_iam_roles = modify_cluster_iam_roles
    main()
