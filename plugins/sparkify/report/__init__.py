"""The analytics report: the queries in include/sql/analytics/, as terminal tables and an HTML page with charts."""
