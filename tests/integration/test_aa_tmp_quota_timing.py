import time, psycopg

def per_create(conn, n=60, prefix="t"):
    start = time.perf_counter()
    for i in range(n):
        conn.execute(f"CREATE TABLE quota_timing.{prefix}{i} (id INTEGER, name VARCHAR(20)) DISTKEY(id) SORTKEY(id)")
    elapsed = (time.perf_counter() - start) / n
    for i in range(n):
        conn.execute(f"DROP TABLE quota_timing.{prefix}{i}")
    return elapsed * 1000

def test_timing(backend, db):
    print()
    print("isolation", db.execute("SHOW transaction_isolation").fetchone())
    backend.execute("DROP SCHEMA IF EXISTS quota_timing CASCADE; CREATE SCHEMA quota_timing; CREATE SCHEMA quota_fill")
    for fill in (0, 2000, 9000):
        have = backend.execute("SELECT count(*) FROM pg_tables WHERE schemaname='quota_fill'").fetchone()[0]
        for i in range(have, fill):
            backend.execute(f"CREATE TABLE quota_fill.f{i} (id INTEGER, name VARCHAR(20))")
        results = {}
        for rnd in range(3):
            for enabled in (True, False):
                backend.execute(f"ALTER EVENT TRIGGER redshift_emulator_table_quota {'ENABLE' if enabled else 'DISABLE'}")
                results.setdefault(enabled, []).append(per_create(db))
        backend.execute("ALTER EVENT TRIGGER redshift_emulator_table_quota ENABLE")
        t0 = time.perf_counter(); backend.execute("SELECT redshift_emulator.table_count()"); tc = (time.perf_counter()-t0)*1000
        print(f"fill {fill}: with trigger {min(results[True]):.2f} ms, without {min(results[False]):.2f} ms per CREATE TABLE; table_count() {tc:.2f} ms", flush=True)
    for i in range(9000):
        backend.execute(f"DROP TABLE quota_fill.f{i}")
    backend.execute("DROP SCHEMA quota_fill CASCADE; DROP SCHEMA quota_timing CASCADE")
