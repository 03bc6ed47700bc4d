//! The business modules' fields, declared once as pure data (no I/O): storage, validation, the JSON
//! API, CSV, OpenAPI and the pages are all driven by these tables, so a field cannot exist in one
//! place and not another.

use crate::access::Module;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One line of text up to `max` characters.
    Text {
        max: usize,
    },
    /// Free text (notes, addresses).
    LongText,
    Email,
    Date,
    Bool,
    /// An integer in a range (minutes, hours, priority).
    Int {
        min: i64,
        max: i64,
    },
    /// Money in integer minor units (cents) of the record's currency; never floating point. Pages
    /// show and read it in the currency (`hub::money`), the API and CSV keep the integer.
    Money,
    /// One of a fixed set of values.
    Choice(&'static [&'static str]),
    /// The id of a record in another module.
    Ref(Module),
    /// A user name of this instance.
    User,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// Shown as a column in lists.
    pub list: bool,
    /// Offered as a filter on lists and in the API (`?name=value`).
    pub filter: bool,
    /// Value when a create leaves the field out.
    pub default: Option<&'static str>,
}

const fn f(name: &'static str, label: &'static str, kind: Kind) -> Field {
    Field {
        name,
        label,
        kind,
        required: false,
        list: false,
        filter: false,
        default: None,
    }
}

impl Field {
    const fn req(mut self) -> Self {
        self.required = true;
        self
    }
    const fn list(mut self) -> Self {
        self.list = true;
        self
    }
    const fn filter(mut self) -> Self {
        self.filter = true;
        self
    }
    const fn default(mut self, v: &'static str) -> Self {
        self.default = Some(v);
        self
    }
}

/// One business module.
#[derive(Debug)]
pub struct ModuleDef {
    pub module: Module,
    /// URL segment and API name, e.g. `time-entries`.
    pub slug: &'static str,
    pub table: &'static str,
    pub label: &'static str,
    pub singular: &'static str,
    /// The field that names a record (shown as its title and in search results).
    pub title: &'static str,
    pub fields: &'static [Field],
    /// Fields the list may be sorted by (besides id).
    pub sortable: &'static [&'static str],
    /// Columns holdfast computes (totals, numbers, state); returned, never written by clients.
    pub computed: &'static [&'static str],
    /// Computed columns that lists can still be filtered by (an invoice's status), described like
    /// fields so that validation, the list page and OpenAPI treat them as any other filter.
    pub computed_filters: &'static [Field],
}

/// Longest free text (`Kind::LongText`), in characters.
pub const LONG_TEXT_MAX: usize = 20_000;
/// Longest e-mail address of a record, in characters.
pub const EMAIL_MAX: usize = 254;
/// Longest user name (`Kind::User`), in characters, as `accounts::validate_username` allows.
pub const USER_MAX: usize = 64;
/// Largest amount of money, in cents.
pub const MONEY_MAX: i64 = 1_000_000_000_000;

// The rules below are written once as JSON Schema patterns (ECMA-262 syntax that Python's `re`
// reads the same way) for the OpenAPI document; `hub::records` enforces the same rules in Rust.
// Control characters are Unicode category Cc (what `char::is_control` tests); white space is
// Unicode White_Space (what `char::is_whitespace` and `str::trim` use).
/// One line of text: no control characters.
pub const LINE_PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f]*$";
/// One line of text with at least one character that is neither a control nor white space
/// (a required field: all-blank text counts as empty).
pub const REQUIRED_LINE_PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$";
/// Some character that is not white space (a required user name or free text).
pub const NOT_BLANK_PATTERN: &str =
    r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// An e-mail address: a local part without `@`, one `@`, a domain with a dot that neither starts
/// nor ends it; no white space or control characters anywhere.
pub const EMAIL_PATTERN: &str = r"^[^@\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+@[^.\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*\.[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^.\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$";

pub const CLIENT_STATUS: &[&str] = &["active", "prospect", "inactive"];
pub const PROJECT_STATUS: &[&str] = &["planned", "active", "on_hold", "completed", "cancelled"];
pub const TASK_STATUS: &[&str] = &["open", "in_progress", "blocked", "done"];
pub const PRIORITY: &[&str] = &["low", "normal", "high", "urgent"];
/// `cancelled` is a draft given up; `void` an issued invoice withdrawn (its number stays taken).
pub const INVOICE_STATUS: &[&str] = &["draft", "issued", "paid", "cancelled", "void"];
pub const CURRENCIES: &[&str] = &[
    "EUR", "PLN", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "CZK",
];

pub static CLIENTS: ModuleDef = ModuleDef {
    module: Module::Clients,
    slug: "clients",
    table: "clients",
    label: "Clients",
    singular: "client",
    title: "name",
    fields: &[
        f("name", "Name", Kind::Text { max: 200 }).req().list(),
        f("tax_id", "Tax id", Kind::Text { max: 40 }).list(),
        f("email", "E-mail", Kind::Email).list(),
        f("phone", "Phone", Kind::Text { max: 40 }),
        f("address", "Address", Kind::LongText),
        f("status", "Status", Kind::Choice(CLIENT_STATUS))
            .list()
            .filter()
            .default("active"),
        f("notes", "Notes", Kind::LongText),
    ],
    sortable: &["name", "status", "updated_at"],
    computed: &[],
    computed_filters: &[],
};

pub static CONTACTS: ModuleDef = ModuleDef {
    module: Module::Contacts,
    slug: "contacts",
    table: "contacts",
    label: "Contacts",
    singular: "contact",
    title: "name",
    fields: &[
        f("name", "Name", Kind::Text { max: 200 }).req().list(),
        f("client_id", "Client", Kind::Ref(Module::Clients))
            .req()
            .list()
            .filter(),
        f("role", "Role", Kind::Text { max: 100 }).list(),
        f("email", "E-mail", Kind::Email).list(),
        f("phone", "Phone", Kind::Text { max: 40 }),
        f("notes", "Notes", Kind::LongText),
    ],
    sortable: &["name", "updated_at"],
    computed: &[],
    computed_filters: &[],
};

pub static PROJECTS: ModuleDef = ModuleDef {
    module: Module::Projects,
    slug: "projects",
    table: "projects",
    label: "Projects",
    singular: "project",
    title: "name",
    fields: &[
        f("name", "Name", Kind::Text { max: 200 }).req().list(),
        f("client_id", "Client", Kind::Ref(Module::Clients))
            .req()
            .list()
            .filter(),
        f("manager", "Manager", Kind::User).list().filter(),
        f("status", "Status", Kind::Choice(PROJECT_STATUS))
            .list()
            .filter()
            .default("active"),
        f("start_date", "Start", Kind::Date),
        f("end_date", "End", Kind::Date).list(),
        f(
            "budget_hours",
            "Budget (hours)",
            Kind::Int {
                min: 0,
                max: 1_000_000,
            },
        ),
        f("budget_amount", "Budget", Kind::Money),
        f("hourly_rate", "Hourly rate", Kind::Money).default("0"),
        f("currency", "Currency", Kind::Choice(CURRENCIES)).default("EUR"),
        f("notes", "Notes", Kind::LongText),
    ],
    sortable: &["name", "status", "end_date", "updated_at"],
    computed: &[],
    computed_filters: &[],
};

pub static TASKS: ModuleDef = ModuleDef {
    module: Module::Tasks,
    slug: "tasks",
    table: "tasks",
    label: "Tasks",
    singular: "task",
    title: "title",
    fields: &[
        f("title", "Title", Kind::Text { max: 200 }).req().list(),
        f("project_id", "Project", Kind::Ref(Module::Projects))
            .req()
            .list()
            .filter(),
        f("assignee", "Assignee", Kind::User).list().filter(),
        f("status", "Status", Kind::Choice(TASK_STATUS))
            .list()
            .filter()
            .default("open"),
        f("priority", "Priority", Kind::Choice(PRIORITY))
            .list()
            .filter()
            .default("normal"),
        f("due_date", "Due", Kind::Date).list(),
        f(
            "estimate_minutes",
            "Estimate (minutes)",
            Kind::Int {
                min: 0,
                max: 1_000_000,
            },
        ),
        f("notes", "Notes", Kind::LongText),
    ],
    sortable: &["title", "status", "priority", "due_date", "updated_at"],
    computed: &[],
    computed_filters: &[],
};

pub static TIME_ENTRIES: ModuleDef = ModuleDef {
    module: Module::Time,
    slug: "time-entries",
    table: "time_entries",
    label: "Time",
    singular: "time entry",
    title: "note",
    fields: &[
        f("user", "User", Kind::User).req().list().filter(),
        f("project_id", "Project", Kind::Ref(Module::Projects))
            .req()
            .list()
            .filter(),
        f("task_id", "Task", Kind::Ref(Module::Tasks)).filter(),
        f("date", "Date", Kind::Date).req().list(),
        f("minutes", "Minutes", Kind::Int { min: 1, max: 1440 })
            .req()
            .list(),
        f("billable", "Billable", Kind::Bool)
            .list()
            .filter()
            .default("true"),
        f("note", "Note", Kind::Text { max: 500 }).list(),
    ],
    sortable: &["date", "minutes", "updated_at"],
    computed: &["invoice_id"],
    computed_filters: &[],
};

pub static INVOICES: ModuleDef = ModuleDef {
    module: Module::Invoices,
    slug: "invoices",
    table: "invoices",
    label: "Invoices",
    singular: "invoice",
    title: "number",
    fields: &[
        f("client_id", "Client", Kind::Ref(Module::Clients))
            .req()
            .list()
            .filter(),
        f("project_id", "Project", Kind::Ref(Module::Projects)).filter(),
        f("issue_date", "Issue date", Kind::Date).list(),
        f("due_date", "Due date", Kind::Date).list(),
        f("currency", "Currency", Kind::Choice(CURRENCIES)).default("EUR"),
        f("notes", "Notes", Kind::LongText),
    ],
    sortable: &["number", "status", "due_date", "total", "updated_at"],
    computed: &[
        "number",
        "status",
        "subtotal",
        "tax_total",
        "total",
        "issued_at",
        "paid_at",
        "void_reason",
    ],
    computed_filters: &[f("status", "Status", Kind::Choice(INVOICE_STATUS)).filter()],
};

pub static DOCUMENTS: ModuleDef = ModuleDef {
    module: Module::Documents,
    slug: "documents",
    table: "documents",
    label: "Documents",
    singular: "document",
    title: "title",
    fields: &[
        f("title", "Title", Kind::Text { max: 200 }).req().list(),
        f("client_id", "Client", Kind::Ref(Module::Clients))
            .list()
            .filter(),
        f("project_id", "Project", Kind::Ref(Module::Projects))
            .list()
            .filter(),
    ],
    sortable: &["title", "updated_at"],
    computed: &["current_version"],
    computed_filters: &[],
};

pub static ALL: [&ModuleDef; 7] = [
    &CLIENTS,
    &CONTACTS,
    &PROJECTS,
    &TASKS,
    &TIME_ENTRIES,
    &INVOICES,
    &DOCUMENTS,
];

pub fn by_slug(slug: &str) -> Option<&'static ModuleDef> {
    ALL.iter().copied().find(|m| m.slug == slug)
}

pub fn by_module(module: Module) -> &'static ModuleDef {
    match module {
        Module::Clients => &CLIENTS,
        Module::Contacts => &CONTACTS,
        Module::Projects => &PROJECTS,
        Module::Tasks => &TASKS,
        Module::Time => &TIME_ENTRIES,
        Module::Invoices => &INVOICES,
        Module::Documents => &DOCUMENTS,
    }
}

impl ModuleDef {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Every equality filter of the module's lists: its filter fields, then its computed ones.
    pub fn filters(&self) -> impl Iterator<Item = &'static Field> {
        self.fields
            .iter()
            .filter(|f| f.filter)
            .chain(self.computed_filters.iter())
    }

    /// The field a list parameter filters by for equality, if it is one.
    pub fn filter_field(&self, name: &str) -> Option<&'static Field> {
        self.filters().find(|f| f.name == name)
    }
}
