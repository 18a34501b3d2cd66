-- Badge lookup tags: a deterministic, site-wide scrypt of the badge code, computed by the
-- central and sent with the user (cabinet.security.credentials.badge_tag), so a badge scan
-- looks one row up in this index instead of trying every user's salted hash. Rows written
-- before this migration have no tag until the central sends the user again.
ALTER TABLE users ADD COLUMN badge_tag TEXT;
CREATE INDEX users_badge_tag ON users (badge_tag);
