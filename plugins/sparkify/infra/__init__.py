"""The Redshift cluster's lifecycle (`sparkify_infra`): its request, IAM role, security group and status."""
