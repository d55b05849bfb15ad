package index

// schemaVersion is the version of the tables below; an index file with
// another version is rebuilt from the sidecars.
const schemaVersion = 2

// schema creates the tables. dumps has one row per sidecar; the others
// are aggregates the triggers keep equal to what a GROUP BY over dumps
// would give, so that the unfiltered group list and chart read a row per
// group (or per group and hour) instead of one per dump. A replaced dump
// is deleted and inserted again (never INSERT OR REPLACE, which would
// skip the delete trigger). Every dump of a group has the group's title
// (the signature hashes it), so a delete leaves the title as it is.
const schema = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE dumps (
	dir TEXT NOT NULL, name TEXT NOT NULL,
	host TEXT NOT NULL, host_dir TEXT NOT NULL, label TEXT NOT NULL, boot_id TEXT NOT NULL,
	dump_seq INTEGER NOT NULL, release TEXT NOT NULL, reason TEXT NOT NULL, reason_text TEXT NOT NULL,
	t INTEGER NOT NULL, hour INTEGER NOT NULL, stored_at INTEGER NOT NULL,
	complete INTEGER NOT NULL, total_len INTEGER NOT NULL, missing_bytes INTEGER NOT NULL,
	title TEXT NOT NULL, signature TEXT NOT NULL, guilty TEXT NOT NULL, corrupted INTEGER NOT NULL,
	log TEXT NOT NULL,
	f_size INTEGER NOT NULL, f_mtime INTEGER NOT NULL, f_ino INTEGER NOT NULL,
	PRIMARY KEY (dir, name)
);
CREATE INDEX dumps_t ON dumps (t, dir, name);
CREATE INDEX dumps_tsd ON dumps (t, signature, dir);
CREATE INDEX dumps_sig ON dumps (signature, t);
CREATE INDEX dumps_dir ON dumps (dir, t);
CREATE INDEX dumps_release ON dumps (release, t);
CREATE TABLE groups (
	signature TEXT PRIMARY KEY, title TEXT NOT NULL, dumps INTEGER NOT NULL, hosts INTEGER NOT NULL,
	first INTEGER NOT NULL, last INTEGER NOT NULL
);
CREATE INDEX groups_last ON groups (last, signature);
CREATE TABLE group_hosts (signature TEXT, dir TEXT, dumps INTEGER NOT NULL, PRIMARY KEY (signature, dir)) WITHOUT ROWID;
CREATE TABLE group_releases (signature TEXT, release TEXT, dumps INTEGER NOT NULL, PRIMARY KEY (signature, release)) WITHOUT ROWID;
CREATE TABLE hourly (hour INTEGER, signature TEXT, dumps INTEGER NOT NULL, PRIMARY KEY (hour, signature)) WITHOUT ROWID;
CREATE TABLE hostdirs (dir TEXT PRIMARY KEY, mtime INTEGER NOT NULL, listed_at INTEGER NOT NULL) WITHOUT ROWID;

` + triggers

// triggers keep the aggregate tables up to date; a bulk rebuild drops
// them, inserts, fills the aggregates with aggregateSQL and creates them
// again, in one transaction.
const triggers = `
CREATE TRIGGER dumps_insert AFTER INSERT ON dumps BEGIN
	INSERT INTO group_hosts VALUES (new.signature, new.dir, 1)
		ON CONFLICT DO UPDATE SET dumps = dumps + 1;
	INSERT INTO group_releases VALUES (new.signature, new.release, 1)
		ON CONFLICT DO UPDATE SET dumps = dumps + 1;
	INSERT INTO hourly VALUES (new.hour, new.signature, 1)
		ON CONFLICT DO UPDATE SET dumps = dumps + 1;
	INSERT INTO groups VALUES (new.signature, new.title, 1, 1, new.t, new.t)
		ON CONFLICT DO UPDATE SET
			dumps = dumps + 1,
			hosts = hosts + (SELECT dumps = 1 FROM group_hosts WHERE signature = new.signature AND dir = new.dir),
			title = max(title, new.title),
			first = min(first, new.t),
			last = max(last, new.t);
END;

CREATE TRIGGER dumps_delete AFTER DELETE ON dumps BEGIN
	UPDATE group_hosts SET dumps = dumps - 1 WHERE signature = old.signature AND dir = old.dir;
	UPDATE groups SET
		dumps = dumps - 1,
		hosts = hosts - (SELECT dumps = 0 FROM group_hosts WHERE signature = old.signature AND dir = old.dir),
		first = coalesce((SELECT min(t) FROM dumps WHERE signature = old.signature), 0),
		last = coalesce((SELECT max(t) FROM dumps WHERE signature = old.signature), 0)
		WHERE signature = old.signature;
	DELETE FROM groups WHERE signature = old.signature AND dumps = 0;
	DELETE FROM group_hosts WHERE signature = old.signature AND dir = old.dir AND dumps = 0;
	UPDATE group_releases SET dumps = dumps - 1 WHERE signature = old.signature AND release = old.release;
	DELETE FROM group_releases WHERE signature = old.signature AND release = old.release AND dumps = 0;
	UPDATE hourly SET dumps = dumps - 1 WHERE hour = old.hour AND signature = old.signature;
	DELETE FROM hourly WHERE hour = old.hour AND signature = old.signature AND dumps = 0;
END;
`

const dropTriggers = `DROP TRIGGER dumps_insert; DROP TRIGGER dumps_delete;`

// aggregateSQL fills the aggregate tables from dumps.
const aggregateSQL = `
DELETE FROM groups; DELETE FROM group_hosts; DELETE FROM group_releases; DELETE FROM hourly;
INSERT INTO group_hosts SELECT signature, dir, count(*) FROM dumps GROUP BY signature, dir;
INSERT INTO group_releases SELECT signature, release, count(*) FROM dumps GROUP BY signature, release;
INSERT INTO hourly SELECT hour, signature, count(*) FROM dumps GROUP BY hour, signature;
INSERT INTO groups SELECT signature, max(title), count(*), (SELECT count(*) FROM group_hosts h WHERE h.signature = d.signature),
	min(t), max(t) FROM dumps d GROUP BY signature;
`
