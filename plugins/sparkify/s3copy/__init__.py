"""The COPY SQL the operator sends to Redshift: specification, credentials, the incremental-staging ledger."""
