-- The Sparkify warehouse, in Redshift's dialect. The local stack's Redshift emulator
-- runs it as it is. Every statement is idempotent.

-- Staging: the columns of the Udacity starter DDL. Lengths and durations are
-- DOUBLE PRECISION so that they round-trip exactly and can be compared for equality.
CREATE TABLE IF NOT EXISTS staging_events (
    artist        VARCHAR(512),
    auth          VARCHAR(32),
    firstname     VARCHAR(256),
    gender        VARCHAR(16),
    iteminsession INTEGER,
    lastname      VARCHAR(256),
    length        DOUBLE PRECISION,
    level         VARCHAR(16),
    location      VARCHAR(512),
    method        VARCHAR(16),
    page          VARCHAR(64),
    registration  DOUBLE PRECISION,
    sessionid     INTEGER,
    song          VARCHAR(512),
    status        INTEGER,
    ts            TIMESTAMP,
    useragent     VARCHAR(1024),
    userid        INTEGER
)
DISTSTYLE EVEN
SORTKEY (ts);

CREATE TABLE IF NOT EXISTS staging_songs (
    num_songs        INTEGER,
    artist_id        VARCHAR(32),
    artist_latitude  DOUBLE PRECISION,
    artist_longitude DOUBLE PRECISION,
    artist_location  VARCHAR(512),
    artist_name      VARCHAR(512),
    song_id          VARCHAR(32),
    title            VARCHAR(512),
    duration         DOUBLE PRECISION,
    year             INTEGER
)
DISTSTYLE EVEN
SORTKEY (title);

-- The song files staged by a run (key, ETag, size), and the ledger of files whose
-- songs have reached the songs and artists dimensions: hourly runs stage only new
-- or changed files.
CREATE TABLE IF NOT EXISTS staging_song_files (
    s3_key VARCHAR(1024) NOT NULL,
    etag   VARCHAR(128)  NOT NULL,
    size   BIGINT        NOT NULL
)
DISTSTYLE EVEN;

CREATE TABLE IF NOT EXISTS song_file_ledger (
    s3_key    VARCHAR(1024) NOT NULL,
    etag      VARCHAR(128)  NOT NULL,
    size      BIGINT        NOT NULL,
    loaded_at TIMESTAMP     NOT NULL,
    PRIMARY KEY (s3_key)
)
DISTSTYLE ALL
SORTKEY (s3_key);

-- The latest listing of the song files (sparkify.s3copy.listing): compared with the ledger in
-- the warehouse, and reused by backfill runs for sparkify_backfill_listing_max_age.
CREATE TABLE IF NOT EXISTS song_file_listing (
    source    VARCHAR(1024) NOT NULL,
    s3_key    VARCHAR(1024) NOT NULL,
    etag      VARCHAR(128)  NOT NULL,
    size      BIGINT        NOT NULL,
    listed_at TIMESTAMP     NOT NULL,
    PRIMARY KEY (source, s3_key)
)
DISTSTYLE ALL
SORTKEY (source, s3_key);

-- Copies of staged S3 objects (sparkify.s3copy.object_cache): the hourly runs of one day fill
-- their staging_events from the day file's copy instead of COPYing the file again.
CREATE TABLE IF NOT EXISTS staged_object_cache (
    table_name VARCHAR(128)  NOT NULL,
    s3_uri     VARCHAR(1100) NOT NULL,
    etag       VARCHAR(128)  NOT NULL,
    size       BIGINT        NOT NULL,
    row_count  BIGINT        NOT NULL,
    rejected   BIGINT        NOT NULL,
    staged_at  TIMESTAMP     NOT NULL,
    used_at    TIMESTAMP     NOT NULL,
    PRIMARY KEY (table_name)
)
DISTSTYLE ALL;

-- Run-scoped copies of the staging tables (sparkify.staging), so concurrent runs never
-- share staged rows; copies older than the retention are dropped by create_tables.
CREATE TABLE IF NOT EXISTS staging_tables (
    table_name VARCHAR(128) NOT NULL,
    run_id     VARCHAR(256) NOT NULL,
    created_at TIMESTAMP    NOT NULL,
    PRIMARY KEY (table_name)
)
DISTSTYLE ALL;

-- Failed runs whose run tables are kept for inspection (Variable sparkify_keep_failed_run_tables):
-- written by the run's teardown (drop_run_tables) under LOCK TABLE staging_tables; at most
-- sparkify.staging.KEPT_FAILED_RUNS_LIMIT rows, each dropped with its tables after the retention.
CREATE TABLE IF NOT EXISTS kept_failed_runs (
    run_id  VARCHAR(256) NOT NULL,
    kept_at TIMESTAMP    NOT NULL,
    PRIMARY KEY (run_id)
)
DISTSTYLE ALL;

-- Fact: one row per NextSong event with a user id.
CREATE TABLE IF NOT EXISTS songplays (
    songplay_id VARCHAR(32)   NOT NULL,
    start_time  TIMESTAMP     NOT NULL,
    user_id     INTEGER       NOT NULL,
    level       VARCHAR(16),
    song_id     VARCHAR(32),
    artist_id   VARCHAR(32),
    session_id  INTEGER,
    location    VARCHAR(512),
    user_agent  VARCHAR(1024),
    PRIMARY KEY (songplay_id)
)
DISTSTYLE KEY
DISTKEY (user_id)
COMPOUND SORTKEY (start_time, user_id);

CREATE TABLE IF NOT EXISTS users (
    user_id    INTEGER      NOT NULL,
    first_name VARCHAR(256),
    last_name  VARCHAR(256),
    gender     VARCHAR(16),
    level      VARCHAR(16),
    PRIMARY KEY (user_id)
)
DISTSTYLE ALL
SORTKEY (user_id);

CREATE TABLE IF NOT EXISTS songs (
    song_id   VARCHAR(32)  NOT NULL,
    title     VARCHAR(512),
    artist_id VARCHAR(32),
    year      INTEGER,
    duration  DOUBLE PRECISION,
    PRIMARY KEY (song_id)
)
DISTSTYLE ALL
SORTKEY (song_id);

CREATE TABLE IF NOT EXISTS artists (
    artist_id VARCHAR(32)  NOT NULL,
    name      VARCHAR(512),
    location  VARCHAR(512),
    latitude  DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    PRIMARY KEY (artist_id)
)
DISTSTYLE ALL
SORTKEY (artist_id);

CREATE TABLE IF NOT EXISTS time (
    start_time TIMESTAMP NOT NULL,
    hour       INTEGER   NOT NULL,
    day        INTEGER   NOT NULL,
    week       INTEGER   NOT NULL,
    month      INTEGER   NOT NULL,
    year       INTEGER   NOT NULL,
    weekday    INTEGER   NOT NULL,
    PRIMARY KEY (start_time)
)
DISTSTYLE KEY
DISTKEY (start_time)
SORTKEY (start_time);

-- One row per data quality check and run (DataQualityOperator).
CREATE TABLE IF NOT EXISTS dq_results (
    run_id       VARCHAR(256),
    window_start TIMESTAMP     NOT NULL,
    window_end   TIMESTAMP     NOT NULL,
    check_name   VARCHAR(128)  NOT NULL,
    table_name   VARCHAR(128),
    observed     VARCHAR(256),
    expected     VARCHAR(256),
    passed       BOOLEAN       NOT NULL,
    severity     VARCHAR(8)    NOT NULL,
    checked_at   TIMESTAMP     NOT NULL
)
DISTSTYLE EVEN
SORTKEY (checked_at);
