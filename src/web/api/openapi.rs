//! `GET /api/v1/openapi.json`: the OpenAPI 3.0 description, generated from the route table and the
//! module schema, so it cannot drift from the real endpoints. It states what the server enforces,
//! no more and no less: typed path ids, each field's JSON type, lengths, patterns, formats and
//! choices, every error status with the JSON error body, and links from a created record to the
//! operations on it. A schemathesis run in the test suite (`tests/it/api_schema.rs`) holds the
//! server to it.

use crate::schema::{self, Field, Kind, ModuleDef};
use crate::web::guard::Access;
use crate::web::{BodyLimit, Route};
use axum::Json;
use serde_json::{Map, Value, json};

fn error_ref() -> Value {
    json!({ "$ref": "#/components/schemas/Error" })
}

/// The JSON schema of one field as a request may send it (`required`: a value must be given and
/// may not be blank; `nullable`: `null` empties it).
/// How every amount of money is written in the API (pages show and read it in the currency).
const MINOR_UNITS: &str = "integer minor units of the record's currency, e.g. 9550 = 95.50";

/// An invoice's amounts: integers in the invoice's currency's minor units.
fn invoice_money(read_only: bool) -> Value {
    let mut s = json!({ "type": "integer", "format": "int64",
        "description": "integer minor units of the invoice's currency, e.g. 9550 = 95.50" });
    if read_only {
        s["readOnly"] = json!(true);
    }
    s
}

fn input_schema(f: &Field, required: bool, nullable: bool) -> Value {
    let mut s = match f.kind {
        Kind::Text { max } => json!({ "type": "string", "maxLength": max,
            "pattern": if required { schema::REQUIRED_LINE_PATTERN } else { schema::LINE_PATTERN } }),
        Kind::LongText => json!({ "type": "string", "maxLength": schema::LONG_TEXT_MAX }),
        // No `format: email`: holdfast takes internationalised addresses (RFC 6531), which
        // validators of that format refuse; the pattern states what the server checks.
        Kind::Email => json!({ "type": "string", "minLength": 3,
            "maxLength": schema::EMAIL_MAX, "pattern": schema::EMAIL_PATTERN,
            "description": "an e-mail address; international characters are allowed" }),
        Kind::Date => json!({ "type": "string", "format": "date",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Int { min, max } => {
            json!({ "type": "integer", "format": "int64", "minimum": min, "maximum": max })
        }
        Kind::Money => json!({ "type": "integer", "format": "int64", "minimum": 0,
            "maximum": schema::MONEY_MAX, "description": MINOR_UNITS }),
        Kind::Choice(opts) => json!({ "type": "string", "enum": opts }),
        Kind::Ref(m) => json!({ "type": "integer", "format": "int64", "minimum": 1,
            "description": format!("id of a {} (an id that does not exist is refused with 409)",
                schema::by_module(m).singular) }),
        Kind::User => {
            let mut u = json!({ "type": "string", "maxLength": schema::USER_MAX,
                "description": "user name (one that does not exist is refused with 409)" });
            if required {
                u["pattern"] = json!(schema::NOT_BLANK_PATTERN);
            }
            u
        }
    };
    if f.name == "currency" {
        // hub::records::create fills it from the money settings, not the schema's fallback.
        s["description"] = json!("default: the instance's currency (Administration → Money)");
    } else if let Some(d) = f.default {
        s["description"] = match s["description"].as_str() {
            Some(what) => json!(format!("{what}; default {d}")),
            None => json!(format!("default {d}")),
        };
    }
    if nullable {
        s["nullable"] = json!(true);
        // In OpenAPI 3.0 `nullable` does not widen an `enum`: null must be one of its values.
        if let Some(opts) = s.get_mut("enum").and_then(Value::as_array_mut) {
            opts.push(Value::Null);
        }
    }
    s
}

/// The JSON schema of one field as the server returns it.
fn output_schema(f: &Field) -> Value {
    let mut s = match f.kind {
        Kind::Text { .. } | Kind::LongText | Kind::Email | Kind::User => {
            json!({ "type": "string" })
        }
        Kind::Date => json!({ "type": "string", "format": "date" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Int { .. } | Kind::Ref(_) => {
            json!({ "type": "integer", "format": "int64" })
        }
        Kind::Money => json!({ "type": "integer", "format": "int64", "description": MINOR_UNITS }),
        Kind::Choice(opts) => json!({ "type": "string", "enum": opts }),
    };
    if !f.required {
        s["nullable"] = json!(true);
        if let Some(opts) = s.get_mut("enum").and_then(Value::as_array_mut) {
            opts.push(Value::Null);
        }
    }
    s
}

/// A list or export filter's value in the query string (a query parameter cannot be empty).
fn filter_schema(kind: Kind) -> Value {
    match kind {
        Kind::Date => json!({ "type": "string", "format": "date",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Ref(_) | Kind::Int { .. } | Kind::Money => {
            json!({ "type": "integer", "format": "int64" })
        }
        Kind::Choice(opts) => json!({ "type": "string", "enum": opts }),
        _ => json!({ "type": "string", "minLength": 1, "maxLength": schema::USER_MAX }),
    }
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "schema": schema,
            "description": description })
}

/// The query parameters of a module's list (`paged`) or of its CSV export, which takes the same
/// search, sort and filters and always returns every matching row.
fn list_params(def: &ModuleDef, paged: bool) -> Vec<Value> {
    // An empty `sort` is the default order, as an absent one.
    let mut sorts: Vec<String> = vec![String::new()];
    sorts.extend(
        def.sortable
            .iter()
            .flat_map(|c| [c.to_string(), format!("-{c}")]),
    );
    let mut ps = vec![
        query(
            "q",
            json!({ "type": "string", "maxLength": crate::hub::records::SEARCH_MAX }),
            "words that must all occur, each as the start of a word (full text); text without a \
             letter or digit searches for nothing and is ignored",
        ),
        query(
            "sort",
            json!({ "type": "string", "enum": sorts }),
            "column to sort by, `-` for descending; newest first when absent or empty",
        ),
    ];
    if paged {
        ps.push(query(
            "limit",
            json!({ "type": "integer", "minimum": 1, "maximum": 500, "default": 50 }),
            "page size",
        ));
        ps.push(query(
            "cursor",
            json!({ "type": "string", "maxLength": crate::hub::records::CURSOR_MAX,
                    "pattern": crate::hub::records::CURSOR_PATTERN }),
            "`next_cursor` of the previous page: the last row's sort value and id (`.ID`, \
             `NUMBER.ID` or `xHEX.ID` with text as UTF-8 in hex); the next page starts after it",
        ));
    }
    for f in def.filters() {
        ps.push(query(
            f.name,
            filter_schema(f.kind),
            &format!("only records whose {} is this", f.label.to_lowercase()),
        ));
    }
    for f in def.fields.iter().filter(|f| f.kind == Kind::Date) {
        for (suffix, what) in [
            ("", "on"),
            ("_from", "on or after"),
            ("_to", "on or before"),
        ] {
            ps.push(query(
                &format!("{}{suffix}", f.name),
                filter_schema(f.kind),
                &format!("{} {what} this day", f.label.to_lowercase()),
            ));
        }
    }
    ps
}

fn schema_name(def: &ModuleDef) -> String {
    def.singular.replace(' ', "_")
}

/// A record as the server returns it.
fn record_schema(def: &ModuleDef) -> Value {
    let mut props = Map::new();
    props.insert(
        "id".into(),
        json!({ "type": "integer", "format": "int64", "readOnly": true }),
    );
    for f in def.fields {
        props.insert(f.name.into(), output_schema(f));
    }
    for c in def.computed {
        let s = match def.computed_filters.iter().find(|f| f.name == *c) {
            Some(f) => output_schema(f),
            None if ["subtotal", "tax_total", "total"].contains(c) => invoice_money(true),
            None => json!({ "nullable": true }),
        };
        let mut s = s;
        s["readOnly"] = json!(true);
        props.insert((*c).into(), s);
    }
    props.insert(
        "version".into(),
        json!({ "type": "integer", "format": "int64", "readOnly": true,
                "description": "changes with every change; send it as `If-Match` to change only this version" }),
    );
    for c in ["created_at", "updated_at"] {
        props.insert(c.into(), json!({ "type": "string", "readOnly": true }));
    }
    let mut required: Vec<&str> = vec!["id", "version", "created_at", "updated_at"];
    required.extend(def.fields.iter().map(|f| f.name));
    json!({ "type": "object", "additionalProperties": false, "properties": props,
            "required": required })
}

/// A record as a create (`partial` false) or a change (`partial` true) sends it.
fn input_record_schema(def: &ModuleDef, partial: bool) -> Value {
    let mut props = Map::new();
    for f in def.fields {
        let nullable = !(f.required || partial && f.default.is_some());
        let required = f.required;
        props.insert(f.name.into(), input_schema(f, required, nullable));
    }
    let mut s = json!({ "type": "object", "additionalProperties": false, "properties": props });
    if !partial {
        let required: Vec<&str> = def
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        s["required"] = json!(required);
    }
    s
}

fn json_body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn object(props: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "additionalProperties": false, "properties": props,
            "required": required })
}

fn string_max(max: usize) -> Value {
    json!({ "type": "string", "maxLength": max })
}

/// `operationId` of a route: method and path, ids as `by_…` (`get_clients_by_id`).
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_ascii_lowercase();
    for seg in path.trim_start_matches("/api/v1/").split('/') {
        id.push('_');
        match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(p) => {
                id.push_str("by_");
                id.push_str(p);
            }
            None => id.extend(
                seg.chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
            ),
        }
    }
    id
}

/// What one operation takes and answers, besides the errors every operation shares.
struct Op {
    params: Vec<Value>,
    body: Option<Value>,
    ok: Vec<(u16, Value)>,
    /// 409: the request conflicts with the current state (a version, a reference, a status).
    conflict: bool,
    links: Map<String, Value>,
}

impl Op {
    fn new(ok: Vec<(u16, Value)>) -> Self {
        Op {
            params: vec![],
            body: None,
            ok,
            conflict: false,
            links: Map::new(),
        }
    }
}

fn path_param(name: &str) -> Value {
    let schema = match name {
        "id" | "line" => json!({ "type": "integer", "format": "int64", "minimum": 1 }),
        "action" => json!({ "type": "string", "enum": ["issue", "paid", "cancel"] }),
        _ => json!({ "type": "string", "minLength": 1 }),
    };
    json!({ "name": name, "in": "path", "required": true, "schema": schema })
}

fn record_ref(def: &ModuleDef) -> Value {
    json!({ "$ref": format!("#/components/schemas/{}", schema_name(def)) })
}

fn comments_ref() -> Value {
    json!({ "$ref": "#/components/schemas/comments" })
}

fn invoice_with_lines_ref() -> Value {
    json!({ "$ref": "#/components/schemas/invoice_with_lines" })
}

/// Links from a response carrying a record's `id` to the operations on that record, so that a
/// client (or schemathesis' stateful phase) can follow a create to the record it made.
fn record_links(def: &ModuleDef) -> Map<String, Value> {
    let base = format!("/api/v1/{}/{{id}}", def.slug);
    let mut targets = vec![
        ("get", "GET", base.clone()),
        ("change", "PATCH", base.clone()),
        ("delete", "DELETE", base.clone()),
        ("comments", "GET", format!("{base}/comments")),
        ("comment", "POST", format!("{base}/comments")),
    ];
    if def.slug == "invoices" {
        let lines = format!("{base}/lines");
        targets.push(("lines", "GET", lines.clone()));
        targets.push(("add_line", "POST", lines));
        targets.push(("transition", "POST", format!("{base}/{{action}}")));
    }
    if def.slug == "documents" {
        targets.push(("upload", "POST", format!("{base}/file")));
        targets.push(("download", "GET", format!("{base}/file")));
    }
    let mut links: Map<String, Value> = targets
        .into_iter()
        .map(|(name, method, path)| {
            (
                name.to_string(),
                json!({ "operationId": operation_id(method, &path),
                        "parameters": { "id": "$response.body#/id" } }),
            )
        })
        .collect();
    // A record is also what others refer to: a client's projects and contacts, a project's tasks,
    // time and invoice, a task's time. The link fills in the reference; the rest is the client's.
    for other in schema::ALL.iter() {
        for f in other.fields {
            if let Kind::Ref(m) = f.kind
                && schema::by_module(m).slug == def.slug
            {
                links.insert(
                    format!("create_{}_{}", schema_name(other), f.name),
                    json!({ "operationId": operation_id("POST", &format!("/api/v1/{}", other.slug)),
                            "requestBody": { f.name: "$response.body#/id" } }),
                );
            }
        }
    }
    if def.slug == "projects" {
        links.insert(
            "invoice_from_project".into(),
            json!({ "operationId": operation_id("POST", "/api/v1/invoices/from-project"),
                    "requestBody": { "project_id": "$response.body#/id" } }),
        );
    }
    links
}

fn module_op(def: &'static ModuleDef, method: &str, rest: &str) -> Option<Op> {
    let name = schema_name(def);
    let op = match (method, rest) {
        ("GET", "") => {
            let mut op = Op::new(vec![(
                200,
                json_response(
                    "One page of records",
                    json!({ "$ref": format!("#/components/schemas/{name}_page") }),
                ),
            )]);
            op.params = list_params(def, true);
            op
        }
        ("POST", "") => {
            let mut created = json_response("Created", record_ref(def));
            created["headers"] = json!({ "Location": { "required": true,
                "description": "the record's address", "schema": { "type": "string" } } });
            created["links"] = Value::Object(record_links(def));
            let mut op = Op::new(vec![(201, created)]);
            op.body = Some(json_body(
                json!({ "$ref": format!("#/components/schemas/{name}_input") }),
            ));
            op.conflict = true;
            op
        }
        ("GET", "/export.csv") => {
            let mut op = Op::new(vec![(
                200,
                json!({ "description": "Every matching record as CSV",
                        "content": { "text/csv": { "schema": { "type": "string" } } } }),
            )]);
            op.params = list_params(def, false);
            op
        }
        ("POST", "/import") => {
            let report = json_response("The import report", json!({ "type": "object" }));
            let mut op = Op::new(vec![
                (
                    200,
                    json_response(
                        "Dry run: what would be imported",
                        json!({ "type": "object" }),
                    ),
                ),
                (201, report),
            ]);
            op.params = vec![query(
                "dry_run",
                json!({ "type": "boolean" }),
                "check the file and report, import nothing",
            )];
            op.body = Some(json!({ "required": true, "content": { "text/csv": {
                "schema": { "type": "string", "maxLength": BodyLimit::IMPORT_BYTES } } } }));
            op.conflict = true;
            op
        }
        ("GET", "/{id}") => Op::new(vec![(200, json_response("The record", record_ref(def)))]),
        ("PATCH", "/{id}") => {
            let mut op = Op::new(vec![(200, json_response("Changed", record_ref(def)))]);
            op.body = Some(json_body(
                json!({ "$ref": format!("#/components/schemas/{name}_changes") }),
            ));
            op.conflict = true;
            op
        }
        ("DELETE", "/{id}") => {
            let mut op = Op::new(vec![(204, json!({ "description": "Deleted" }))]);
            op.conflict = true;
            op
        }
        ("GET", "/{id}/comments") => Op::new(vec![(
            200,
            json_response("The record's comments, oldest first", comments_ref()),
        )]),
        ("POST", "/{id}/comments") => {
            let mut op = Op::new(vec![(
                201,
                json_response("Added; the record's comments, oldest first", comments_ref()),
            )]);
            op.body = Some(json_body(object(
                json!({ "body": { "type": "string", "minLength": 1,
                    "maxLength": crate::hub::records::COMMENT_MAX,
                    "pattern": schema::NOT_BLANK_PATTERN } }),
                &["body"],
            )));
            op
        }
        _ => return None,
    };
    Some(op)
}

fn session_status() -> Value {
    json!({ "$ref": "#/components/schemas/session_status" })
}

/// The operations that are not a module's standard seven.
fn special_op(method: &str, path: &str) -> Option<Op> {
    use crate::auth::signin::{MAX_CODE_CHARS, MAX_USERNAME_CHARS};
    let password = string_max(crate::auth::policy::MAX_PASSWORD_CHARS as usize);
    let code = string_max(MAX_CODE_CHARS);
    let status = |d: &str| vec![(200, json_response(d, session_status()))];
    let with_body = |mut op: Op, schema: Value| {
        op.body = Some(json_body(schema));
        op
    };
    let op = match (method, path) {
        ("POST", "/api/v1/session") => with_body(
            Op::new(status("Signed in, or the next step of sign-in")),
            object(
                json!({ "username": string_max(MAX_USERNAME_CHARS), "password": password }),
                &["username", "password"],
            ),
        ),
        ("GET", "/api/v1/session") => Op::new(status("Who is signed in")),
        ("DELETE", "/api/v1/session") => Op::new(status("Signed out")),
        ("POST", "/api/v1/session/second-factor")
        | ("POST", "/api/v1/session/enrolment-verify")
        | ("POST", "/api/v1/session/totp/confirm") => with_body(
            Op::new(status("The next step")),
            object(json!({ "code": code }), &["code"]),
        ),
        ("POST", "/api/v1/session/password") => with_body(
            Op::new(status("Password changed")),
            object(
                json!({ "current_password": password, "code": code, "new_password": password }),
                &["new_password"],
            ),
        ),
        ("POST", "/api/v1/session/totp") => {
            let mut op = Op::new(vec![(
                200,
                json_response("A new authenticator secret", json!({ "type": "object" })),
            )]);
            op.body = Some(
                json!({ "required": false, "content": { "application/json": {
                "schema": object(json!({ "current_password": password, "code": code }),
                                 &["current_password"]) } } }),
            );
            op
        }
        ("POST", "/api/v1/session/code") => Op::new(status("Code sent")),
        ("POST", "/api/v1/session/email") => with_body(
            Op::new(status("E-mail changed")),
            object(
                json!({ "current_password": password, "code": code,
                        "email": { "type": "string", "maxLength": schema::EMAIL_MAX } }),
                &["current_password", "email"],
            ),
        ),
        ("POST", "/api/v1/session/second-factor/method") => with_body(
            Op::new(status("Second factor changed")),
            object(
                json!({ "current_password": password, "code": code,
                        "method": { "type": "string", "enum": ["email", "none"] } }),
                &["current_password", "method"],
            ),
        ),
        ("GET", "/api/v1/sessions") | ("DELETE", "/api/v1/sessions") => Op::new(vec![(
            200,
            json_response("Your sessions", json!({ "type": "object" })),
        )]),
        ("DELETE", "/api/v1/sessions/{handle}") => Op::new(status("Session ended")),
        ("GET", "/api/v1/audit") => {
            let mut op = Op::new(vec![(
                200,
                json_response(
                    "Security log entries, newest first",
                    json!({ "type": "object" }),
                ),
            )]);
            op.params = vec![
                query("from", json!({ "type": "string" }), "from this time"),
                query("to", json!({ "type": "string" }), "up to this time"),
                query("type", json!({ "type": "string" }), "event type"),
                query("user", json!({ "type": "string" }), "actor or target"),
                query("source", json!({ "type": "string" }), "source address"),
                query(
                    "before",
                    json!({ "type": "integer", "format": "int64" }),
                    "`next_before` of the previous page",
                ),
                query(
                    "limit",
                    json!({ "type": "integer", "minimum": 1, "maximum": 10000 }),
                    "entries per page",
                ),
            ];
            op
        }
        ("GET", "/api/v1/search") => {
            let mut op = Op::new(vec![(
                200,
                json_response(
                    "Matching records of every module you may view",
                    json!({ "type": "object" }),
                ),
            )]);
            op.params = vec![query(
                "q",
                json!({ "type": "string" }),
                "words to search for",
            )];
            op
        }
        ("GET", "/api/v1/openapi.json") => Op::new(vec![(
            200,
            json_response("This document", json!({ "type": "object" })),
        )]),
        ("GET", "/api/v1/invoices/{id}/lines") => {
            // The link to a line hangs here rather than on the line's creation: schemathesis
            // starts its stateful scenarios from operations that have links, and an operation
            // that needs an existing invoice would then crowd out the creates.
            let mut lines = json_response("The invoice with its lines", invoice_with_lines_ref());
            lines["links"] = json!({ "remove_line": {
                "operationId": operation_id("DELETE", "/api/v1/invoices/{id}/lines/{line}"),
                "parameters": { "id": "$response.body#/id", "line": "$response.body#/lines/0/id" } } });
            Op::new(vec![(200, lines)])
        }
        ("POST", "/api/v1/invoices/{id}/lines") => {
            let mut op = with_body(
                Op::new(vec![(
                    201,
                    json_response("Line added", invoice_with_lines_ref()),
                )]),
                json!({ "$ref": "#/components/schemas/invoice_line_input" }),
            );
            op.conflict = true;
            op
        }
        ("DELETE", "/api/v1/invoices/{id}/lines/{line}") => {
            let mut op = Op::new(vec![(
                200,
                json_response("Line removed", invoice_with_lines_ref()),
            )]);
            op.conflict = true;
            op
        }
        ("POST", "/api/v1/invoices/{id}/void") => {
            let mut op = with_body(
                Op::new(vec![(
                    200,
                    json_response(
                        "Voided: status `void`, the number kept",
                        invoice_with_lines_ref(),
                    ),
                )]),
                object(
                    json!({ "reason": { "type": "string", "minLength": 1,
                        "maxLength": crate::hub::invoices::VOID_REASON_MAX,
                        "pattern": schema::NOT_BLANK_PATTERN,
                        "description": "why the issued invoice is void (kept with it and in the security log)" } }),
                    &["reason"],
                ),
            );
            op.conflict = true;
            op
        }
        ("POST", "/api/v1/invoices/{id}/{action}") => {
            let mut op = Op::new(vec![(
                200,
                json_response("Issued, paid or cancelled", invoice_with_lines_ref()),
            )]);
            op.conflict = true;
            op
        }
        ("POST", "/api/v1/invoices/from-project") => {
            let mut created = json_response("The draft", invoice_with_lines_ref());
            created["links"] = Value::Object(record_links(&schema::INVOICES));
            let mut op = with_body(
                Op::new(vec![(201, created)]),
                object(
                    json!({ "project_id": { "type": "integer", "format": "int64", "minimum": 1 },
                            "tax_rate": decimal(100_000, true) }),
                    &["project_id"],
                ),
            );
            op.conflict = true;
            op
        }
        ("POST", "/api/v1/documents/{id}/file") => {
            let mut op = Op::new(vec![(
                201,
                json_response(
                    "Stored as a new version",
                    json!({ "type": "object",
                    "properties": { "version": { "type": "integer" }, "versions": { "type": "array" } },
                    "required": ["version", "versions"] }),
                ),
            )]);
            op.body = Some(
                json!({ "required": true, "content": { "multipart/form-data": {
                "schema": { "type": "object", "required": ["file"],
                    "additionalProperties": false, "properties": {
                    "file": { "type": "string", "format": "binary",
                              "description": "PDF, image, office document, ZIP or plain text; \
                                              other content is refused with 422" } } } } } }),
            );
            op.conflict = true;
            op
        }
        ("GET", "/api/v1/documents/{id}/file") => Op::new(vec![(
            200,
            json!({ "description": "The current version, as an attachment",
                    "content": { "*/*": { "schema": { "type": "string", "format": "binary" } } } }),
        )]),
        _ => return None,
    };
    Some(op)
}

/// A decimal with at most three places, as a JSON number or a string (`"1,5"` too), from 0 to
/// `max_thousandths / 1000` (`positive`: more than 0).
fn decimal(max_thousandths: i64, zero_ok: bool) -> Value {
    let max = max_thousandths / 1000;
    let mut number = json!({ "type": "number", "maximum": max, "multipleOf": 0.001 });
    if zero_ok {
        number["minimum"] = json!(0);
    } else {
        number["exclusiveMinimum"] = json!(true);
        number["minimum"] = json!(0);
    }
    json!({ "oneOf": [number, { "type": "string",
        "pattern": crate::hub::invoices::decimal_pattern(max_thousandths, zero_ok) }] })
}

/// The operation for an API route, or `None` when this file does not describe it (a unit test
/// keeps that from happening).
fn describe(r: &Route) -> Option<Op> {
    let rest = r.path.strip_prefix("/api/v1/")?;
    let mut op = special_op(r.method, &r.path);
    if op.is_none() {
        let slug = rest.split('/').next().unwrap_or_default();
        if let Some(def) = schema::by_slug(slug) {
            op = module_op(def, r.method, &rest[slug.len()..]);
        }
    }
    let mut op = op?;
    let mut params: Vec<Value> = r
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(path_param)
        .collect();
    params.append(&mut op.params);
    op.params = params;
    Some(op)
}

fn operation(r: &Route) -> Value {
    let op = describe(r).unwrap_or_else(|| Op::new(vec![(200, json!({ "description": "OK" }))]));
    let security = match r.access {
        Access::Public => json!([]),
        // The token first: services use it; the cookie is for scripts acting as a person.
        _ => json!([{ "token": [] }, { "session": [] }]),
    };
    let mut responses = Map::new();
    for (status, resp) in op.ok {
        responses.insert(status.to_string(), resp);
    }
    let mut errors = vec![
        (400, "Malformed request: path, query or body not readable"),
        (
            401,
            "Not signed in, or the token is unknown, expired or revoked",
        ),
        (
            403,
            "Permission missing, or the request-forgery check failed",
        ),
        (404, "No such record or address"),
        (413, "The body is larger than this operation takes"),
        (422, "A value breaks a rule of this document"),
        (429, "Too many attempts; retry after `Retry-After` seconds"),
        (503, "Starting, stopping or busy; try again"),
    ];
    if op.conflict {
        errors.push((
            409,
            "Conflicts with the current state: a changed version, a referenced record or user that \
             does not exist or belongs elsewhere, or a status that does not allow this",
        ));
    }
    for (status, description) in errors {
        responses.insert(status.to_string(), json_response(description, error_ref()));
    }
    if !op.links.is_empty()
        && let Some(first) = responses.values_mut().next()
    {
        first["links"] = Value::Object(op.links);
    }
    let mut o = json!({
        "operationId": operation_id(r.method, &r.path),
        "summary": format!("{} {}", r.method, r.path),
        "description": format!("Access: {}. Body limit: {}.", r.access, r.body),
        "parameters": op.params,
        "security": security,
        "responses": responses,
    });
    if let Some(body) = op.body {
        o["requestBody"] = body;
    }
    o
}

fn components() -> Value {
    let mut schemas = Map::new();
    schemas.insert(
        "Error".into(),
        object(
            json!({ "error": { "type": "object", "properties": {
                "code": { "type": "string" }, "message": { "type": "string" },
                "field": { "type": "string" },
                "problems": { "type": "array", "items": { "type": "object" },
                              "description": "CSV import: each problem with its row and column" } },
                "required": ["code", "message"] } }),
            &["error"],
        ),
    );
    schemas.insert(
        "session_status".into(),
        json!({ "type": "object", "required": ["status"],
                "properties": { "status": { "type": "string" } } }),
    );
    for def in schema::ALL.iter() {
        let name = schema_name(def);
        schemas.insert(name.clone(), record_schema(def));
        schemas.insert(format!("{name}_input"), input_record_schema(def, false));
        schemas.insert(format!("{name}_changes"), input_record_schema(def, true));
        schemas.insert(
            format!("{name}_page"),
            object(
                json!({ "items": { "type": "array", "items": record_ref(def) },
                        "next_cursor": { "type": "string", "nullable": true } }),
                &["items", "next_cursor"],
            ),
        );
    }
    let mut with_lines = record_schema(&schema::INVOICES);
    with_lines["properties"]["lines"] = json!({ "type": "array", "items": { "type": "object" } });
    if let Some(req) = with_lines["required"].as_array_mut() {
        req.push(json!("lines"));
    }
    schemas.insert("invoice_with_lines".into(), with_lines);
    schemas.insert(
        "comments".into(),
        object(
            json!({ "items": { "type": "array", "items": object(
                json!({ "id": { "type": "integer", "format": "int64" },
                        "author": { "type": "string" }, "body": { "type": "string" },
                        "created_at": { "type": "string", "format": "date-time" } }),
                &["id", "author", "body", "created_at"],
            ) } }),
            &["items"],
        ),
    );
    schemas.insert(
        "invoice_line_input".into(),
        object(
            json!({
                "description": { "type": "string", "maxLength": crate::hub::invoices::LINE_TEXT_MAX,
                                 "pattern": schema::NOT_BLANK_PATTERN },
                "quantity": decimal(crate::hub::invoices::MAX_QUANTITY, false),
                "unit_price": { "type": "integer", "format": "int64", "minimum": 0,
                                "maximum": schema::MONEY_MAX,
                                "description": "integer minor units of the invoice's currency, e.g. 9550 = 95.50" },
                "tax_rate": decimal(crate::hub::invoices::MAX_TAX_RATE, true),
            }),
            &["description", "quantity", "unit_price", "tax_rate"],
        ),
    );
    json!({
        "schemas": schemas,
        "securitySchemes": {
            "token": { "type": "http", "scheme": "bearer",
                       "description": "`Authorization: Bearer hft_…` (an API token)" },
            "session": { "type": "apiKey", "in": "cookie", "name": "__Host-hf_session",
                         "description": "a person's session; changes also need the `X-CSRF-Token` header" }
        }
    })
}

pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in crate::web::routes()
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
    {
        let entry = paths.entry(r.path.clone()).or_insert_with(|| json!({}));
        entry[r.method.to_ascii_lowercase()] = operation(r);
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "holdfast API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "JSON API v1 of holdfast. Authenticate with `Authorization: Bearer hft_…` API tokens or with the session cookie (plus X-CSRF-Token for changes). Every error is `{\"error\": {\"code\", \"message\", \"field\"}}`." },
        "paths": paths,
        "components": components(),
    })
}

pub async fn serve() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_route_is_described() {
        let undescribed: Vec<String> = crate::web::routes()
            .iter()
            .filter(|r| r.path.starts_with("/api/v1/"))
            .filter(|r| describe(r).is_none())
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert!(undescribed.is_empty(), "{undescribed:?}");
    }

    #[test]
    fn links_name_existing_operations() {
        let doc = document();
        let mut ids = std::collections::HashSet::new();
        for ops in doc["paths"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.values())
        {
            for op in ops.as_object().into_iter().flat_map(|o| o.values()) {
                assert!(ids.insert(op["operationId"].as_str().unwrap_or("").to_string()));
            }
        }
        let mut links = 0;
        for ops in doc["paths"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.values())
        {
            for op in ops.as_object().into_iter().flat_map(|o| o.values()) {
                for resp in op["responses"]
                    .as_object()
                    .into_iter()
                    .flat_map(|r| r.values())
                {
                    for link in resp["links"]
                        .as_object()
                        .into_iter()
                        .flat_map(|l| l.values())
                    {
                        links += 1;
                        let id = link["operationId"].as_str().unwrap_or_default();
                        assert!(ids.contains(id), "link to unknown operation {id}");
                    }
                }
            }
        }
        assert!(links >= 7 * 3, "{links} links");
    }
}
