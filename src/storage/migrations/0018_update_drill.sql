-- Exists only in the drill build (cargo feature `update-drill`, never in a shipped one):
-- packaging/ci-package-check.sh packages such a build as a higher version, so that a packaged
-- `holdfast update apply` really changes the schema and takes the parked path, and `update rollback
-- --discard-changes` undoes it. One small table is enough: what is drilled is the update, not the
-- migration. When the next real migration ships, this one moves up to the number after it.
CREATE TABLE update_drill (
    id INTEGER PRIMARY KEY,
    note TEXT NOT NULL
) STRICT;
