-- A deterministic sqlite3 workload for stacks through Debian's libsqlite3 (built without frame
-- pointers): `sqlite3 -init work.sql :memory: .quit`. Output goes to /dev/null so a traced run stays quiet.
.output /dev/null
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, value REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 20000)
INSERT INTO t SELECT x, 'name-' || x || '-' || hex(randomblob(8)), x * 1.5 FROM c;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(length(name)) FROM t WHERE name LIKE 'name-1%';
