-- A deterministic sqlite3 workload whose allocations pass through Debian's libsqlite3 (built without
-- frame pointers): `sqlite3 -init btree-insert.sql :memory: .quit`. 20,000 rows inserted, an index
-- built over them, one query; no random values, so every run allocates the same. Query results go
-- to /dev/null so that a traced run stays quiet.
.output /dev/null
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, value REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 20000)
INSERT INTO t SELECT x, 'name-' || x || '-' || hex(x * 2654435761 % 4294967296), x * 1.5 FROM c;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(length(name)) FROM t WHERE name LIKE 'name-1%';
