//! The value of one record field as storage keeps it: holdfast's own type, so code above storage
//! never names the database engine's types (a second engine maps its values to this one).

use rusqlite::ToSql;
use rusqlite::types::{FromSql, FromSqlResult, ToSqlOutput, ValueRef};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl FromSql for Value {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Ok(match value {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(r) => Value::Real(r),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_value_goes_in_and_comes_back_unchanged() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        for v in [
            Value::Null,
            Value::Integer(-7),
            Value::Real(1.5),
            Value::Text("Zürich".into()),
            Value::Blob(vec![0, 1, 255]),
        ] {
            let back: Value = c.query_row("SELECT ?1", [&v], |r| r.get(0)).unwrap();
            assert_eq!(back, v);
        }
    }
}
