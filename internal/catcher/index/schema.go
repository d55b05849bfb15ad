package index

// schemaVersion is the version of the tables below; an index file with
// another version is rebuilt from the sidecars. 3 added the per-host and
// per-release aggregates with their times (group_hosts.last,
// group_releases' hosts, first and last, release_hosts,
// release_hourly) and the index dumps_sig_rel, and dropped dumps_tsd. 4
// ends the dumps' indexes with the list's order (t, dir, name), so that
// a later page is found in the index alone.
const schemaVersion = 4

// schema creates the tables. dumps has one row per sidecar; the others
// are aggregates the triggers keep equal to what a GROUP BY over dumps
// would give, so that grouping, counting and charting read a row per
// group (or per group and hour, host or release) instead of one per
// dump:
//
//   - groups: per signature, its dumps, hosts (distinct dirs), first and
//     last time;
//   - group_hosts: per signature and host directory, its dumps and the
//     last time: the hosts of a group since T are its rows with
//     last >= T;
//   - group_releases: per signature and release, as groups;
//   - release_hosts: per signature, release and host directory, as
//     group_hosts;
//   - hourly, release_hourly: dumps per hour (catalog.HourOf) and
//     signature, and per release, hour and signature.
//
// A replaced dump is deleted and inserted again (never INSERT OR
// REPLACE, which would skip the delete trigger). Every dump of a group
// has the group's title (the signature hashes it), so a delete leaves
// the title as it is.
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
` + dumpIndexes + `
CREATE TABLE groups (
	signature TEXT PRIMARY KEY, title TEXT NOT NULL, dumps INTEGER NOT NULL, hosts INTEGER NOT NULL,
	first INTEGER NOT NULL, last INTEGER NOT NULL
);
CREATE INDEX groups_last ON groups (last, signature);
CREATE TABLE group_hosts (
	signature TEXT, dir TEXT, dumps INTEGER NOT NULL, last INTEGER NOT NULL,
	PRIMARY KEY (signature, dir)
) WITHOUT ROWID;
CREATE INDEX group_hosts_last ON group_hosts (signature, last);
CREATE TABLE group_releases (
	signature TEXT, release TEXT, dumps INTEGER NOT NULL, hosts INTEGER NOT NULL,
	first INTEGER NOT NULL, last INTEGER NOT NULL,
	PRIMARY KEY (signature, release)
) WITHOUT ROWID;
CREATE TABLE release_hosts (
	signature TEXT, release TEXT, dir TEXT, dumps INTEGER NOT NULL, last INTEGER NOT NULL,
	PRIMARY KEY (signature, release, dir)
) WITHOUT ROWID;
CREATE INDEX release_hosts_last ON release_hosts (signature, release, last);
CREATE TABLE hourly (hour INTEGER, signature TEXT, dumps INTEGER NOT NULL, PRIMARY KEY (hour, signature)) WITHOUT ROWID;
CREATE TABLE release_hourly (
	release TEXT, hour INTEGER, signature TEXT, dumps INTEGER NOT NULL,
	PRIMARY KEY (release, hour, signature)
) WITHOUT ROWID;
CREATE TABLE hostdirs (dir TEXT PRIMARY KEY, mtime INTEGER NOT NULL, listed_at INTEGER NOT NULL) WITHOUT ROWID;

` + triggers

// dumpIndexes are the indexes of dumps; a bulk rebuild drops them,
// inserts and creates them again (faster than keeping them up to date
// row by row). dumps_t serves the newest-first list and, covering the
// signature, the counts of a part of an hour; dumps_sig and
// dumps_sig_rel a group's dumps and its first and last time (with a
// release); dumps_dir a host's dumps; dumps_release a release's dumps.
// Each ends with the list's order (t, dir, name): the rows of a later
// page are found by walking the index alone, without reading the rows
// before them (Dumps).
const dumpIndexes = `
CREATE INDEX dumps_t ON dumps (t, dir, name, signature);
CREATE INDEX dumps_sig ON dumps (signature, t, dir, name);
CREATE INDEX dumps_sig_rel ON dumps (signature, release, t, dir, name);
CREATE INDEX dumps_dir ON dumps (dir, t, name);
CREATE INDEX dumps_release ON dumps (release, t, dir, name);
`

const dropDumpIndexes = `DROP INDEX dumps_t; DROP INDEX dumps_sig; DROP INDEX dumps_sig_rel;
DROP INDEX dumps_dir; DROP INDEX dumps_release;`

// triggers keep the aggregate tables up to date; a bulk rebuild drops
// them, inserts, fills the aggregates with aggregateSQL and creates them
// again, in one transaction. A host's or release's rows are written
// before its group's, whose hosts count says whether the row is new (1)
// or gone (0). In the delete trigger's subqueries the unary + keeps the
// planner on dumps_dir (a host's few dumps) rather than a group's many.
const triggers = `
CREATE TRIGGER dumps_insert AFTER INSERT ON dumps BEGIN
	INSERT INTO group_hosts VALUES (new.signature, new.dir, 1, new.t)
		ON CONFLICT DO UPDATE SET dumps = dumps + 1, last = max(last, new.t);
	INSERT INTO release_hosts VALUES (new.signature, new.release, new.dir, 1, new.t)
		ON CONFLICT DO UPDATE SET dumps = dumps + 1, last = max(last, new.t);
	INSERT INTO group_releases VALUES (new.signature, new.release, 1, 1, new.t, new.t)
		ON CONFLICT DO UPDATE SET
			dumps = dumps + 1,
			hosts = hosts + (SELECT dumps = 1 FROM release_hosts
				WHERE signature = new.signature AND release = new.release AND dir = new.dir),
			first = min(first, new.t),
			last = max(last, new.t);
	INSERT INTO hourly VALUES (new.hour, new.signature, 1)
		ON CONFLICT DO UPDATE SET dumps = dumps + 1;
	INSERT INTO release_hourly VALUES (new.release, new.hour, new.signature, 1)
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
	UPDATE group_hosts SET
		dumps = dumps - 1,
		last = coalesce((SELECT max(t) FROM dumps WHERE dir = old.dir AND +signature = old.signature), 0)
		WHERE signature = old.signature AND dir = old.dir;
	UPDATE groups SET
		dumps = dumps - 1,
		hosts = hosts - (SELECT dumps = 0 FROM group_hosts WHERE signature = old.signature AND dir = old.dir),
		first = coalesce((SELECT min(t) FROM dumps WHERE signature = old.signature), 0),
		last = coalesce((SELECT max(t) FROM dumps WHERE signature = old.signature), 0)
		WHERE signature = old.signature;
	DELETE FROM groups WHERE signature = old.signature AND dumps = 0;
	DELETE FROM group_hosts WHERE signature = old.signature AND dir = old.dir AND dumps = 0;

	UPDATE release_hosts SET
		dumps = dumps - 1,
		last = coalesce((SELECT max(t) FROM dumps
			WHERE dir = old.dir AND +signature = old.signature AND +release = old.release), 0)
		WHERE signature = old.signature AND release = old.release AND dir = old.dir;
	UPDATE group_releases SET
		dumps = dumps - 1,
		hosts = hosts - (SELECT dumps = 0 FROM release_hosts
			WHERE signature = old.signature AND release = old.release AND dir = old.dir),
		first = coalesce((SELECT min(t) FROM dumps WHERE signature = old.signature AND release = old.release), 0),
		last = coalesce((SELECT max(t) FROM dumps WHERE signature = old.signature AND release = old.release), 0)
		WHERE signature = old.signature AND release = old.release;
	DELETE FROM group_releases WHERE signature = old.signature AND release = old.release AND dumps = 0;
	DELETE FROM release_hosts WHERE signature = old.signature AND release = old.release AND dir = old.dir AND dumps = 0;

	UPDATE hourly SET dumps = dumps - 1 WHERE hour = old.hour AND signature = old.signature;
	DELETE FROM hourly WHERE hour = old.hour AND signature = old.signature AND dumps = 0;
	UPDATE release_hourly SET dumps = dumps - 1
		WHERE release = old.release AND hour = old.hour AND signature = old.signature;
	DELETE FROM release_hourly WHERE release = old.release AND hour = old.hour AND signature = old.signature AND dumps = 0;
END;
`

const dropTriggers = `DROP TRIGGER dumps_insert; DROP TRIGGER dumps_delete;`

// aggregateSQL fills the aggregate tables from dumps. What is counted
// from dumps reads the table in order and sorts (NOT INDEXED): walking
// an index in the GROUP BY's order would fetch each row at random.
const aggregateSQL = `
DELETE FROM groups; DELETE FROM group_hosts; DELETE FROM group_releases; DELETE FROM release_hosts;
DELETE FROM hourly; DELETE FROM release_hourly;
INSERT INTO release_hosts SELECT signature, release, dir, count(*), max(t) FROM dumps NOT INDEXED GROUP BY signature, release, dir;
INSERT INTO group_hosts SELECT signature, dir, sum(dumps), max(last) FROM release_hosts GROUP BY signature, dir;
INSERT INTO group_releases SELECT signature, release, count(*), 0, min(t), max(t) FROM dumps NOT INDEXED GROUP BY signature, release;
UPDATE group_releases SET hosts = (SELECT count(*) FROM release_hosts h
	WHERE h.signature = group_releases.signature AND h.release = group_releases.release);
INSERT INTO release_hourly SELECT release, hour, signature, count(*) FROM dumps NOT INDEXED GROUP BY release, hour, signature;
INSERT INTO hourly SELECT hour, signature, sum(dumps) FROM release_hourly GROUP BY hour, signature;
INSERT INTO groups SELECT signature, max(title), count(*), (SELECT count(*) FROM group_hosts h WHERE h.signature = d.signature),
	min(t), max(t) FROM dumps d NOT INDEXED GROUP BY signature;
`
