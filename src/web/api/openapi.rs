//! `GET /api/v1/openapi.json`: the OpenAPI 3.0 description, generated from the route table and the
//! module schema, so it cannot drift from the real endpoints.

use crate::schema::{self, Kind};
use crate::web::guard::Access;
use axum::Json;
use serde_json::{Map, Value, json};

fn field_schema(kind: Kind) -> Value {
    match kind {
        Kind::Text { max } => json!({ "type": "string", "maxLength": max }),
        Kind::LongText => json!({ "type": "string", "maxLength": 20000 }),
        Kind::Email => json!({ "type": "string", "format": "email" }),
        Kind::Date => json!({ "type": "string", "format": "date" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Int { min, max } => json!({ "type": "integer", "minimum": min, "maximum": max }),
        Kind::Money => {
            json!({ "type": "integer", "minimum": 0, "description": "minor units (cents)" })
        }
        Kind::Choice(opts) => json!({ "type": "string", "enum": opts }),
        Kind::Ref(m) => {
            json!({ "type": "integer", "description": format!("id of a {}", schema::by_module(m).singular) })
        }
        Kind::User => json!({ "type": "string", "description": "user name" }),
    }
}

/// The query parameters of a module's list (`paged`) or of its CSV export, which takes the same
/// search, sort and filters and always returns every matching row.
fn list_params(def: &schema::ModuleDef, paged: bool) -> Vec<Value> {
    let query = |name: &str, schema: Value, description: String| json!({ "name": name, "in": "query", "required": false, "schema": schema, "description": description });
    let sorts: Vec<String> = def
        .sortable
        .iter()
        .flat_map(|c| [c.to_string(), format!("-{c}")])
        .collect();
    let mut ps = vec![
        query(
            "q",
            json!({ "type": "string", "maxLength": 200 }),
            "words that must all occur, each as the start of a word (full text)".into(),
        ),
        query(
            "sort",
            json!({ "type": "string", "enum": sorts }),
            "column to sort by, `-` for descending; newest first when absent".into(),
        ),
    ];
    if paged {
        ps.push(query(
            "limit",
            json!({ "type": "integer", "minimum": 1, "maximum": 500, "default": 50 }),
            "page size".into(),
        ));
        ps.push(query(
            "cursor",
            json!({ "type": "string" }),
            "`next_cursor` of the previous page".into(),
        ));
    }
    for f in def.filters() {
        ps.push(query(
            f.name,
            field_schema(f.kind),
            format!("only records whose {} is this", f.label.to_lowercase()),
        ));
    }
    for f in def.fields.iter().filter(|f| f.kind == Kind::Date) {
        ps.push(query(
            &format!("{}_from", f.name),
            field_schema(f.kind),
            format!("{} on or after this day", f.label.to_lowercase()),
        ));
        ps.push(query(
            &format!("{}_to", f.name),
            field_schema(f.kind),
            format!("{} on or before this day", f.label.to_lowercase()),
        ));
    }
    ps
}

pub fn document() -> Value {
    let mut schemas = Map::new();
    schemas.insert(
        "Error".into(),
        json!({ "type": "object", "properties": { "error": { "type": "object", "properties": {
            "code": { "type": "string" }, "message": { "type": "string" }, "field": { "type": "string" } },
            "required": ["code", "message"] } } }),
    );
    for def in schema::ALL.iter() {
        let mut props = Map::new();
        props.insert("id".into(), json!({ "type": "integer", "readOnly": true }));
        for f in def.fields {
            let mut s = field_schema(f.kind);
            if !f.required {
                s["nullable"] = json!(true);
            }
            props.insert(f.name.into(), s);
        }
        for c in def.computed {
            props.insert((*c).into(), json!({ "readOnly": true, "nullable": true }));
        }
        for c in ["version", "created_at", "updated_at"] {
            props.insert(c.into(), json!({ "readOnly": true }));
        }
        let required: Vec<&str> = def
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        schemas.insert(
            def.singular.replace(' ', "_"),
            json!({ "type": "object", "additionalProperties": false, "properties": props, "required": required }),
        );
    }
    let mut paths: Map<String, Value> = Map::new();
    for r in crate::web::routes()
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
    {
        let security = match r.access {
            Access::Public => json!([]),
            _ => json!([{ "session": [] }, { "token": [] }]),
        };
        let mut params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if r.method == "GET" {
            let rest = r.path.trim_start_matches("/api/v1/");
            let (slug, paged) = match rest.strip_suffix("/export.csv") {
                Some(slug) => (slug, false),
                None => (rest, true),
            };
            if let Some(def) = schema::by_slug(slug) {
                params.extend(list_params(def, paged));
            }
        }
        let op = json!({
            "summary": format!("{} {}", r.method, r.path),
            "description": format!("Access: {}", r.access),
            "parameters": params,
            "security": security,
            "responses": {
                "200": { "description": "OK" },
                "201": { "description": "Created" },
                "400": { "description": "Bad request", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "401": { "description": "Not signed in or token invalid" },
                "403": { "description": "Permission missing" },
                "404": { "description": "Not found" },
                "409": { "description": "Conflict" },
                "413": { "description": "Too large" },
                "422": { "description": "Validation failed", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        });
        let entry = paths.entry(r.path.clone()).or_insert_with(|| json!({}));
        entry[r.method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "holdfast API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "JSON API v1 of holdfast. Authenticate with the session cookie (plus X-CSRF-Token for changes) or with `Authorization: Bearer hft_…` API tokens." },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": "__Host-hf_session" },
                "token": { "type": "http", "scheme": "bearer" }
            }
        }
    })
}

pub async fn serve() -> Json<Value> {
    Json(document())
}
