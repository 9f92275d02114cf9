"""A local `redshift-data` API (the Redshift Data API) in front of the Redshift emulator.

Point boto3's `redshift-data` client, or an Airflow AWS connection's `endpoint_url`, at
`DataApiServer.endpoint_url`. It serves ExecuteStatement, BatchExecuteStatement, DescribeStatement,
GetStatementResult, CancelStatement and ListStatements, running each statement asynchronously on the
emulator over its wire protocol, so that the Redshift dialect, COPY and SERIALIZABLE rules are the
emulator's.

Login: the server is given the emulator's DSN, whose user (`awsuser`) is the warehouse's only client
login, and every statement logs in as it. A request names its target as the API does, and that is
checked against the one warehouse the server stands for:
- `WorkgroupName` (Serverless): must be the server's workgroup (default `sparkify`); no DbUser.
- `ClusterIdentifier` (default `sparkify-dwh`) with `DbUser` (temporary credentials): DbUser must be the
  DSN's user.
- `SecretArn`, alone or with either of the above: any Secrets Manager ARN; the secret is not read (the
  local stack has no Secrets Manager) and stands for the DSN's login.
- `Database`: required; the database the statement connects to.
Anything else is a ValidationException. Sessions (SessionId) and CSV results are not supported.

Limits: at most `max_active` statements (default 20) SUBMITTED, PICKED or STARTED at once, beyond which
ExecuteStatement answers ActiveStatementsExceededException; results are held in memory for a day and
paged `page_rows` rows at a time. Requests must be SigV4-signed, but no signature is checked.
"""

from local_stack.redshift_data.server import DataApiServer

__all__ = ["DataApiServer"]
