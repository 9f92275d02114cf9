-- The project's own SQL, written in the style of the usual Sparkify starter (staging tables loaded
-- by COPY, a star schema with declared keys, distribution and sort keys). It is not a copy of any
-- starter: the official one is Udacity's licensed content, and code fetched from public
-- repositories is never committed here. tests/fidelity/test_starter_style_sql.py runs it unmodified.
DROP TABLE IF EXISTS public.staging_events;
CREATE TABLE public.staging_events (
    artist          VARCHAR(256),
    auth            VARCHAR(32),
    firstname       VARCHAR(128),
    gender          CHAR(1),
    iteminsession   INTEGER,
    lastname        VARCHAR(128),
    length          FLOAT,
    level           VARCHAR(16),
    location        VARCHAR(256),
    method          VARCHAR(8),
    page            VARCHAR(64),
    registration    FLOAT,
    sessionid       INTEGER,
    song            VARCHAR(256),
    status          INTEGER,
    ts              BIGINT,
    useragent       VARCHAR(512),
    userid          INTEGER
)
DISTSTYLE EVEN;

DROP TABLE IF EXISTS public.staging_songs;
CREATE TABLE public.staging_songs (
    num_songs         INTEGER,
    artist_id         VARCHAR(32),
    artist_latitude   FLOAT,
    artist_longitude  FLOAT,
    artist_location   VARCHAR(512),
    artist_name       VARCHAR(512),
    song_id           VARCHAR(32),
    title             VARCHAR(512),
    duration          FLOAT,
    year              INTEGER
)
DISTSTYLE EVEN;

DROP TABLE IF EXISTS public.songplays;
CREATE TABLE public.songplays (
    playid      VARCHAR(32)  NOT NULL,
    start_time  TIMESTAMP    NOT NULL,
    userid      INTEGER      NOT NULL,
    level       VARCHAR(16),
    songid      VARCHAR(32),
    artistid    VARCHAR(32),
    sessionid   INTEGER,
    location    VARCHAR(256),
    user_agent  VARCHAR(512),
    CONSTRAINT songplays_pkey PRIMARY KEY (playid)
)
DISTSTYLE KEY
DISTKEY (start_time)
SORTKEY (start_time);

DROP TABLE IF EXISTS public.users;
CREATE TABLE public.users (
    userid      INTEGER      NOT NULL,
    first_name  VARCHAR(128),
    last_name   VARCHAR(128),
    gender      CHAR(1),
    level       VARCHAR(16),
    CONSTRAINT users_pkey PRIMARY KEY (userid)
)
DISTSTYLE ALL
SORTKEY (userid);

DROP TABLE IF EXISTS public.songs;
CREATE TABLE public.songs (
    songid    VARCHAR(32)  NOT NULL,
    title     VARCHAR(512),
    artistid  VARCHAR(32),
    year      INTEGER,
    duration  FLOAT,
    CONSTRAINT songs_pkey PRIMARY KEY (songid)
)
DISTSTYLE ALL
SORTKEY (songid);

DROP TABLE IF EXISTS public.artists;
CREATE TABLE public.artists (
    artistid   VARCHAR(32)  NOT NULL,
    name       VARCHAR(512),
    location   VARCHAR(512),
    latitude   FLOAT,
    longitude  FLOAT,
    CONSTRAINT artists_pkey PRIMARY KEY (artistid)
)
DISTSTYLE ALL
SORTKEY (artistid);

DROP TABLE IF EXISTS public."time";
CREATE TABLE public."time" (
    start_time  TIMESTAMP  NOT NULL,
    hour        INTEGER,
    day         INTEGER,
    week        INTEGER,
    month       INTEGER,
    year        INTEGER,
    weekday     INTEGER,
    CONSTRAINT time_pkey PRIMARY KEY (start_time)
)
DISTSTYLE KEY
DISTKEY (start_time)
SORTKEY (start_time);
