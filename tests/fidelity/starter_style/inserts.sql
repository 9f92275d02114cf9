-- The project's own SQL, written in the style of the usual Sparkify starter's insert statements:
-- the fact from the staged plays, then the four dimensions. It is not a copy of any starter (the
-- official one is Udacity's licensed content; code fetched from public repositories is never
-- committed here). On Redshift the keys declared in create_tables.sql are not enforced, so the
-- users insert keeps a second row for a user whose level changed, and time keeps one row per play.
INSERT INTO public.songplays (playid, start_time, userid, level, songid, artistid, sessionid, location, user_agent)
SELECT md5(events.sessionid || events.start_time) AS playid,
       events.start_time,
       events.userid,
       events.level,
       songs.song_id,
       songs.artist_id,
       events.sessionid,
       events.location,
       events.useragent
  FROM (SELECT TIMESTAMP 'epoch' + staging_events.ts / 1000 * INTERVAL '1 second' AS start_time,
               staging_events.*
          FROM staging_events
         WHERE staging_events.page = 'NextSong') AS events
  LEFT JOIN staging_songs AS songs
    ON events.song = songs.title
   AND events.artist = songs.artist_name
   AND events.length = songs.duration;

INSERT INTO public.users (userid, first_name, last_name, gender, level)
SELECT DISTINCT userid, firstname, lastname, gender, level
  FROM staging_events
 WHERE page = 'NextSong';

INSERT INTO public.songs (songid, title, artistid, year, duration)
SELECT DISTINCT song_id, title, artist_id, year, duration
  FROM staging_songs;

INSERT INTO public.artists (artistid, name, location, latitude, longitude)
SELECT DISTINCT artist_id, artist_name, artist_location, artist_latitude, artist_longitude
  FROM staging_songs;

INSERT INTO public."time" (start_time, hour, day, week, month, year, weekday)
SELECT start_time,
       extract(hour FROM start_time),
       extract(day FROM start_time),
       extract(week FROM start_time),
       extract(month FROM start_time),
       extract(year FROM start_time),
       extract(dayofweek FROM start_time)
  FROM songplays;
