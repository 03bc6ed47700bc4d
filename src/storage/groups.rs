//! Tables `groups` and `group_permissions`.

use super::StorageError;
use super::{Connection, Transaction};
use rusqlite::{OptionalExtension, params};

#[derive(Debug, Clone)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub permissions: Vec<String>,
    pub members: Vec<String>,
}

pub fn list(conn: &Connection) -> Result<Vec<GroupRow>, StorageError> {
    let mut stmt = conn
        .prepare("SELECT id, name, description, builtin FROM groups ORDER BY builtin DESC, name")?;
    let groups = stmt
        .query_map([], |r| {
            Ok(GroupRow {
                id: r.get(0)?,
                name: r.get(1)?,
                description: r.get(2)?,
                builtin: r.get::<_, i64>(3)? != 0,
                permissions: vec![],
                members: vec![],
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut perm =
        conn.prepare("SELECT permission FROM group_permissions WHERE group_id = ?1 ORDER BY 1")?;
    let mut mem = conn.prepare(
        "SELECT u.username FROM users u JOIN user_groups ug ON ug.user_id = u.id WHERE ug.group_id = ?1 ORDER BY 1",
    )?;
    let mut out = Vec::with_capacity(groups.len());
    for mut g in groups {
        g.permissions = perm
            .query_map([g.id], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        g.members = mem
            .query_map([g.id], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        out.push(g);
    }
    Ok(out)
}

pub fn id_by_name(conn: &Connection, name: &str) -> Result<Option<(i64, bool)>, StorageError> {
    Ok(conn
        .query_row(
            "SELECT id, builtin FROM groups WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get::<_, i64>(1)? != 0)),
        )
        .optional()?)
}

pub fn create(tx: &Transaction, name: &str, description: &str) -> Result<i64, StorageError> {
    tx.execute(
        "INSERT INTO groups (name, description) VALUES (?1, ?2)",
        params![name, description],
    )?;
    Ok(tx.last_insert_rowid())
}

pub fn delete(tx: &Transaction, id: i64) -> Result<(), StorageError> {
    tx.execute("DELETE FROM groups WHERE id = ?1 AND builtin = 0", [id])?;
    Ok(())
}

pub fn set_permissions(
    tx: &Transaction,
    id: i64,
    permissions: &[String],
) -> Result<(), StorageError> {
    tx.execute("DELETE FROM group_permissions WHERE group_id = ?1", [id])?;
    for p in permissions {
        tx.execute(
            "INSERT INTO group_permissions (group_id, permission) VALUES (?1, ?2)",
            params![id, p],
        )?;
    }
    Ok(())
}
